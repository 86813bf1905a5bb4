package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/decnet/decnet/internal/store"
)

const userCols = `id, name, role, password_hash, must_change, created_at`

func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	var created int64
	if err := row.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.MustChange, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicro(created)
	return &u, nil
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	err := s.w.QueryRowContext(ctx, `INSERT INTO users (name, role, password_hash, must_change, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, u.Name, string(u.Role), u.PasswordHash, u.MustChange, micro(u.CreatedAt)).Scan(&u.ID)
	if isUnique(err) {
		err = fmt.Errorf("user %q exists: %w", u.Name, store.ErrConflict)
	}
	return wrap("create user", err)
}

// UserByName implements store.Store.
func (s *Store) UserByName(ctx context.Context, name string) (*store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	return u, wrap("user "+name, notFound(err))
}

// UserByID implements store.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (*store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, wrap(fmt.Sprintf("user %d", id), notFound(err))
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
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
		one(s.w.ExecContext(ctx, `UPDATE users SET password_hash = ?, must_change = ? WHERE id = ?`, hash, mustChange, id)))
}

// DeleteUser implements store.Store; the user's sessions and API tokens go
// with it.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return wrap(fmt.Sprintf("delete user %d", id), one(s.w.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)))
}

// CountUsers implements store.Store.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, wrap("count users", err)
}

// CreateSession implements store.Store. It also drops expired sessions.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, micro(time.Now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)`,
			sess.TokenHash, sess.UserID, sess.CSRF, micro(sess.Expires))
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
	var exp int64
	err := s.r.QueryRowContext(ctx, `SELECT token_hash, user_id, csrf, expires_at FROM sessions
		WHERE token_hash = ? AND expires_at > ?`, hash, micro(time.Now())).Scan(&sess.TokenHash, &sess.UserID, &sess.CSRF, &exp)
	if err != nil {
		return nil, wrap("session", notFound(err))
	}
	sess.Expires = fromMicro(exp)
	return &sess, nil
}

// DeleteSession implements store.Store; deleting a missing session is not
// an error (logout is idempotent).
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return wrap("delete session", err)
}

const tokenCols = `id, user_id, name, hash, created_at, last_used_at`

func scanToken(row interface{ Scan(...any) error }) (*store.APIToken, error) {
	var t store.APIToken
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &created, &used); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMicro(created)
	t.LastUsed = fromNullMicro(used)
	return &t, nil
}

// CreateAPIToken implements store.Store; it fills ID (and CreatedAt when
// zero).
func (s *Store) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	err := s.w.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Name, t.Hash, micro(t.CreatedAt)).Scan(&t.ID)
	if isUnique(err) {
		err = store.ErrConflict
	}
	return wrap("create api token", err)
}

// APITokenByHash implements store.Store: it stamps LastUsed in the same
// statement.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*store.APIToken, error) {
	// Most uses only read: the write lock is taken when the recorded use
	// is older than store.TokenUseResolution.
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE hash = ?`, hash))
	if err != nil || (t.LastUsed != nil && time.Since(*t.LastUsed) < store.TokenUseResolution) {
		return t, wrap("api token", notFound(err))
	}
	t, err = scanToken(s.w.QueryRowContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE hash = ? RETURNING `+tokenCols,
		micro(time.Now()), hash))
	return t, wrap("api token", notFound(err))
}

// ListAPITokens implements store.Store.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]store.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id = ? ORDER BY id`, userID)
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
	return wrap(fmt.Sprintf("delete api token %d", id), one(s.w.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)))
}

// Audit implements store.Store; a zero At means now.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`,
		micro(e.At), e.Actor, e.Action, e.Target, e.Detail)
	return wrap("audit", err)
}

// ListAudit implements store.Store: newest first, entries with an id below
// before (all when before <= 0), limit defaulting to 100, at most 1000.
func (s *Store) ListAudit(ctx context.Context, before int64, limit int) ([]store.AuditEntry, error) {
	q := `SELECT id, at, actor, action, target, detail FROM audit`
	args := []any{}
	if before > 0 {
		q += ` WHERE id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, pageLimit(limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list audit", err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, wrap("list audit", err)
		}
		e.At = fromMicro(at)
		out = append(out, e)
	}
	return out, wrap("list audit", rows.Err())
}
