package vault

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTransit is one transit encrypt and decrypt per key type through
// the vault's handler and the crypto function (no network): what a request
// costs in the functions, for comparing the key types (issue 28).
func BenchmarkTransit(b *testing.B) {
	v := newTestVault(b)
	if rec := call(v.h, "POST", "/v1/sys/mounts/transit", v.root, `{"type":"transit"}`); rec.Code != 204 {
		b.Fatalf("mount: %d %s", rec.Code, rec.Body)
	}
	const plaintext = `{"plaintext":"YSAzMi1ieXRlIHNlY3JldCBmb3IgdGhlIGJlbmNoISE="}`
	for _, typ := range []string{"aes256-gcm96", "ml-kem-768", "x-wing"} {
		if rec := call(v.h, "POST", "/v1/transit/keys/"+typ, v.root, `{"type":"`+typ+`"}`); rec.Code/100 != 2 {
			b.Fatalf("key %s: %d %s", typ, rec.Code, rec.Body)
		}
		rec := call(v.h, "POST", "/v1/transit/encrypt/"+typ, v.root, plaintext)
		var out struct {
			Data struct {
				Ciphertext string `json:"ciphertext"`
			} `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.Ciphertext == "" {
			b.Fatalf("encrypt %s: %d %s", typ, rec.Code, rec.Body)
		}
		decrypt, _ := json.Marshal(map[string]string{"ciphertext": out.Data.Ciphertext})
		for op, body := range map[string]string{"encrypt": plaintext, "decrypt": string(decrypt)} {
			b.Run(typ+"/"+op, func(b *testing.B) {
				start := processCPU(b)
				for b.Loop() {
					if rec := call(v.h, "POST", "/v1/transit/"+op+"/"+typ, v.root, body); rec.Code != 200 {
						b.Fatalf("%s: %d %s", op, rec.Code, rec.Body)
					}
				}
				b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU is the CPU time this process has used: on a machine shared with
// other work it moves far less than the wall time per operation.
func processCPU(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
