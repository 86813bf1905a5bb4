package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/query"
)

func pageLimit(n int) int { return query.Limit(n) }

// CreateJoinToken implements store.Store; a repeated hash is ErrConflict.
func (s *Store) CreateJoinToken(ctx context.Context, hash, hostName string, expires time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO join_tokens (hash, host_name, expires_at, created_at) VALUES (?, ?, ?, ?)`,
		hash, hostName, micro(expires), micro(time.Now()))
	if isUnique(err) {
		err = store.ErrConflict
	}
	return wrap("create join token", err)
}

// ConsumeJoinToken implements store.Store: one UPDATE marks the token used
// only if it is unused and unexpired at now, so of racing consumers exactly
// one gets the host name. A used or expired token is ErrConflict, an
// unknown one ErrNotFound.
func (s *Store) ConsumeJoinToken(ctx context.Context, hash string, now time.Time) (string, error) {
	var name string
	err := s.w.QueryRowContext(ctx, `UPDATE join_tokens SET used_at = ?
		WHERE hash = ? AND used_at IS NULL AND expires_at > ? RETURNING host_name`,
		micro(now), hash, micro(now)).Scan(&name)
	if err == sql.ErrNoRows {
		var n int
		if err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM join_tokens WHERE hash = ?`, hash).Scan(&n); err == nil {
			err = store.ErrNotFound
			if n > 0 {
				err = fmt.Errorf("join token used or expired: %w", store.ErrConflict)
			}
		}
	}
	if err != nil {
		return "", wrap("consume join token", err)
	}
	return name, nil
}

const (
	insertHostCols = `id, name, cert_serial, enrolled_at, last_heartbeat_at, applied_id, applied_hash, last_error, observed, decommissioned`
	hostCols       = insertHostCols + `, version, binary_sha256, update_requested, update_error`
)

func scanHost(row interface{ Scan(...any) error }) (*store.Host, error) {
	var h store.Host
	var enrolled int64
	var beat sql.NullInt64
	var observed sql.NullString
	if err := row.Scan(&h.ID, &h.Name, &h.CertSerial, &enrolled, &beat, &h.AppliedID, &h.AppliedHash,
		&h.LastError, &observed, &h.Decommissioned, &h.Version, &h.BinarySHA256, &h.UpdateRequested, &h.UpdateError); err != nil {
		return nil, err
	}
	h.EnrolledAt = fromMicro(enrolled)
	h.LastHeartbeat = fromNullMicro(beat)
	if observed.Valid {
		h.Observed = json.RawMessage(observed.String)
	}
	return &h, nil
}

func nullJSON(m json.RawMessage) sql.NullString {
	if len(m) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: string(m), Valid: true}
}

// CreateHost implements store.Store; a taken id, or a name taken by a host
// that is not decommissioned, is ErrConflict. A zero EnrolledAt means now.
func (s *Store) CreateHost(ctx context.Context, h *store.Host) error {
	if h.EnrolledAt.IsZero() {
		h.EnrolledAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO hosts (`+insertHostCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.Name, h.CertSerial, micro(h.EnrolledAt), nullMicro(h.LastHeartbeat), h.AppliedID, h.AppliedHash,
		h.LastError, nullJSON(h.Observed), h.Decommissioned)
	if isUnique(err) {
		err = fmt.Errorf("host %s (%s) exists: %w", h.ID, h.Name, store.ErrConflict)
	}
	return wrap("create host", err)
}

func nullMicro(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micro(*t), Valid: true}
}

// Host implements store.Store.
func (s *Store) Host(ctx context.Context, id string) (*store.Host, error) {
	h, err := scanHost(s.r.QueryRowContext(ctx, `SELECT `+hostCols+` FROM hosts WHERE id = ?`, id))
	return h, wrap("host "+id, notFound(err))
}

// ListHosts implements store.Store, by name.
func (s *Store) ListHosts(ctx context.Context) ([]store.Host, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+hostCols+` FROM hosts ORDER BY name, id`)
	if err != nil {
		return nil, wrap("list hosts", err)
	}
	defer rows.Close()
	out := []store.Host{}
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, wrap("list hosts", err)
		}
		out = append(out, *h)
	}
	return out, wrap("list hosts", rows.Err())
}

// RecordHeartbeat implements store.Store; a decommissioned host's
// heartbeat is refused with ErrNotFound.
func (s *Store) RecordHeartbeat(ctx context.Context, id string, at time.Time, appliedID, appliedHash, lastError string, observed json.RawMessage) error {
	return wrap("record heartbeat of "+id, one(s.w.ExecContext(ctx, `UPDATE hosts SET last_heartbeat_at = ?, applied_id = ?,
		applied_hash = ?, last_error = ?, observed = ? WHERE id = ? AND decommissioned = 0`,
		micro(at), appliedID, appliedHash, lastError, nullJSON(observed), id)))
}

// RecordAgentBuild implements store.Store.
func (s *Store) RecordAgentBuild(ctx context.Context, id, version, sha256 string) (bool, error) {
	var requested bool
	err := s.w.QueryRowContext(ctx, `UPDATE hosts SET version = ?, binary_sha256 = ? WHERE id = ? AND decommissioned = 0
		RETURNING update_requested`, version, sha256, id).Scan(&requested)
	return requested, wrap("record the build of "+id, notFound(err))
}

// SetUpdate implements store.Store.
func (s *Store) SetUpdate(ctx context.Context, id string, requested bool, errText string) error {
	return wrap("set the update of "+id, one(s.w.ExecContext(ctx,
		`UPDATE hosts SET update_requested = ?, update_error = ? WHERE id = ? AND decommissioned = 0`, requested, errText, id)))
}

// Decommission implements store.Store: in one transaction the host is
// marked decommissioned and its certificate serial revoked. Decommissioning
// twice is not an error.
func (s *Store) Decommission(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var serial string
		if err := tx.QueryRowContext(ctx, `UPDATE hosts SET decommissioned = 1 WHERE id = ? RETURNING cert_serial`, id).Scan(&serial); err != nil {
			return notFound(err)
		}
		if serial == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO revoked_serials (serial, revoked_at) VALUES (?, ?) ON CONFLICT (serial) DO NOTHING`,
			serial, micro(time.Now()))
		return err
	})
	return wrap("decommission "+id, err)
}

// Revoked implements store.Store.
func (s *Store) Revoked(ctx context.Context, serial string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM revoked_serials WHERE serial = ?`, serial).Scan(&n)
	return n > 0, wrap("revoked", err)
}

// RevokedSerials implements store.Store, sorted.
func (s *Store) RevokedSerials(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT serial FROM revoked_serials ORDER BY serial`)
	if err != nil {
		return nil, wrap("revoked serials", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, wrap("revoked serials", err)
		}
		out = append(out, v)
	}
	return out, wrap("revoked serials", rows.Err())
}
