// Package pgschema brings a PostgreSQL schema to the version a binary
// knows: embedded migrations, one file per version (NNN_name.sql, applied
// in name order), the version applied kept per component in
// hookrig_schema_version. A database migrated by a newer binary is
// refused, never downgraded.
package pgschema

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NewerError refuses a database migrated by a newer hookrig.
type NewerError struct {
	Component  string
	Have, Know int
}

func (e *NewerError) Error() string {
	return fmt.Sprintf("schema version %d is newer than this hookrig knows (%d); upgrade hookrig", e.Have, e.Know)
}

// Migrate applies the migrations in dir of files past the database's
// version of component, in one transaction under an advisory lock
// (instances starting together migrate once).
func Migrate(ctx context.Context, pool *pgxpool.Pool, files fs.FS, dir, component string) error {
	names, err := fs.ReadDir(files, dir)
	if err != nil {
		return err
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name() < names[j].Name() })
	known := len(names)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('hookrig_schema_version'))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS hookrig_schema_version (component text PRIMARY KEY, version integer NOT NULL)`); err != nil {
			return fmt.Errorf("creating hookrig_schema_version: %v", err)
		}
		var have int
		err := tx.QueryRow(ctx, `SELECT version FROM hookrig_schema_version WHERE component = $1`, component).Scan(&have)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("reading schema version: %v", err)
		}
		if have > known {
			return &NewerError{Component: component, Have: have, Know: known}
		}
		for v := have + 1; v <= known; v++ {
			sql, err := fs.ReadFile(files, path.Join(dir, names[v-1].Name()))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("migration %s: %v", names[v-1].Name(), err)
			}
		}
		if have < known {
			if _, err := tx.Exec(ctx, `INSERT INTO hookrig_schema_version (component, version) VALUES ($1, $2)
				ON CONFLICT (component) DO UPDATE SET version = excluded.version`, component, known); err != nil {
				return fmt.Errorf("recording schema version: %v", err)
			}
		}
		return nil
	})
}
