package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/evidence"
	"github.com/decnet/decnet/internal/store/internal/query"
)

const ruleCols = `id, name, enabled, spec, created_at, updated_at`

func scanRule(row interface{ Scan(...any) error }) (*store.AlertRuleRow, error) {
	var r store.AlertRuleRow
	var spec string
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Name, &r.Enabled, &spec, &created, &updated); err != nil {
		return nil, err
	}
	r.Spec = json.RawMessage(spec)
	r.CreatedAt, r.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &r, nil
}

// CreateAlertRule implements store.Store.
func (s *Store) CreateAlertRule(ctx context.Context, r *store.AlertRuleRow) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err := s.w.ExecContext(ctx, `INSERT INTO alert_rules (`+ruleCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.Name, r.Enabled, string(r.Spec), micro(now), micro(now))
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
	r, err := scanRule(s.r.QueryRowContext(ctx, `SELECT `+ruleCols+` FROM alert_rules WHERE id = ?`, id))
	return r, wrap("alert rule "+id, notFound(err))
}

// ListAlertRules implements store.Store, by name.
func (s *Store) ListAlertRules(ctx context.Context) ([]store.AlertRuleRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+ruleCols+` FROM alert_rules ORDER BY name`)
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
	now := time.Now().UTC().Truncate(time.Microsecond)
	var created int64
	err := s.w.QueryRowContext(ctx, `UPDATE alert_rules SET name = ?, enabled = ?, spec = ?, updated_at = ?
		WHERE id = ? RETURNING created_at`, r.Name, r.Enabled, string(r.Spec), micro(now), r.ID).Scan(&created)
	if isUnique(err) {
		err = fmt.Errorf("alert rule %q exists: %w", r.Name, store.ErrConflict)
	}
	if err == nil {
		r.CreatedAt, r.UpdatedAt = fromMicro(created), now
	}
	return wrap("update alert rule "+r.ID, notFound(err))
}

// DeleteAlertRule implements store.Store.
func (s *Store) DeleteAlertRule(ctx context.Context, id string) error {
	return wrap("delete alert rule "+id, s.write(ctx, func(tx *sql.Tx) error {
		if err := one(tx.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = ?`, id)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM alert_matches WHERE rule_id = ?`, id)
		return err
	}))
}

// AddAlertMatch implements store.Store.
func (s *Store) AddAlertMatches(ctx context.Context, ms []store.AlertMatch) ([]bool, error) {
	fresh := make([]bool, len(ms))
	if len(ms) == 0 {
		return fresh, nil
	}
	type key struct{ rule, event string }
	err := s.write(ctx, func(tx *sql.Tx) error {
		clear(fresh)
		const perStmt = maxParams / 4
		for start := 0; start < len(ms); start += perStmt {
			chunk := ms[start:min(start+perStmt, len(ms))]
			args := make([]any, 0, 4*len(chunk))
			at := make(map[key]int, len(chunk))
			for i, m := range chunk {
				args = append(args, m.RuleID, m.EventID, m.Source, micro(m.Time))
				if _, dup := at[key{m.RuleID, m.EventID}]; !dup {
					at[key{m.RuleID, m.EventID}] = start + i
				}
			}
			rows, err := tx.QueryContext(ctx, `INSERT INTO alert_matches (rule_id, event_id, source, ts) VALUES (?,?,?,?)`+
				strings.Repeat(",(?,?,?,?)", len(chunk)-1)+` ON CONFLICT DO NOTHING RETURNING rule_id, event_id`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k key
				if err := rows.Scan(&k.rule, &k.event); err != nil {
					rows.Close()
					return err
				}
				fresh[at[k]] = true
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	return fresh, wrap("add alert matches", err)
}

// AlertSourceStates implements store.Store, 500 sources a statement.
func (s *Store) AlertSourceStates(ctx context.Context, ruleID string, sources []string, since, until time.Time) (map[string]store.AlertSourceState, error) {
	out := map[string]store.AlertSourceState{}
	for len(sources) > 0 {
		chunk := sources[:min(len(sources), 500)]
		sources = sources[len(chunk):]
		args := []any{micro(until), ruleID, micro(since), micro(until)}
		for _, src := range chunk {
			args = append(args, src)
		}
		rows, err := s.r.QueryContext(ctx, `SELECT m.source, count(*), EXISTS (SELECT 1 FROM alerts a
				WHERE a.rule_id = m.rule_id AND a.source = m.source AND a.first_seen <= ?)
			FROM alert_matches m WHERE m.rule_id = ? AND m.ts >= ? AND m.ts <= ? AND m.source IN (?`+strings.Repeat(",?", len(chunk)-1)+`)
			GROUP BY m.source`, args...)
		if err != nil {
			return nil, wrap("alert source states", err)
		}
		for rows.Next() {
			var src string
			var st store.AlertSourceState
			if err := rows.Scan(&src, &st.Matches, &st.Alerted); err != nil {
				rows.Close()
				return nil, wrap("alert source states", err)
			}
			out[src] = st
		}
		if err := rows.Close(); err != nil {
			return nil, wrap("alert source states", err)
		}
	}
	return out, nil
}

// AlertMatches implements store.Store.
func (s *Store) AlertMatches(ctx context.Context, ruleID, source string, since, until time.Time, limit int) (int64, []string, time.Time, error) {
	var n int64
	var first sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT count(*), min(ts) FROM alert_matches WHERE rule_id = ? AND source = ? AND ts >= ? AND ts <= ?`,
		ruleID, source, micro(since), micro(until)).Scan(&n, &first)
	if err != nil || n == 0 {
		return 0, nil, time.Time{}, wrap("alert matches", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT event_id FROM alert_matches WHERE rule_id = ? AND source = ? AND ts >= ? AND ts <= ?
		ORDER BY ts, event_id LIMIT ?`, ruleID, source, micro(since), micro(until), query.Limit(limit))
	if err != nil {
		return 0, nil, time.Time{}, wrap("alert matches", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return 0, nil, time.Time{}, wrap("alert matches", err)
		}
		ids = append(ids, id)
	}
	return n, ids, fromMicro(first.Int64), wrap("alert matches", rows.Err())
}

// EarlierAlertMatch implements store.Store.
func (s *Store) EarlierAlertMatch(ctx context.Context, ruleID, source string, t time.Time, eventID string) (bool, error) {
	var found bool
	err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM alert_matches WHERE rule_id = ? AND source = ?
		AND (ts < ? OR (ts = ? AND event_id < ?)))`, ruleID, source, micro(t), micro(t), eventID).Scan(&found)
	return found, wrap("earlier alert match", err)
}

const alertCols = `id, key, rule_id, rule_name, severity, source, status, title, count, event_ids, first_seen, last_seen,
	created_at, updated_at, acked_by, acked_at, closed_by, closed_at`

func scanAlert(row interface{ Scan(...any) error }) (*store.Alert, error) {
	var a store.Alert
	var ids string
	var first, last, created, updated int64
	var acked, closed sql.NullInt64
	if err := row.Scan(&a.ID, &a.Key, &a.RuleID, &a.RuleName, &a.Severity, &a.Source, &a.Status, &a.Title, &a.Count, &ids,
		&first, &last, &created, &updated, &a.AckedBy, &acked, &a.ClosedBy, &closed); err != nil {
		return nil, err
	}
	if err := evidence.Decode(&a, ids); err != nil {
		return nil, err
	}
	a.First, a.Last, a.CreatedAt, a.UpdatedAt = fromMicro(first), fromMicro(last), fromMicro(created), fromMicro(updated)
	a.AckedAt, a.ClosedAt = fromNullMicro(acked), fromNullMicro(closed)
	return &a, nil
}

// OpenAlert implements store.Store.
func (s *Store) OpenAlert(ctx context.Context, a *store.Alert) (bool, error) {
	ids, err := evidence.New(a)
	if err != nil {
		return false, wrap("open alert", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var created bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `INSERT INTO alerts (`+alertCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL, '', NULL) ON CONFLICT DO NOTHING`,
			a.ID, a.Key, a.RuleID, a.RuleName, a.Severity, a.Source, store.AlertOpen, a.Title, a.Count, ids,
			micro(a.First), micro(a.Last), micro(now), micro(now)))
		if err != nil {
			return err
		}
		if created = n == 1; !created {
			got, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE key = ?
				UNION ALL SELECT `+alertCols+` FROM alerts WHERE rule_id = ? AND source = ? AND status <> ? LIMIT 1`,
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
	a, err := scanAlert(s.r.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE rule_id = ? AND source = ? AND first_seen <= ?
		ORDER BY first_seen DESC, id DESC LIMIT 1`, ruleID, source, micro(t)))
	return a, wrap("alert at", notFound(err))
}

// TouchAlert implements store.Store.
func (s *Store) TouchAlert(ctx context.Context, id, eventID string, t time.Time, fresh bool) error {
	return wrap("touch alert "+id, s.write(ctx, func(tx *sql.Tx) error {
		a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
		if err != nil {
			return notFound(err)
		}
		if a.Status == store.AlertClosed {
			return nil
		}
		n := a.Count + 1
		if !fresh {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alert_matches WHERE rule_id = ? AND source = ? AND ts >= ?`,
				a.RuleID, a.Source, micro(a.First)).Scan(&n); err != nil {
				return err
			}
		}
		ids, last, err := evidence.Touch(a, eventID, t)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE alerts SET count = max(count, ?), last_seen = ?, event_ids = ?, updated_at = ? WHERE id = ?`,
			n, micro(last), ids, micro(time.Now()), id)
		return err
	}))
}

// Alert implements store.Store.
func (s *Store) Alert(ctx context.Context, id string) (*store.Alert, error) {
	a, err := scanAlert(s.r.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	return a, wrap("alert "+id, notFound(err))
}

// ListAlerts implements store.Store, newest first.
func (s *Store) ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error) {
	q, args := dialect.Alerts(alertCols, f)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list alerts", err)
	}
	defer rows.Close()
	out := []store.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, wrap("list alerts", err)
		}
		out = append(out, *a)
	}
	return out, wrap("list alerts", rows.Err())
}

// SetAlertStatus implements store.Store.
func (s *Store) SetAlertStatus(ctx context.Context, id string, from []string, to, by string, at time.Time) (*store.Alert, error) {
	var a *store.Alert
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
		if err != nil {
			return notFound(err)
		}
		if !slices.Contains(from, cur.Status) {
			return fmt.Errorf("alert %s is %s: %w", id, cur.Status, store.ErrConflict)
		}
		set := `acked_by = ?, acked_at = ?`
		if to == store.AlertClosed {
			set = `closed_by = ?, closed_at = ?`
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ?, `+set+`, updated_at = ? WHERE id = ?`,
			to, by, micro(at), micro(at), id); err != nil {
			return err
		}
		a, err = scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
		return err
	})
	return a, wrap("set alert status", err)
}

// ActiveAlertCounts implements store.Store.
func (s *Store) ActiveAlertCounts(ctx context.Context) (map[int]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT severity, count(*) FROM alerts WHERE status <> ? GROUP BY severity`, store.AlertClosed)
	if err != nil {
		return nil, wrap("active alert counts", err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var sev int
		var n int64
		if err := rows.Scan(&sev, &n); err != nil {
			return nil, wrap("active alert counts", err)
		}
		out[sev] = n
	}
	return out, wrap("active alert counts", rows.Err())
}
