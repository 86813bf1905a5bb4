package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/decnet/decnet/internal/store"
)

const canaryCols = `id, kind, memo, slug, rule_id, created_by, created_at, triggers, last_triggered`

func scanCanary(row interface{ Scan(...any) error }) (*store.CanaryToken, error) {
	var t store.CanaryToken
	var created int64
	var last sql.NullInt64
	if err := row.Scan(&t.ID, &t.Kind, &t.Memo, &t.Slug, &t.RuleID, &t.CreatedBy, &created, &t.Triggers, &last); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastTriggered = fromMicro(created), fromNullMicro(last)
	return &t, nil
}

// CreateCanaryToken implements store.Store.
func (s *Store) CreateCanaryToken(ctx context.Context, t *store.CanaryToken) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err := s.w.ExecContext(ctx, `INSERT INTO canary_tokens (id, kind, memo, slug, rule_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Kind, t.Memo, t.Slug, t.RuleID, t.CreatedBy, micro(now))
	if isUnique(err) {
		err = fmt.Errorf("canary token: %w", store.ErrConflict)
	}
	if err == nil {
		t.CreatedAt = now
	}
	return wrap("create canary token", err)
}

// CanaryToken implements store.Store.
func (s *Store) CanaryToken(ctx context.Context, id string) (*store.CanaryToken, error) {
	t, err := scanCanary(s.r.QueryRowContext(ctx, `SELECT `+canaryCols+` FROM canary_tokens WHERE id = ?`, id))
	return t, wrap("canary token "+id, notFound(err))
}

// CanaryTokenBySlug implements store.Store.
func (s *Store) CanaryTokenBySlug(ctx context.Context, slug string) (*store.CanaryToken, error) {
	t, err := scanCanary(s.r.QueryRowContext(ctx, `SELECT `+canaryCols+` FROM canary_tokens WHERE slug = ?`, slug))
	return t, wrap("canary token by slug", notFound(err))
}

// ListCanaryTokens implements store.Store, newest first.
func (s *Store) ListCanaryTokens(ctx context.Context) ([]store.CanaryToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+canaryCols+` FROM canary_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, wrap("list canary tokens", err)
	}
	defer rows.Close()
	out := []store.CanaryToken{}
	for rows.Next() {
		t, err := scanCanary(rows)
		if err != nil {
			return nil, wrap("list canary tokens", err)
		}
		out = append(out, *t)
	}
	return out, wrap("list canary tokens", rows.Err())
}

// DeleteCanaryToken implements store.Store.
func (s *Store) DeleteCanaryToken(ctx context.Context, id string) error {
	return wrap("delete canary token "+id, one(s.w.ExecContext(ctx, `DELETE FROM canary_tokens WHERE id = ?`, id)))
}

// RecordCanaryTrigger implements store.Store.
func (s *Store) RecordCanaryTrigger(ctx context.Context, id string, t time.Time) error {
	return wrap("record canary trigger "+id, one(s.w.ExecContext(ctx,
		`UPDATE canary_tokens SET triggers = triggers + 1, last_triggered = max(coalesce(last_triggered, 0), ?) WHERE id = ?`, micro(t), id)))
}

// AddHoneyCredentials implements store.Store.
func (s *Store) AddHoneyCredentials(ctx context.Context, creds []store.HoneyCredential) (int, error) {
	n := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, c := range creds {
			k, err := affected(tx.ExecContext(ctx, `INSERT INTO honey_credentials (topology_id, decky, service, path, kind, principal, secret, target, placed_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				c.TopologyID, c.Decky, c.Service, c.Path, c.Kind, c.Principal, c.Secret, c.Target, micro(c.PlacedAt.UTC().Truncate(time.Microsecond))))
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	return n, wrap("add honey credentials", err)
}

// ListHoneyCredentials implements store.Store.
func (s *Store) ListHoneyCredentials(ctx context.Context) ([]store.HoneyCredential, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT topology_id, decky, service, path, kind, principal, secret, target, placed_at
		FROM honey_credentials ORDER BY topology_id, decky, service, path, principal`)
	if err != nil {
		return nil, wrap("list honey credentials", err)
	}
	defer rows.Close()
	out := []store.HoneyCredential{}
	for rows.Next() {
		var c store.HoneyCredential
		var placed int64
		if err := rows.Scan(&c.TopologyID, &c.Decky, &c.Service, &c.Path, &c.Kind, &c.Principal, &c.Secret, &c.Target, &placed); err != nil {
			return nil, wrap("list honey credentials", err)
		}
		c.PlacedAt = fromMicro(placed)
		out = append(out, c)
	}
	return out, wrap("list honey credentials", rows.Err())
}
