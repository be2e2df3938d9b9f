// Package nats runs an embedded NATS server with JetStream for the devstack
// and the tests (nats-server as a library, no binary to install).
package nats

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configure the embedded server.
type Options struct {
	Host string // default 127.0.0.1
	Port int    // 0 picks a free port
	// StoreDir keeps JetStream data; empty uses a temporary directory removed on Close.
	StoreDir string
}

// Server is a running embedded NATS server.
type Server struct {
	srv     *server.Server
	tempDir string
}

// Start runs the server and waits until it accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s := &Server{}
	store := opts.StoreDir
	if store == "" {
		dir, err := os.MkdirTemp("", "stratum-nats-")
		if err != nil {
			return nil, fmt.Errorf("nats store dir: %w", err)
		}
		store, s.tempDir = dir, dir
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "stratum-dev",
		Host:       opts.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   store,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("nats server on %s:%d not ready after 10s", opts.Host, opts.Port)
	}
	s.srv = srv
	return s, nil
}

// URL is the nats:// client URL.
func (s *Server) URL() string { return s.srv.ClientURL() }

// StoreDir is where JetStream keeps its data.
func (s *Server) StoreDir() string { return s.srv.JetStreamConfig().StoreDir }

// Close shuts the server down and removes a temporary store.
func (s *Server) Close() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}
