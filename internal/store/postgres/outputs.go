package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
)

const outputCols = `name, kind, config, enabled, created_at, updated_at`

func scanOutput(row pgx.Row) (*store.OutputRow, error) {
	var o store.OutputRow
	var cfg string
	if err := row.Scan(&o.Name, &o.Kind, &cfg, &o.Enabled, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return nil, err
	}
	o.Config = json.RawMessage(cfg)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return &o, nil
}

// CreateOutput implements store.Store.
func (s *Store) CreateOutput(ctx context.Context, o *store.OutputRow) error {
	now := ts(time.Now())
	_, err := s.pool.Exec(ctx, `INSERT INTO outputs (`+outputCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		o.Name, o.Kind, string(o.Config), o.Enabled, now, now)
	if isUnique(err) {
		err = fmt.Errorf("output %q exists: %w", o.Name, store.ErrConflict)
	}
	if err == nil {
		o.CreatedAt, o.UpdatedAt = now, now
	}
	return wrap("create output", err)
}

// Output implements store.Store.
func (s *Store) Output(ctx context.Context, name string) (*store.OutputRow, error) {
	o, err := scanOutput(s.pool.QueryRow(ctx, `SELECT `+outputCols+` FROM outputs WHERE name = $1`, name))
	return o, wrap("output "+name, notFound(err))
}

// ListOutputs implements store.Store, by name.
func (s *Store) ListOutputs(ctx context.Context) ([]store.OutputRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outputCols+` FROM outputs ORDER BY name`)
	if err != nil {
		return nil, wrap("list outputs", err)
	}
	defer rows.Close()
	out := []store.OutputRow{}
	for rows.Next() {
		o, err := scanOutput(rows)
		if err != nil {
			return nil, wrap("list outputs", err)
		}
		out = append(out, *o)
	}
	return out, wrap("list outputs", rows.Err())
}

// UpdateOutput implements store.Store.
func (s *Store) UpdateOutput(ctx context.Context, o *store.OutputRow) error {
	now := ts(time.Now())
	var created time.Time
	err := s.pool.QueryRow(ctx, `UPDATE outputs SET kind = $1, config = $2, enabled = $3, updated_at = $4
		WHERE name = $5 RETURNING created_at`, o.Kind, string(o.Config), o.Enabled, now, o.Name).Scan(&created)
	if err == nil {
		o.CreatedAt, o.UpdatedAt = created.UTC(), now
	}
	return wrap("update output "+o.Name, notFound(err))
}

// DeleteOutput implements store.Store.
func (s *Store) DeleteOutput(ctx context.Context, name string) error {
	return wrap("delete output "+name, one(s.pool.Exec(ctx, `DELETE FROM outputs WHERE name = $1`, name)))
}
