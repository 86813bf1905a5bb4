package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/decnet/decnet/internal/store"
)

const outputCols = `name, kind, config, enabled, created_at, updated_at`

func scanOutput(row interface{ Scan(...any) error }) (*store.OutputRow, error) {
	var o store.OutputRow
	var cfg string
	var created, updated int64
	if err := row.Scan(&o.Name, &o.Kind, &cfg, &o.Enabled, &created, &updated); err != nil {
		return nil, err
	}
	o.Config = json.RawMessage(cfg)
	o.CreatedAt, o.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &o, nil
}

// CreateOutput implements store.Store.
func (s *Store) CreateOutput(ctx context.Context, o *store.OutputRow) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err := s.w.ExecContext(ctx, `INSERT INTO outputs (`+outputCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		o.Name, o.Kind, string(o.Config), o.Enabled, micro(now), micro(now))
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
	o, err := scanOutput(s.r.QueryRowContext(ctx, `SELECT `+outputCols+` FROM outputs WHERE name = ?`, name))
	return o, wrap("output "+name, notFound(err))
}

// ListOutputs implements store.Store, by name.
func (s *Store) ListOutputs(ctx context.Context) ([]store.OutputRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+outputCols+` FROM outputs ORDER BY name`)
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
	now := time.Now().UTC().Truncate(time.Microsecond)
	var created int64
	err := s.w.QueryRowContext(ctx, `UPDATE outputs SET kind = ?, config = ?, enabled = ?, updated_at = ?
		WHERE name = ? RETURNING created_at`, o.Kind, string(o.Config), o.Enabled, micro(now), o.Name).Scan(&created)
	if err == nil {
		o.CreatedAt, o.UpdatedAt = fromMicro(created), now
	}
	return wrap("update output "+o.Name, notFound(err))
}

// DeleteOutput implements store.Store.
func (s *Store) DeleteOutput(ctx context.Context, name string) error {
	return wrap("delete output "+name, one(s.w.ExecContext(ctx, `DELETE FROM outputs WHERE name = ?`, name)))
}
