package surreal

import (
	"crypto/tls"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/pki"
)

// TLSFront terminates TLS in front of the SurrealDB at rawURL (ws://…),
// with a certificate for localhost from a fresh private CA, as the
// self-hosted server's --web-crt/--web-key do; it returns the wss:// URL
// and the CA's certificate (PEM). It stops with the test.
func TLSFront(t testing.TB, rawURL string) (wssURL, caPEM string) {
	t.Helper()
	authority, err := pki.NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kp, err := pki.Issue(authority, []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair([]byte(kp.Cert), []byte(kp.Key))
	if err != nil {
		t.Fatal(err)
	}
	backend, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			front, err := ln.Accept()
			if err != nil {
				return
			}
			go pipe(front, backend.Host)
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "wss://localhost:" + port, authority.Cert
}

// pipe copies between front and a new connection to addr until either closes.
func pipe(front net.Conn, addr string) {
	defer func() { _ = front.Close() }()
	back, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer func() { _ = back.Close() }()
	go func() { _, _ = io.Copy(back, front); _ = back.Close() }()
	_, _ = io.Copy(front, back)
}
