package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
)

const canaryCols = `id, kind, memo, slug, rule_id, created_by, created_at, triggers, last_triggered`

func scanCanary(row pgx.Row) (*store.CanaryToken, error) {
	var t store.CanaryToken
	if err := row.Scan(&t.ID, &t.Kind, &t.Memo, &t.Slug, &t.RuleID, &t.CreatedBy, &t.CreatedAt, &t.Triggers, &t.LastTriggered); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastTriggered = t.CreatedAt.UTC(), utcPtr(t.LastTriggered)
	return &t, nil
}

// CreateCanaryToken implements store.Store.
func (s *Store) CreateCanaryToken(ctx context.Context, t *store.CanaryToken) error {
	now := ts(time.Now())
	_, err := s.pool.Exec(ctx, `INSERT INTO canary_tokens (id, kind, memo, slug, rule_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.Kind, t.Memo, t.Slug, t.RuleID, t.CreatedBy, now)
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
	t, err := scanCanary(s.pool.QueryRow(ctx, `SELECT `+canaryCols+` FROM canary_tokens WHERE id = $1`, id))
	return t, wrap("canary token "+id, notFound(err))
}

// CanaryTokenBySlug implements store.Store.
func (s *Store) CanaryTokenBySlug(ctx context.Context, slug string) (*store.CanaryToken, error) {
	t, err := scanCanary(s.pool.QueryRow(ctx, `SELECT `+canaryCols+` FROM canary_tokens WHERE slug = $1`, slug))
	return t, wrap("canary token by slug", notFound(err))
}

// ListCanaryTokens implements store.Store, newest first.
func (s *Store) ListCanaryTokens(ctx context.Context) ([]store.CanaryToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+canaryCols+` FROM canary_tokens ORDER BY id DESC`)
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
	return wrap("delete canary token "+id, one(s.pool.Exec(ctx, `DELETE FROM canary_tokens WHERE id = $1`, id)))
}

// RecordCanaryTrigger implements store.Store.
func (s *Store) RecordCanaryTrigger(ctx context.Context, id string, t time.Time) error {
	return wrap("record canary trigger "+id, one(s.pool.Exec(ctx,
		`UPDATE canary_tokens SET triggers = triggers + 1, last_triggered = greatest(last_triggered, $1) WHERE id = $2`, ts(t), id)))
}

// AddHoneyCredentials implements store.Store.
func (s *Store) AddHoneyCredentials(ctx context.Context, creds []store.HoneyCredential) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n = 0
		for _, c := range creds {
			tag, err := tx.Exec(ctx, `INSERT INTO honey_credentials (topology_id, decky, service, path, kind, principal, secret, target, placed_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
				c.TopologyID, c.Decky, c.Service, c.Path, c.Kind, c.Principal, c.Secret, c.Target, ts(c.PlacedAt))
			if err != nil {
				return err
			}
			n += int(tag.RowsAffected())
		}
		return nil
	})
	return n, wrap("add honey credentials", err)
}

// ListHoneyCredentials implements store.Store.
func (s *Store) ListHoneyCredentials(ctx context.Context) ([]store.HoneyCredential, error) {
	rows, err := s.pool.Query(ctx, `SELECT topology_id, decky, service, path, kind, principal, secret, target, placed_at
		FROM honey_credentials ORDER BY topology_id, decky, service, path, principal`)
	if err != nil {
		return nil, wrap("list honey credentials", err)
	}
	defer rows.Close()
	out := []store.HoneyCredential{}
	for rows.Next() {
		var c store.HoneyCredential
		if err := rows.Scan(&c.TopologyID, &c.Decky, &c.Service, &c.Path, &c.Kind, &c.Principal, &c.Secret, &c.Target, &c.PlacedAt); err != nil {
			return nil, wrap("list honey credentials", err)
		}
		c.PlacedAt = c.PlacedAt.UTC()
		out = append(out, c)
	}
	return out, wrap("list honey credentials", rows.Err())
}
