package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/query"
	"github.com/decnet/decnet/internal/store/internal/rollup"
)

var dialect = query.Dialect{
	Placeholder: func(int) string { return "?" },
	Time:        func(t time.Time) any { return micro(t) },
	Like:        "LIKE", // case-insensitive for ASCII
}

// InsertEvents implements store.Store: in one transaction every event is
// inserted unless its id is already stored, and the aggregates grow by the
// events that were new only, so a replayed batch changes nothing.
func (s *Store) InsertEvents(ctx context.Context, events []event.Event) (int, error) {
	rows, err := rollup.Prepare(events)
	if err != nil || len(rows) == 0 {
		return 0, wrap("insert events", err)
	}
	var inserted int
	err = s.write(ctx, func(tx *sql.Tx) error {
		inserted = 0
		ins, err := tx.PrepareContext(ctx, `INSERT INTO events (id, ts, type, decky, service, src_ip, session_id,
			topology_id, host, severity, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		fresh := make([]event.Event, 0, len(rows))
		for _, r := range rows {
			n, err := affected(ins.ExecContext(ctx, r.ID, micro(r.Event.Time), r.Type, r.Decky, r.Service, r.SrcIP,
				r.Session, r.Topology, r.Host, r.Severity, r.Doc))
			if err != nil {
				return fmt.Errorf("event %s: %w", r.ID, err)
			}
			if n == 1 {
				fresh = append(fresh, *r.Event)
			}
		}
		inserted = len(fresh)
		return s.addAggregates(ctx, tx, fresh)
	})
	if err != nil {
		return 0, wrap("insert events", err)
	}
	return inserted, nil
}

// Aggregate upserts: counters add, first/last seen widen, sets gain
// members; the first non-empty crack line is kept.
var aggregateSQL = [...]string{
	`INSERT INTO attackers (ip, first_seen, last_seen, events, credentials, commands)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ip) DO UPDATE SET
			first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
			events = events + excluded.events, credentials = credentials + excluded.credentials,
			commands = commands + excluded.commands`,
	`INSERT INTO attacker_deckies (ip, decky) VALUES (?, ?) ON CONFLICT DO NOTHING`,
	`INSERT INTO credentials (key, kind, principal, secret_sha256, secret_b64, crack_line, count, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET
			crack_line = CASE WHEN crack_line = '' THEN excluded.crack_line ELSE crack_line END,
			count = count + excluded.count,
			first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`,
	`INSERT INTO credential_deckies (key, decky) VALUES (?, ?) ON CONFLICT DO NOTHING`,
	`INSERT INTO credential_sources (key, ip) VALUES (?, ?) ON CONFLICT DO NOTHING`,
}

func (s *Store) addAggregates(ctx context.Context, tx *sql.Tx, fresh []event.Event) error {
	attackers, creds := rollup.Of(fresh)
	if len(attackers) == 0 && len(creds) == 0 {
		return nil
	}
	var st [len(aggregateSQL)]*sql.Stmt
	for i, q := range aggregateSQL {
		var err error
		if st[i], err = tx.PrepareContext(ctx, q); err != nil {
			return err
		}
		defer st[i].Close()
	}
	upAttacker, addAttackerDecky, upCred, addCredDecky, addCredSource := st[0], st[1], st[2], st[3], st[4]
	for _, a := range attackers {
		if _, err := upAttacker.ExecContext(ctx, a.IP, micro(a.First), micro(a.Last), a.Events, a.Credentials, a.Commands); err != nil {
			return fmt.Errorf("attacker %s: %w", a.IP, err)
		}
		for _, d := range a.Deckies {
			if _, err := addAttackerDecky.ExecContext(ctx, a.IP, d); err != nil {
				return fmt.Errorf("attacker %s: %w", a.IP, err)
			}
		}
	}
	for _, c := range creds {
		if _, err := upCred.ExecContext(ctx, c.Key, c.Kind, c.Principal, c.SecretSHA, c.SecretB64, c.CrackLine, c.Count,
			micro(c.First), micro(c.Last)); err != nil {
			return fmt.Errorf("credential: %w", err)
		}
		for _, d := range c.Deckies {
			if _, err := addCredDecky.ExecContext(ctx, c.Key, d); err != nil {
				return fmt.Errorf("credential: %w", err)
			}
		}
		for _, ip := range c.Sources {
			if _, err := addCredSource.ExecContext(ctx, c.Key, ip); err != nil {
				return fmt.Errorf("credential: %w", err)
			}
		}
	}
	return nil
}

// ListEvents implements store.Store: newest first (by id), see
// query.Where for the filter.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]event.Event, error) {
	where, args := query.Where(f, dialect)
	rows, err := s.r.QueryContext(ctx, `SELECT doc FROM events`+where+query.Order(f)+` LIMIT ?`,
		append(args, query.Limit(f.Limit))...)
	if err != nil {
		return nil, wrap("list events", err)
	}
	defer rows.Close()
	out := []event.Event{}
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, wrap("list events", err)
		}
		var e event.Event
		if err := json.Unmarshal(doc, &e); err != nil {
			return nil, wrap("list events", fmt.Errorf("decode stored event: %w", err))
		}
		out = append(out, e)
	}
	return out, wrap("list events", rows.Err())
}

// CountEvents implements store.Store: the events ListEvents would page
// through, without the limit.
func (s *Store) CountEvents(ctx context.Context, f store.EventFilter) (int64, error) {
	where, args := query.Where(f, dialect)
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events`+where, args...).Scan(&n)
	return n, wrap("count events", err)
}

// deleteChunk bounds how long retention holds the write lock at a time.
const deleteChunk = 5000

// DeleteEventsBefore implements store.Store: events with ts < t go, in
// chunks so that ingestion is not held up; the aggregates keep counting
// them.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for _, d := range []struct{ what, sql string }{
		{"events", `DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE ts < ? LIMIT ?)`},
		{"event tags", `DELETE FROM event_tags WHERE (event_id, technique) IN
			(SELECT event_id, technique FROM event_tags WHERE ts < ? LIMIT ?)`},
		// The matches of alert rules go with their events (the alerts stay).
		{"alert matches", `DELETE FROM alert_matches WHERE (rule_id, event_id) IN
			(SELECT rule_id, event_id FROM alert_matches WHERE ts < ? LIMIT ?)`},
	} {
		for {
			n, err := affected(s.w.ExecContext(ctx, d.sql, micro(t), deleteChunk))
			if err != nil {
				return total, wrap("delete "+d.what, err)
			}
			if d.what == "events" {
				total += n
			}
			if n < deleteChunk {
				break
			}
		}
	}
	return total, nil
}

// ListCredentials implements store.Store: most recently seen first.
func (s *Store) ListCredentials(ctx context.Context, f store.CredentialFilter) ([]store.Credential, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, principal, secret_sha256, secret_b64, crack_line, count, first_seen, last_seen,
		(SELECT json_group_array(decky) FROM (SELECT decky FROM credential_deckies d WHERE d.key = c.key ORDER BY decky)),
		(SELECT json_group_array(ip) FROM (SELECT ip FROM credential_sources r WHERE r.key = c.key ORDER BY ip))
		FROM credentials c WHERE (? <= 1 OR (SELECT count(*) FROM credential_deckies d WHERE d.key = c.key) >= ?)
		ORDER BY last_seen DESC, key LIMIT ?`, f.MinDeckies, f.MinDeckies, query.Limit(f.Limit))
	if err != nil {
		return nil, wrap("list credentials", err)
	}
	defer rows.Close()
	out := []store.Credential{}
	for rows.Next() {
		var c store.Credential
		var first, last int64
		var deckies, sources string
		if err := rows.Scan(&c.Kind, &c.Principal, &c.SecretSHA, &c.SecretB64, &c.CrackLine, &c.Count, &first, &last,
			&deckies, &sources); err != nil {
			return nil, wrap("list credentials", err)
		}
		c.FirstSeen, c.LastSeen = fromMicro(first), fromMicro(last)
		if err := json.Unmarshal([]byte(deckies), &c.Deckies); err != nil {
			return nil, wrap("list credentials", err)
		}
		if err := json.Unmarshal([]byte(sources), &c.Sources); err != nil {
			return nil, wrap("list credentials", err)
		}
		out = append(out, c)
	}
	return out, wrap("list credentials", rows.Err())
}
