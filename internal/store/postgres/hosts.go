package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
)

// CreateJoinToken implements store.Store; a repeated hash is ErrConflict.
func (s *Store) CreateJoinToken(ctx context.Context, hash, hostName string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO join_tokens (hash, host_name, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
		hash, hostName, ts(expires), ts(time.Now()))
	if isUnique(err) {
		err = store.ErrConflict
	}
	return wrap("create join token", err)
}

// ConsumeJoinToken implements store.Store: one UPDATE marks the token used
// only if it is unused and unexpired at now, so of racing consumers exactly
// one gets the host name (the others re-check used_at after the winner's
// row lock and match nothing). A used or expired token is ErrConflict, an
// unknown one ErrNotFound.
func (s *Store) ConsumeJoinToken(ctx context.Context, hash string, now time.Time) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, `UPDATE join_tokens SET used_at = $1
		WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING host_name`, ts(now), hash).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM join_tokens WHERE hash = $1)`, hash).Scan(&exists); err == nil {
			err = store.ErrNotFound
			if exists {
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

func scanHost(row pgx.Row) (*store.Host, error) {
	var h store.Host
	var observed *string
	if err := row.Scan(&h.ID, &h.Name, &h.CertSerial, &h.EnrolledAt, &h.LastHeartbeat, &h.AppliedID, &h.AppliedHash,
		&h.LastError, &observed, &h.Decommissioned, &h.Version, &h.BinarySHA256, &h.UpdateRequested, &h.UpdateError); err != nil {
		return nil, err
	}
	h.EnrolledAt = h.EnrolledAt.UTC()
	h.LastHeartbeat = utcPtr(h.LastHeartbeat)
	if observed != nil {
		h.Observed = json.RawMessage(*observed)
	}
	return &h, nil
}

func nullJSON(m json.RawMessage) *string {
	if len(m) == 0 {
		return nil
	}
	s := string(m)
	return &s
}

// CreateHost implements store.Store; a taken id, or a name taken by a host
// that is not decommissioned, is ErrConflict. A zero EnrolledAt means now.
func (s *Store) CreateHost(ctx context.Context, h *store.Host) error {
	if h.EnrolledAt.IsZero() {
		h.EnrolledAt = ts(time.Now())
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO hosts (`+insertHostCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		h.ID, h.Name, h.CertSerial, ts(h.EnrolledAt), tsPtr(h.LastHeartbeat), h.AppliedID, h.AppliedHash,
		h.LastError, nullJSON(h.Observed), h.Decommissioned)
	if isUnique(err) {
		err = fmt.Errorf("host %s (%s) exists: %w", h.ID, h.Name, store.ErrConflict)
	}
	return wrap("create host", err)
}

// Host implements store.Store.
func (s *Store) Host(ctx context.Context, id string) (*store.Host, error) {
	h, err := scanHost(s.pool.QueryRow(ctx, `SELECT `+hostCols+` FROM hosts WHERE id = $1`, id))
	return h, wrap("host "+id, notFound(err))
}

// ListHosts implements store.Store, by name.
func (s *Store) ListHosts(ctx context.Context) ([]store.Host, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+hostCols+` FROM hosts ORDER BY name COLLATE "C", id COLLATE "C"`)
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
	return wrap("record heartbeat of "+id, one(s.pool.Exec(ctx, `UPDATE hosts SET last_heartbeat_at = $1, applied_id = $2,
		applied_hash = $3, last_error = $4, observed = $5 WHERE id = $6 AND NOT decommissioned`,
		ts(at), appliedID, appliedHash, lastError, nullJSON(observed), id)))
}

// RecordAgentBuild implements store.Store.
func (s *Store) RecordAgentBuild(ctx context.Context, id, version, sha256 string) (bool, error) {
	var requested bool
	err := s.pool.QueryRow(ctx, `UPDATE hosts SET version = $1, binary_sha256 = $2 WHERE id = $3 AND NOT decommissioned
		RETURNING update_requested`, version, sha256, id).Scan(&requested)
	return requested, wrap("record the build of "+id, notFound(err))
}

// SetUpdate implements store.Store.
func (s *Store) SetUpdate(ctx context.Context, id string, requested bool, errText string) error {
	return wrap("set the update of "+id, one(s.pool.Exec(ctx,
		`UPDATE hosts SET update_requested = $1, update_error = $2 WHERE id = $3 AND NOT decommissioned`, requested, errText, id)))
}

// Decommission implements store.Store: in one transaction the host is
// marked decommissioned and its certificate serial revoked. Decommissioning
// twice is not an error.
func (s *Store) Decommission(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var serial string
		if err := tx.QueryRow(ctx, `UPDATE hosts SET decommissioned = true WHERE id = $1 RETURNING cert_serial`, id).Scan(&serial); err != nil {
			return notFound(err)
		}
		if serial == "" {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO revoked_serials (serial, revoked_at) VALUES ($1, now()) ON CONFLICT (serial) DO NOTHING`, serial)
		return err
	})
	return wrap("decommission "+id, err)
}

// Revoked implements store.Store.
func (s *Store) Revoked(ctx context.Context, serial string) (bool, error) {
	var r bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_serials WHERE serial = $1)`, serial).Scan(&r)
	return r, wrap("revoked", err)
}

// RevokedSerials implements store.Store, sorted.
func (s *Store) RevokedSerials(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT serial FROM revoked_serials ORDER BY serial COLLATE "C"`)
	if err != nil {
		return nil, wrap("revoked serials", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if out == nil {
		out = []string{}
	}
	return out, wrap("revoked serials", err)
}
