package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/query"
)

const userCols = `id, name, role, password_hash, must_change, created_at`

func scanUser(row pgx.Row) (*store.User, error) {
	var u store.User
	if err := row.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.MustChange, &u.CreatedAt); err != nil {
		return nil, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = ts(time.Now())
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO users (name, role, password_hash, must_change, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, u.Name, string(u.Role), u.PasswordHash, u.MustChange, ts(u.CreatedAt)).Scan(&u.ID)
	if isUnique(err) {
		err = fmt.Errorf("user %q exists: %w", u.Name, store.ErrConflict)
	}
	return wrap("create user", err)
}

// UserByName implements store.Store.
func (s *Store) UserByName(ctx context.Context, name string) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE name = $1`, name))
	return u, wrap("user "+name, notFound(err))
}

// UserByID implements store.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, wrap(fmt.Sprintf("user %d", id), notFound(err))
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, wrap("list users", err)
	}
	defer rows.Close()
	out := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("list users", err)
		}
		out = append(out, *u)
	}
	return out, wrap("list users", rows.Err())
}

// SetPassword implements store.Store.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string, mustChange bool) error {
	return wrap(fmt.Sprintf("set password of user %d", id),
		one(s.pool.Exec(ctx, `UPDATE users SET password_hash = $1, must_change = $2 WHERE id = $3`, hash, mustChange, id)))
}

// DeleteUser implements store.Store; the user's sessions and API tokens go
// with it.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return wrap(fmt.Sprintf("delete user %d", id), one(s.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)))
}

// CountUsers implements store.Store.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, wrap("count users", err)
}

// CreateSession implements store.Store. It also drops expired sessions.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ts(time.Now())); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES ($1, $2, $3, $4)`,
			sess.TokenHash, sess.UserID, sess.CSRF, ts(sess.Expires))
		if isUnique(err) {
			err = store.ErrConflict
		}
		return err
	})
	return wrap("create session", err)
}

// SessionByHash implements store.Store: an expired session is not found.
func (s *Store) SessionByHash(ctx context.Context, hash string) (*store.Session, error) {
	var sess store.Session
	err := s.pool.QueryRow(ctx, `SELECT token_hash, user_id, csrf, expires_at FROM sessions
		WHERE token_hash = $1 AND expires_at > $2`, hash, ts(time.Now())).Scan(&sess.TokenHash, &sess.UserID, &sess.CSRF, &sess.Expires)
	if err != nil {
		return nil, wrap("session", notFound(err))
	}
	sess.Expires = sess.Expires.UTC()
	return &sess, nil
}

// DeleteSession implements store.Store; deleting a missing session is not
// an error (logout is idempotent).
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash)
	return wrap("delete session", err)
}

const tokenCols = `id, user_id, name, hash, created_at, last_used_at`

func scanToken(row pgx.Row) (*store.APIToken, error) {
	var t store.APIToken
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.CreatedAt, &t.LastUsed); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.LastUsed = utcPtr(t.LastUsed)
	return &t, nil
}

// CreateAPIToken implements store.Store; it fills ID (and CreatedAt when
// zero).
func (s *Store) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = ts(time.Now())
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		t.UserID, t.Name, t.Hash, ts(t.CreatedAt)).Scan(&t.ID)
	if isUnique(err) {
		err = store.ErrConflict
	}
	return wrap("create api token", err)
}

// APITokenByHash implements store.Store: it stamps LastUsed in the same
// statement.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*store.APIToken, error) {
	// Most uses only read: the row is written when the recorded use is
	// older than store.TokenUseResolution.
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE hash = $1`, hash))
	if err != nil || (t.LastUsed != nil && time.Since(*t.LastUsed) < store.TokenUseResolution) {
		return t, wrap("api token", notFound(err))
	}
	t, err = scanToken(s.pool.QueryRow(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE hash = $2 RETURNING `+tokenCols,
		ts(time.Now()), hash))
	return t, wrap("api token", notFound(err))
}

// ListAPITokens implements store.Store.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]store.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, wrap("list api tokens", err)
	}
	defer rows.Close()
	out := []store.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, wrap("list api tokens", err)
		}
		out = append(out, *t)
	}
	return out, wrap("list api tokens", rows.Err())
}

// DeleteAPIToken implements store.Store.
func (s *Store) DeleteAPIToken(ctx context.Context, id int64) error {
	return wrap(fmt.Sprintf("delete api token %d", id), one(s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)))
}

// Audit implements store.Store; a zero At means now.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)`,
		ts(e.At), e.Actor, e.Action, e.Target, e.Detail)
	return wrap("audit", err)
}

// ListAudit implements store.Store: newest first, entries with an id below
// before (all when before <= 0), limit defaulting to 100, at most 1000.
func (s *Store) ListAudit(ctx context.Context, before int64, limit int) ([]store.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, target, detail FROM audit
		WHERE $1 <= 0 OR id < $1 ORDER BY id DESC LIMIT $2`, before, query.Limit(limit))
	if err != nil {
		return nil, wrap("list audit", err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var e store.AuditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, wrap("list audit", err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, wrap("list audit", rows.Err())
}
