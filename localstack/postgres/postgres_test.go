package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestStartConnectClose(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, s.URL(Superuser, s.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1: %d %v", one, err)
	}
	if _, err := pgx.Connect(ctx, s.URL(Superuser, "wrong")); err == nil {
		t.Fatal("a wrong password was accepted: authentication is not enforced")
	}
}
