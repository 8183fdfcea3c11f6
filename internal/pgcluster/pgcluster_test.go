package pgcluster

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestStartServesQueriesAndCloseRemovesIt starts a cluster, runs a query
// on it, and checks that Close leaves nothing behind.
func TestStartServesQueriesAndCloseRemovesIt(t *testing.T) {
	if !Available() {
		t.Skip(ErrNoBinaries.Error())
	}
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.DSN)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = conn.QueryRow(ctx, "SELECT 40 + 2").Scan(&n)
	conn.Close(ctx)
	if err != nil || n != 42 {
		t.Fatalf("SELECT 40 + 2 = %d, %v", n, err)
	}
	c.Close()
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after Close: %v", c.dir, err)
	}
	if _, err := pgx.Connect(ctx, c.DSN); err == nil {
		t.Error("the cluster still accepts connections after Close")
	}
}
