package surreal

import (
	"io"
	"net"
	"testing"
	"time"
)

// The relay serves its first connection only and keeps its port until its
// deadline: a second connection is closed at once, so nothing else on the
// host can take the port over or be handed the client's sign-in.
func TestRelayServesOneConnectionAndKeepsItsPort(t *testing.T) {
	server, remote := net.Pipe()
	defer server.Close()
	addr, err := relayOnce(remote, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	go func() { _, _ = first.Write([]byte("hello")) }()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("first connection relayed %q %v", buf, err)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("the relay let its port go after the first connection: %v", err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := second.Read(buf); err != io.EOF {
		t.Fatalf("a second connection was not closed at once: %d bytes, %v", n, err)
	}
}
