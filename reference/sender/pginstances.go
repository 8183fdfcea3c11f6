package sender

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// InstanceAttempts is what one instance did, from the attempt records of
// a PostgreSQL store: every attempt recorded under its name, and how many
// of those were interrupted (cut off by its crash or stop, and reported
// by whichever instance took the lease over).
type InstanceAttempts struct {
	Instance    string
	Attempts    int64
	Interrupted int64
}

// AttemptsByInstance reads the attempt records of the PostgreSQL store at
// dsn, counted by instance (in name order). It reads the database as it
// is: a store whose leases have not yet expired has attempts nobody has
// recorded yet.
func AttemptsByInstance(ctx context.Context, dsn string) ([]InstanceAttempts, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT instance, count(*), count(*) FILTER (WHERE err = $1)
		FROM hookrig_sender_attempts GROUP BY instance ORDER BY instance`, string(delivery.ErrInterrupted))
	if err != nil {
		return nil, fmt.Errorf("store: reading attempts: %v", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InstanceAttempts, error) {
		var a InstanceAttempts
		return a, r.Scan(&a.Instance, &a.Attempts, &a.Interrupted)
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading attempts: %v", err)
	}
	return out, nil
}
