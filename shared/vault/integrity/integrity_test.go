package integrity_test

import (
	"errors"
	"testing"

	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

type fields struct {
	Policies []string
	Expire   int64
}

func TestCheckRefusesEditsAndMissingMACs(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	rec := fields{Policies: []string{"default"}, Expire: 100}
	mac, err := integrity.Sum(key, "token", "h1", rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := integrity.Check(key, "token", "h1", rec, mac); err != nil {
		t.Fatalf("an untouched record: %v", err)
	}
	var tampered *integrity.TamperedError
	for name, c := range map[string]struct {
		key         []byte
		kind, id    string
		rec         fields
		mac         string
		wantMissing bool
	}{
		"policies":    {key, "token", "h1", fields{Policies: []string{"root"}, Expire: 100}, mac, false},
		"expiry":      {key, "token", "h1", fields{Policies: []string{"default"}, Expire: 200}, mac, false},
		"moved to id": {key, "token", "h2", rec, mac, false},
		"other kind":  {key, "lease", "h1", rec, mac, false},
		"other key":   {[]byte("another key, another vault......"), "token", "h1", rec, mac, false},
		"no mac":      {key, "token", "h1", rec, "", true},
	} {
		err := integrity.Check(c.key, c.kind, c.id, c.rec, c.mac)
		if !errors.As(err, &tampered) || tampered.Missing != c.wantMissing {
			t.Errorf("%s: %v", name, err)
		}
	}
}
