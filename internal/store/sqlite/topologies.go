package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

const topoCols = `id, name, host_id, spec, hash, status, version, created_at, updated_at`

func scanTopology(row interface{ Scan(...any) error }) (*store.Topology, error) {
	var t store.Topology
	var spec string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Name, &t.HostID, &spec, &t.Hash, &t.Status, &t.Version, &created, &updated); err != nil {
		return nil, err
	}
	if spec != "" {
		t.Spec = json.RawMessage(spec)
	}
	t.CreatedAt, t.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &t, nil
}

// CreateTopology implements store.Store: it fills ID (a UUIDv7 when
// empty), Status (pending), Version (1) and the times.
func (s *Store) CreateTopology(ctx context.Context, t *store.Topology) error {
	if t.ID == "" {
		t.ID = event.NewID()
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	t.Status, t.Version, t.CreatedAt, t.UpdatedAt = store.Pending, 1, now, now
	_, err := s.w.ExecContext(ctx, `INSERT INTO topologies (`+topoCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.HostID, string(t.Spec), t.Hash, t.Status, t.Version, micro(now), micro(now))
	if isUnique(err) {
		err = fmt.Errorf("topology %q exists: %w", t.Name, store.ErrConflict)
	}
	return wrap("create topology", err)
}

// Topology implements store.Store.
func (s *Store) Topology(ctx context.Context, id string) (*store.Topology, error) {
	t, err := scanTopology(s.r.QueryRowContext(ctx, `SELECT `+topoCols+` FROM topologies WHERE id = ?`, id))
	return t, wrap("topology "+id, notFound(err))
}

// ListTopologies implements store.Store, by name.
func (s *Store) ListTopologies(ctx context.Context) ([]store.Topology, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+topoCols+` FROM topologies ORDER BY name`)
	if err != nil {
		return nil, wrap("list topologies", err)
	}
	defer rows.Close()
	out := []store.Topology{}
	for rows.Next() {
		t, err := scanTopology(rows)
		if err != nil {
			return nil, wrap("list topologies", err)
		}
		out = append(out, *t)
	}
	return out, wrap("list topologies", rows.Err())
}

// missingOr tells a lost compare-and-swap (ErrConflict) from a missing
// topology (ErrNotFound) after an UPDATE matched no row.
func (s *Store) missingOr(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string, conflict error) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM topologies WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return conflict
}

// UpdateSpec implements store.Store: one UPDATE that matches only the
// expected version, and bumps it.
func (s *Store) UpdateSpec(ctx context.Context, id string, version int64, spec json.RawMessage, hash string) error {
	n, err := affected(s.w.ExecContext(ctx, `UPDATE topologies SET spec = ?, hash = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`, string(spec), hash, micro(time.Now()), id, version))
	if err == nil && n == 0 {
		err = s.missingOr(ctx, s.r, id, fmt.Errorf("topology %s is not at version %d: %w", id, version, store.ErrConflict))
	}
	return wrap("update spec of "+id, err)
}

// legal reports whether store.Transitions allows from -> to.
func legal(from, to string) bool { return slices.Contains(store.Transitions[from], to) }

// Transition implements store.Store: in one transaction, one UPDATE that
// matches only a row in from (and bumps the version), then the history
// entry. Of racing callers from the same state exactly one wins.
func (s *Store) Transition(ctx context.Context, id, from, to, reason string) error {
	if !legal(from, to) {
		return wrap("transition "+id, fmt.Errorf("%s -> %s is not a legal move: %w", from, to, store.ErrConflict))
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := micro(time.Now())
		n, err := affected(tx.ExecContext(ctx, `UPDATE topologies SET status = ?, version = version + 1, updated_at = ?
			WHERE id = ? AND status = ?`, to, now, id, from))
		if err != nil {
			return err
		}
		if n == 0 {
			return s.missingOr(ctx, tx, id, fmt.Errorf("topology %s is not %s: %w", id, from, store.ErrConflict))
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO topology_status_history (topology_id, at, from_status, to_status, reason)
			VALUES (?, ?, ?, ?, ?)`, id, now, from, to, reason)
		return err
	})
	return wrap("transition "+id, err)
}

// StatusHistory implements store.Store, oldest first.
func (s *Store) StatusHistory(ctx context.Context, id string) ([]store.StatusChange, error) {
	var out []store.StatusChange
	err := func() error {
		tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := s.missingOr(ctx, tx, id, nil); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT at, from_status, to_status, reason FROM topology_status_history
			WHERE topology_id = ? ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []store.StatusChange{}
		for rows.Next() {
			var c store.StatusChange
			var at int64
			if err := rows.Scan(&at, &c.From, &c.To, &c.Reason); err != nil {
				return err
			}
			c.At = fromMicro(at)
			out = append(out, c)
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, wrap("status history of "+id, err)
	}
	return out, nil
}

// DeleteTopology implements store.Store; its history goes with it.
func (s *Store) DeleteTopology(ctx context.Context, id string) error {
	return wrap("delete topology "+id, one(s.w.ExecContext(ctx, `DELETE FROM topologies WHERE id = ?`, id)))
}
