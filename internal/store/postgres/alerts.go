package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/evidence"
	"github.com/decnet/decnet/internal/store/internal/query"
)

const ruleCols = `id, name, enabled, spec, created_at, updated_at`

func scanRule(row pgx.Row) (*store.AlertRuleRow, error) {
	var r store.AlertRuleRow
	var spec string
	if err := row.Scan(&r.ID, &r.Name, &r.Enabled, &spec, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.Spec = json.RawMessage(spec)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// CreateAlertRule implements store.Store.
func (s *Store) CreateAlertRule(ctx context.Context, r *store.AlertRuleRow) error {
	now := ts(time.Now())
	_, err := s.pool.Exec(ctx, `INSERT INTO alert_rules (`+ruleCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.ID, r.Name, r.Enabled, string(r.Spec), now, now)
	if isUnique(err) {
		err = fmt.Errorf("alert rule %q exists: %w", r.Name, store.ErrConflict)
	}
	if err == nil {
		r.CreatedAt, r.UpdatedAt = now, now
	}
	return wrap("create alert rule", err)
}

// AlertRule implements store.Store.
func (s *Store) AlertRule(ctx context.Context, id string) (*store.AlertRuleRow, error) {
	r, err := scanRule(s.pool.QueryRow(ctx, `SELECT `+ruleCols+` FROM alert_rules WHERE id = $1`, id))
	return r, wrap("alert rule "+id, notFound(err))
}

// ListAlertRules implements store.Store, by name.
func (s *Store) ListAlertRules(ctx context.Context) ([]store.AlertRuleRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ruleCols+` FROM alert_rules ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, wrap("list alert rules", err)
	}
	defer rows.Close()
	out := []store.AlertRuleRow{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, wrap("list alert rules", err)
		}
		out = append(out, *r)
	}
	return out, wrap("list alert rules", rows.Err())
}

// UpdateAlertRule implements store.Store.
func (s *Store) UpdateAlertRule(ctx context.Context, r *store.AlertRuleRow) error {
	now := ts(time.Now())
	var created time.Time
	err := s.pool.QueryRow(ctx, `UPDATE alert_rules SET name = $1, enabled = $2, spec = $3, updated_at = $4
		WHERE id = $5 RETURNING created_at`, r.Name, r.Enabled, string(r.Spec), now, r.ID).Scan(&created)
	if isUnique(err) {
		err = fmt.Errorf("alert rule %q exists: %w", r.Name, store.ErrConflict)
	}
	if err == nil {
		r.CreatedAt, r.UpdatedAt = created.UTC(), now
	}
	return wrap("update alert rule "+r.ID, notFound(err))
}

// DeleteAlertRule implements store.Store.
func (s *Store) DeleteAlertRule(ctx context.Context, id string) error {
	return wrap("delete alert rule "+id, pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := one(tx.Exec(ctx, `DELETE FROM alert_rules WHERE id = $1`, id)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM alert_matches WHERE rule_id = $1`, id)
		return err
	}))
}

// AddAlertMatch implements store.Store.
func (s *Store) AddAlertMatches(ctx context.Context, ms []store.AlertMatch) ([]bool, error) {
	fresh := make([]bool, len(ms))
	if len(ms) == 0 {
		return fresh, nil
	}
	type key struct{ Rule, Event string }
	at := make(map[key]int, len(ms))
	rules, events, sources, times := make([]string, len(ms)), make([]string, len(ms)), make([]string, len(ms)), make([]time.Time, len(ms))
	for i, m := range ms {
		rules[i], events[i], sources[i], times[i] = m.RuleID, m.EventID, m.Source, ts(m.Time)
		if _, dup := at[key{m.RuleID, m.EventID}]; !dup {
			at[key{m.RuleID, m.EventID}] = i
		}
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO alert_matches (rule_id, event_id, source, ts)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
		ON CONFLICT DO NOTHING RETURNING rule_id, event_id`, rules, events, sources, times)
	if err != nil {
		return nil, wrap("add alert matches", err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowToStructByPos[key])
	if err != nil {
		return nil, wrap("add alert matches", err)
	}
	for _, k := range stored {
		fresh[at[k]] = true
	}
	return fresh, nil
}

// AlertSourceStates implements store.Store.
func (s *Store) AlertSourceStates(ctx context.Context, ruleID string, sources []string, since, until time.Time) (map[string]store.AlertSourceState, error) {
	out := map[string]store.AlertSourceState{}
	if len(sources) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT m.source, count(*), EXISTS (SELECT 1 FROM alerts a
			WHERE a.rule_id = m.rule_id AND a.source = m.source AND a.first_seen <= $4)
		FROM alert_matches m WHERE m.rule_id = $1 AND m.source = ANY($2) AND m.ts >= $3 AND m.ts <= $4
		GROUP BY m.rule_id, m.source`, ruleID, sources, ts(since), ts(until))
	if err != nil {
		return nil, wrap("alert source states", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src string
		var st store.AlertSourceState
		if err := rows.Scan(&src, &st.Matches, &st.Alerted); err != nil {
			return nil, wrap("alert source states", err)
		}
		out[src] = st
	}
	return out, wrap("alert source states", rows.Err())
}

// AlertMatches implements store.Store.
func (s *Store) AlertMatches(ctx context.Context, ruleID, source string, since, until time.Time, limit int) (int64, []string, time.Time, error) {
	var n int64
	var first *time.Time
	err := s.pool.QueryRow(ctx, `SELECT count(*), min(ts) FROM alert_matches WHERE rule_id = $1 AND source = $2 AND ts >= $3 AND ts <= $4`,
		ruleID, source, ts(since), ts(until)).Scan(&n, &first)
	if err != nil || n == 0 || first == nil {
		return 0, nil, time.Time{}, wrap("alert matches", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT event_id FROM alert_matches WHERE rule_id = $1 AND source = $2 AND ts >= $3 AND ts <= $4
		ORDER BY ts, event_id LIMIT $5`, ruleID, source, ts(since), ts(until), query.Limit(limit))
	if err != nil {
		return 0, nil, time.Time{}, wrap("alert matches", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return n, ids, first.UTC(), wrap("alert matches", err)
}

// EarlierAlertMatch implements store.Store.
func (s *Store) EarlierAlertMatch(ctx context.Context, ruleID, source string, t time.Time, eventID string) (bool, error) {
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alert_matches WHERE rule_id = $1 AND source = $2
		AND (ts < $3 OR (ts = $3 AND event_id < $4)))`, ruleID, source, ts(t), eventID).Scan(&found)
	return found, wrap("earlier alert match", err)
}

const alertCols = `id, key, rule_id, rule_name, severity, source, status, title, count, event_ids, first_seen, last_seen,
	created_at, updated_at, acked_by, acked_at, closed_by, closed_at`

func scanAlert(row pgx.Row) (*store.Alert, error) {
	var a store.Alert
	var ids string
	if err := row.Scan(&a.ID, &a.Key, &a.RuleID, &a.RuleName, &a.Severity, &a.Source, &a.Status, &a.Title, &a.Count, &ids,
		&a.First, &a.Last, &a.CreatedAt, &a.UpdatedAt, &a.AckedBy, &a.AckedAt, &a.ClosedBy, &a.ClosedAt); err != nil {
		return nil, err
	}
	if err := evidence.Decode(&a, ids); err != nil {
		return nil, err
	}
	a.First, a.Last, a.CreatedAt, a.UpdatedAt = a.First.UTC(), a.Last.UTC(), a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	a.AckedAt, a.ClosedAt = utcPtr(a.AckedAt), utcPtr(a.ClosedAt)
	return &a, nil
}

// OpenAlert implements store.Store.
func (s *Store) OpenAlert(ctx context.Context, a *store.Alert) (bool, error) {
	ids, err := evidence.New(a)
	if err != nil {
		return false, wrap("open alert", err)
	}
	now := ts(time.Now())
	var created bool
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO alerts (`+alertCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '', NULL, '', NULL) ON CONFLICT DO NOTHING`,
			a.ID, a.Key, a.RuleID, a.RuleName, a.Severity, a.Source, store.AlertOpen, a.Title, a.Count, ids,
			ts(a.First), ts(a.Last), now, now)
		if err != nil {
			return err
		}
		if created = tag.RowsAffected() == 1; !created {
			got, err := scanAlert(tx.QueryRow(ctx, `(SELECT `+alertCols+` FROM alerts WHERE key = $1)
				UNION ALL (SELECT `+alertCols+` FROM alerts WHERE rule_id = $2 AND source = $3 AND status <> $4) LIMIT 1`,
				a.Key, a.RuleID, a.Source, store.AlertClosed))
			if err != nil {
				return err
			}
			*a = *got
			return nil
		}
		a.Status, a.CreatedAt, a.UpdatedAt = store.AlertOpen, now, now
		return nil
	})
	return created, wrap("open alert", err)
}

// AlertAt implements store.Store.
func (s *Store) AlertAt(ctx context.Context, ruleID, source string, t time.Time) (*store.Alert, error) {
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE rule_id = $1 AND source = $2 AND first_seen <= $3
		ORDER BY first_seen DESC, id DESC LIMIT 1`, ruleID, source, ts(t)))
	return a, wrap("alert at", notFound(err))
}

// TouchAlert implements store.Store.
func (s *Store) TouchAlert(ctx context.Context, id, eventID string, t time.Time, fresh bool) error {
	return wrap("touch alert "+id, pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, err := scanAlert(tx.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFound(err)
		}
		if a.Status == store.AlertClosed {
			return nil
		}
		n := a.Count + 1
		if !fresh {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM alert_matches WHERE rule_id = $1 AND source = $2 AND ts >= $3`,
				a.RuleID, a.Source, ts(a.First)).Scan(&n); err != nil {
				return err
			}
		}
		ids, last, err := evidence.Touch(a, eventID, t)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE alerts SET count = GREATEST(count, $1), last_seen = $2, event_ids = $3, updated_at = $4 WHERE id = $5`,
			n, ts(last), ids, ts(time.Now()), id)
		return err
	}))
}

// Alert implements store.Store.
func (s *Store) Alert(ctx context.Context, id string) (*store.Alert, error) {
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id))
	return a, wrap("alert "+id, notFound(err))
}

// ListAlerts implements store.Store, newest first.
func (s *Store) ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error) {
	q, args := dialect.Alerts(alertCols, f)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list alerts", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Alert, error) {
		a, err := scanAlert(row)
		if err != nil {
			return store.Alert{}, err
		}
		return *a, nil
	})
	if out == nil {
		out = []store.Alert{}
	}
	return out, wrap("list alerts", err)
}

// SetAlertStatus implements store.Store.
func (s *Store) SetAlertStatus(ctx context.Context, id string, from []string, to, by string, at time.Time) (*store.Alert, error) {
	var a *store.Alert
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanAlert(tx.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFound(err)
		}
		if !slices.Contains(from, cur.Status) {
			return fmt.Errorf("alert %s is %s: %w", id, cur.Status, store.ErrConflict)
		}
		set := `acked_by = $2, acked_at = $3`
		if to == store.AlertClosed {
			set = `closed_by = $2, closed_at = $3`
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET status = $1, `+set+`, updated_at = $3 WHERE id = $4`, to, by, ts(at), id); err != nil {
			return err
		}
		a, err = scanAlert(tx.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id))
		return err
	})
	return a, wrap("set alert status", err)
}

// ActiveAlertCounts implements store.Store.
func (s *Store) ActiveAlertCounts(ctx context.Context) (map[int]int64, error) {
	var sevs []int32
	var ns []int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(severity ORDER BY severity), '{}'), coalesce(array_agg(n ORDER BY severity), '{}')
		FROM (SELECT severity, count(*) AS n FROM alerts WHERE status <> $1 GROUP BY severity) c`, store.AlertClosed).Scan(&sevs, &ns)
	out := make(map[int]int64, len(sevs))
	for i := range min(len(sevs), len(ns)) {
		out[int(sevs[i])] = ns[i]
	}
	return out, wrap("active alert counts", err)
}
