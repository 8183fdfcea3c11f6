package receiver

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookrig/hookrig/internal/pgschema"
)

// The shared dedupe keeps the window in PostgreSQL (Dedupe.DSN), so that
// several receiver instances behind one address dedupe as one: a copy of a
// webhook is a duplicate whichever instance it lands on. It is the
// Window's claim/commit/release, with the row as the claim:
//
//   - a claim inserts the id's row (INSERT ... ON CONFLICT DO NOTHING
//     decides fresh or not), before the ack is written; a claim whose ack
//     is certain (no SyncAck, no processing before the ack) is final at
//     once, else the row is pending;
//   - a copy meeting a final row is a duplicate (200, not processed), one
//     meeting a pending row is in flight (409 + Retry-After: its first copy
//     may still fail);
//   - commit clears pending once the receipt is kept; release deletes the
//     row when the webhook was not acknowledged, so its retry is processed;
//   - a pending row older than pendingLease (its instance died before
//     answering) may be claimed again, as may an expired row.
//
// Any database error answers 503 with Retry-After and acknowledges nothing,
// not even a duplicate. The journal stays per instance.

// migrations are the shared dedupe's schema, one file per version in
// order (NNN_name.sql); the version applied is kept in
// hookrig_schema_version.
//
//go:embed migrations/*.sql
var migrations embed.FS

// schemaComponent names this schema in hookrig_schema_version, which other
// hookrig parts on the same database may share.
const schemaComponent = "receiver-dedupe"

// pendingLease is how long a pending claim holds its id: past it the
// instance that made it is taken for dead and a copy is processed.
const pendingLease = 10 * time.Minute

// sharedTimeout bounds each database round trip of a webhook request: a
// database that does not answer is a 503, not a hung sender.
const sharedTimeout = 5 * time.Second

// cleanupBatch bounds the rows one TTL clean-up statement deletes, so
// that it never holds locks for long; cleanup repeats while batches fill.
const cleanupBatch = 10_000

// sharedWindow is the dedupe window in PostgreSQL.
type sharedWindow struct {
	pool *pgxpool.Pool
	ttl  time.Duration
}

// openShared connects to dsn and brings the schema to the version this
// binary knows, refusing a newer one.
func openShared(ctx context.Context, dsn string, ttl time.Duration) (*sharedWindow, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("dedupe database: bad DSN (want postgres://user@host:port/db): %v", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("dedupe database: %v", err)
	}
	if err := pgschema.Migrate(ctx, pool, migrations, "migrations", schemaComponent); err != nil {
		pool.Close()
		var ne *pgschema.NewerError
		if errors.As(err, &ne) {
			return nil, fmt.Errorf("dedupe database: %w", err)
		}
		// pgx reports a failed connection one line per address tried.
		return nil, fmt.Errorf("dedupe database: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	return &sharedWindow{pool: pool, ttl: ttl}, nil
}

// claim claims id at now: Fresh (the row is this caller's, final or
// pending), Duplicate or InFlight.
func (s *sharedWindow) claim(ctx context.Context, id string, now time.Time, final bool) (Sighting, error) {
	ctx, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()
	t := now.UnixNano()
	var fresh bool
	err := s.pool.QueryRow(ctx, `INSERT INTO hookrig_receiver_dedupe AS d (id, claimed_at, expires_at, pending)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET claimed_at = excluded.claimed_at, expires_at = excluded.expires_at, pending = excluded.pending
		WHERE d.expires_at <= excluded.claimed_at OR (d.pending AND d.claimed_at <= $5)
		RETURNING true`, id, t, t+int64(s.ttl), !final, t-int64(pendingLease)).Scan(&fresh)
	if err == nil {
		return Fresh, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	var pending bool
	err = s.pool.QueryRow(ctx, `SELECT pending FROM hookrig_receiver_dedupe WHERE id = $1`, id).Scan(&pending)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Released between the two statements: its holder did not
		// acknowledge it. The sender comes back and claims it then.
		return InFlight, nil
	case err != nil:
		return 0, err
	case pending:
		return InFlight, nil
	}
	return Duplicate, nil
}

// settle ends a pending claim made at claimedAt: committed (final) when
// kept, else deleted so that a retry is processed.
func (s *sharedWindow) settle(id string, claimedAt time.Time, kept bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	q := `DELETE FROM hookrig_receiver_dedupe WHERE id = $1 AND claimed_at = $2 AND pending`
	if kept {
		q = `UPDATE hookrig_receiver_dedupe SET pending = false WHERE id = $1 AND claimed_at = $2 AND pending`
	}
	_, err := s.pool.Exec(ctx, q, id, claimedAt.UnixNano())
	return err
}

// cleanup deletes ids expired at now, cleanupBatch rows per statement, and
// returns how many it deleted.
func (s *sharedWindow) cleanup(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM hookrig_receiver_dedupe WHERE id IN
			(SELECT id FROM hookrig_receiver_dedupe WHERE expires_at <= $1 LIMIT $2)`, now.UnixNano(), cleanupBatch)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < cleanupBatch {
			return total, nil
		}
	}
}

// cleanupInterval is how often expired ids are deleted: a tenth of the
// TTL, at most a minute.
func (s *sharedWindow) cleanupInterval() time.Duration {
	return max(min(s.ttl/10, time.Minute), time.Second)
}

func (s *sharedWindow) close() { s.pool.Close() }
