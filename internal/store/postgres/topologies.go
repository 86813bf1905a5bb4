package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

const topoCols = `id, name, host_id, spec, hash, status, version, created_at, updated_at`

func scanTopology(row pgx.Row) (*store.Topology, error) {
	var t store.Topology
	var spec string
	if err := row.Scan(&t.ID, &t.Name, &t.HostID, &spec, &t.Hash, &t.Status, &t.Version, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	if spec != "" {
		t.Spec = json.RawMessage(spec)
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// CreateTopology implements store.Store: it fills ID (a UUIDv7 when
// empty), Status (pending), Version (1) and the times.
func (s *Store) CreateTopology(ctx context.Context, t *store.Topology) error {
	if t.ID == "" {
		t.ID = event.NewID()
	}
	now := ts(time.Now())
	t.Status, t.Version, t.CreatedAt, t.UpdatedAt = store.Pending, 1, now, now
	_, err := s.pool.Exec(ctx, `INSERT INTO topologies (`+topoCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.Name, t.HostID, string(t.Spec), t.Hash, t.Status, t.Version, now, now)
	if isUnique(err) {
		err = fmt.Errorf("topology %q exists: %w", t.Name, store.ErrConflict)
	}
	return wrap("create topology", err)
}

// Topology implements store.Store.
func (s *Store) Topology(ctx context.Context, id string) (*store.Topology, error) {
	t, err := scanTopology(s.pool.QueryRow(ctx, `SELECT `+topoCols+` FROM topologies WHERE id = $1`, id))
	return t, wrap("topology "+id, notFound(err))
}

// ListTopologies implements store.Store, by name.
func (s *Store) ListTopologies(ctx context.Context) ([]store.Topology, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+topoCols+` FROM topologies ORDER BY name COLLATE "C"`)
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

// missingOr tells a lost compare-and-swap (conflict) from a missing
// topology (ErrNotFound) after an UPDATE matched no row.
func missingOr(ctx context.Context, q db, id string, conflict error) error {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM topologies WHERE id = $1)`, id).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return store.ErrNotFound
	}
	return conflict
}

// UpdateSpec implements store.Store: one UPDATE that matches only the
// expected version, and bumps it.
func (s *Store) UpdateSpec(ctx context.Context, id string, version int64, spec json.RawMessage, hash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE topologies SET spec = $1, hash = $2, version = version + 1, updated_at = $3
		WHERE id = $4 AND version = $5`, string(spec), hash, ts(time.Now()), id, version)
	if err == nil && tag.RowsAffected() == 0 {
		err = missingOr(ctx, s.pool, id, fmt.Errorf("topology %s is not at version %d: %w", id, version, store.ErrConflict))
	}
	return wrap("update spec of "+id, err)
}

func legal(from, to string) bool { return slices.Contains(store.Transitions[from], to) }

// Transition implements store.Store: in one transaction, one UPDATE that
// matches only a row in from (and bumps the version), then the history
// entry. Racing callers from the same state queue on the row lock; the
// losers re-check the status after the winner commits and match nothing.
func (s *Store) Transition(ctx context.Context, id, from, to, reason string) error {
	if !legal(from, to) {
		return wrap("transition "+id, fmt.Errorf("%s -> %s is not a legal move: %w", from, to, store.ErrConflict))
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := ts(time.Now())
		tag, err := tx.Exec(ctx, `UPDATE topologies SET status = $1, version = version + 1, updated_at = $2
			WHERE id = $3 AND status = $4`, to, now, id, from)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return missingOr(ctx, tx, id, fmt.Errorf("topology %s is not %s: %w", id, from, store.ErrConflict))
		}
		_, err = tx.Exec(ctx, `INSERT INTO topology_status_history (topology_id, at, from_status, to_status, reason)
			VALUES ($1, $2, $3, $4, $5)`, id, now, from, to, reason)
		return err
	})
	return wrap("transition "+id, err)
}

// StatusHistory implements store.Store, oldest first.
func (s *Store) StatusHistory(ctx context.Context, id string) ([]store.StatusChange, error) {
	var out []store.StatusChange
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if err := missingOr(ctx, tx, id, nil); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT at, from_status, to_status, reason FROM topology_status_history
			WHERE topology_id = $1 ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []store.StatusChange{}
		for rows.Next() {
			var c store.StatusChange
			if err := rows.Scan(&c.At, &c.From, &c.To, &c.Reason); err != nil {
				return err
			}
			c.At = c.At.UTC()
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("status history of "+id, err)
	}
	return out, nil
}

// DeleteTopology implements store.Store; its history goes with it.
func (s *Store) DeleteTopology(ctx context.Context, id string) error {
	return wrap("delete topology "+id, one(s.pool.Exec(ctx, `DELETE FROM topologies WHERE id = $1`, id)))
}
