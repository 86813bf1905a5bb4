package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
)

const rotationCols = `topology_id, decky, pool, service_count, every_s, settings, enabled, next_at, updated_by, updated_at`

func scanRotation(row pgx.Row) (*store.Rotation, error) {
	var r store.Rotation
	var every int64
	if err := row.Scan(&r.TopologyID, &r.Decky, &r.Pool, &r.Count, &every, &r.Settings, &r.Enabled, &r.NextAt, &r.UpdatedBy, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.Every, r.NextAt, r.UpdatedAt = time.Duration(every)*time.Second, r.NextAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// PutRotation implements store.Store.
func (s *Store) PutRotation(ctx context.Context, r *store.Rotation) error {
	now := ts(time.Now())
	settings := r.Settings
	if settings == nil {
		settings = map[string]map[string]any{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO rotation_schedules (`+rotationCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (topology_id, decky) DO UPDATE SET pool = EXCLUDED.pool, service_count = EXCLUDED.service_count, every_s = EXCLUDED.every_s, settings = EXCLUDED.settings,
		enabled = EXCLUDED.enabled, next_at = EXCLUDED.next_at, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
		r.TopologyID, r.Decky, r.Pool, r.Count, int64(r.Every/time.Second), settings, r.Enabled, ts(r.NextAt), r.UpdatedBy, now)
	if err == nil {
		r.UpdatedAt = now
	}
	return wrap("put rotation", err)
}

// Rotation implements store.Store.
func (s *Store) Rotation(ctx context.Context, topologyID, decky string) (*store.Rotation, error) {
	r, err := scanRotation(s.pool.QueryRow(ctx, `SELECT `+rotationCols+` FROM rotation_schedules WHERE topology_id = $1 AND decky = $2`, topologyID, decky))
	return r, wrap("rotation of "+decky, notFound(err))
}

// ListRotations implements store.Store.
func (s *Store) ListRotations(ctx context.Context) ([]store.Rotation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+rotationCols+` FROM rotation_schedules ORDER BY topology_id, decky`)
	if err != nil {
		return nil, wrap("list rotations", err)
	}
	defer rows.Close()
	out := []store.Rotation{}
	for rows.Next() {
		r, err := scanRotation(rows)
		if err != nil {
			return nil, wrap("list rotations", err)
		}
		out = append(out, *r)
	}
	return out, wrap("list rotations", rows.Err())
}

// DeleteRotation implements store.Store.
func (s *Store) DeleteRotation(ctx context.Context, topologyID, decky string) error {
	return wrap("delete rotation of "+decky, one(s.pool.Exec(ctx, `DELETE FROM rotation_schedules WHERE topology_id = $1 AND decky = $2`, topologyID, decky)))
}

// AddRotationRecord implements store.Store.
func (s *Store) AddRotationRecord(ctx context.Context, r *store.RotationRecord) error {
	r.At = ts(r.At)
	err := s.pool.QueryRow(ctx, `INSERT INTO rotation_history (topology_id, decky, at, services_before, services_after, actor) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		r.TopologyID, r.Decky, r.At, r.Before, r.After, r.By).Scan(&r.ID)
	return wrap("add rotation record", err)
}

// ListRotationRecords implements store.Store.
func (s *Store) ListRotationRecords(ctx context.Context, topologyID, decky string, limit int) ([]store.RotationRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, topology_id, decky, at, services_before, services_after, actor FROM rotation_history
		WHERE topology_id = $1 AND decky = $2 ORDER BY id DESC LIMIT $3`, topologyID, decky, limit)
	if err != nil {
		return nil, wrap("list rotation records", err)
	}
	defer rows.Close()
	out := []store.RotationRecord{}
	for rows.Next() {
		var r store.RotationRecord
		if err := rows.Scan(&r.ID, &r.TopologyID, &r.Decky, &r.At, &r.Before, &r.After, &r.By); err != nil {
			return nil, wrap("list rotation records", err)
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	return out, wrap("list rotation records", rows.Err())
}
