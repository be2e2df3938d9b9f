package surreal

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/pki"
)

// dialURL is where the SDK's transport dials for u. With no Config.CA it is
// u itself (wss:// then trusts the system roots). With a CA (a private CA:
// the self-hosted SurrealDB) the SDK's transport, which takes no TLS
// settings, dials a one-connection loopback relay: dialURL first opens the
// TLS connection to SurrealDB, verified against the CA only, so a server
// the CA did not sign fails here with the x509 error.
func (c *Client) dialURL(ctx context.Context, u *url.URL) (*url.URL, error) {
	if c.cfg.CA == "" {
		return u, nil
	}
	if u.Scheme != "wss" {
		return nil, fmt.Errorf("SURREAL_CA is set but SURREAL_URL %q is not wss://", c.cfg.URL)
	}
	roots, err := pki.Pool(c.cfg.CA)
	if err != nil {
		return nil, fmt.Errorf("SURREAL_CA: %w", err)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}
	remote, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %v", ErrUnavailable, c.cfg.URL, err)
	}
	local, err := relayOnce(remote, c.cfg.Timeout)
	if err != nil {
		_ = remote.Close()
		return nil, err
	}
	relayed := *u
	relayed.Scheme, relayed.Host = "ws", local
	return &relayed, nil
}

// relayOnce listens on a loopback port for one connection (within timeout)
// and copies bytes between it and remote until either side closes.
func relayOnce(remote net.Conn, timeout time.Duration) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("%w: relay: %v", ErrUnavailable, err)
	}
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout))
	go func() {
		local, err := ln.Accept()
		if err != nil {
			_ = ln.Close()
			_ = remote.Close()
			return
		}
		go refuseOthers(ln)
		var once sync.Once
		closeBoth := func() { once.Do(func() { _ = local.Close(); _ = remote.Close() }) }
		go func() { _, _ = io.Copy(remote, local); closeBoth() }()
		_, _ = io.Copy(local, remote)
		closeBoth()
	}()
	return ln.Addr().String(), nil
}

// refuseOthers keeps the relay's port until its deadline, closing at once
// any connection after the first: nothing else on the host can take the
// port over and receive the client's sign-in, and if another process
// connected first, the client's own connection fails before it signs in.
func refuseOthers(ln net.Listener) {
	defer ln.Close()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.Close()
	}
}
