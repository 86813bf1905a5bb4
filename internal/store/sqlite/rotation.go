package sqlite

import (
	"context"
	"encoding/json"
	"time"

	"github.com/decnet/decnet/internal/store"
)

const rotationCols = `topology_id, decky, pool, service_count, every_s, settings, enabled, next_at, updated_by, updated_at`

func scanRotation(row interface{ Scan(...any) error }) (*store.Rotation, error) {
	var r store.Rotation
	var pool, settings string
	var every, next, updated int64
	if err := row.Scan(&r.TopologyID, &r.Decky, &pool, &r.Count, &every, &settings, &r.Enabled, &next, &r.UpdatedBy, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(pool), &r.Pool); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &r.Settings); err != nil {
		return nil, err
	}
	r.Every, r.NextAt, r.UpdatedAt = time.Duration(every)*time.Second, fromMicro(next), fromMicro(updated)
	return &r, nil
}

// PutRotation implements store.Store.
func (s *Store) PutRotation(ctx context.Context, r *store.Rotation) error {
	pool, err := json.Marshal(r.Pool)
	if err != nil {
		return wrap("put rotation", err)
	}
	settings, err := json.Marshal(r.Settings)
	if err != nil {
		return wrap("put rotation", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err = s.w.ExecContext(ctx, `INSERT OR REPLACE INTO rotation_schedules (`+rotationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.TopologyID, r.Decky, string(pool), r.Count, int64(r.Every/time.Second), string(settings), r.Enabled, micro(r.NextAt), r.UpdatedBy, micro(now))
	if err == nil {
		r.UpdatedAt = now
	}
	return wrap("put rotation", err)
}

// Rotation implements store.Store.
func (s *Store) Rotation(ctx context.Context, topologyID, decky string) (*store.Rotation, error) {
	r, err := scanRotation(s.r.QueryRowContext(ctx, `SELECT `+rotationCols+` FROM rotation_schedules WHERE topology_id = ? AND decky = ?`, topologyID, decky))
	return r, wrap("rotation of "+decky, notFound(err))
}

// ListRotations implements store.Store.
func (s *Store) ListRotations(ctx context.Context) ([]store.Rotation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+rotationCols+` FROM rotation_schedules ORDER BY topology_id, decky`)
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
	return wrap("delete rotation of "+decky, one(s.w.ExecContext(ctx, `DELETE FROM rotation_schedules WHERE topology_id = ? AND decky = ?`, topologyID, decky)))
}

// AddRotationRecord implements store.Store.
func (s *Store) AddRotationRecord(ctx context.Context, r *store.RotationRecord) error {
	before, _ := json.Marshal(r.Before)
	after, _ := json.Marshal(r.After)
	r.At = r.At.UTC().Truncate(time.Microsecond)
	res, err := s.w.ExecContext(ctx, `INSERT INTO rotation_history (topology_id, decky, at, services_before, services_after, actor) VALUES (?, ?, ?, ?, ?, ?)`,
		r.TopologyID, r.Decky, micro(r.At), string(before), string(after), r.By)
	if err == nil {
		r.ID, err = res.LastInsertId()
	}
	return wrap("add rotation record", err)
}

// ListRotationRecords implements store.Store.
func (s *Store) ListRotationRecords(ctx context.Context, topologyID, decky string, limit int) ([]store.RotationRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, topology_id, decky, at, services_before, services_after, actor FROM rotation_history
		WHERE topology_id = ? AND decky = ? ORDER BY id DESC LIMIT ?`, topologyID, decky, limit)
	if err != nil {
		return nil, wrap("list rotation records", err)
	}
	defer rows.Close()
	out := []store.RotationRecord{}
	for rows.Next() {
		var r store.RotationRecord
		var at int64
		var before, after string
		if err := rows.Scan(&r.ID, &r.TopologyID, &r.Decky, &at, &before, &after, &r.By); err != nil {
			return nil, wrap("list rotation records", err)
		}
		r.At = fromMicro(at)
		if err := json.Unmarshal([]byte(before), &r.Before); err != nil {
			return nil, wrap("list rotation records", err)
		}
		if err := json.Unmarshal([]byte(after), &r.After); err != nil {
			return nil, wrap("list rotation records", err)
		}
		out = append(out, r)
	}
	return out, wrap("list rotation records", rows.Err())
}
