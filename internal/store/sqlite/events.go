package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
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

// insertChunk is the rows per multi-row INSERT: one statement per chunk
// instead of one per row, 11 parameters a row, well under SQLite's limit
// of 32,766.
const insertChunk = 256

// insertSQL is the INSERT of n rows; RETURNING names the rows that were
// new (a conflicting id is skipped and not returned).
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (id, ts, type, decky, service, src_ip, session_id, topology_id, host, severity, doc) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING RETURNING id")
	return b.String()
}

var fullChunkSQL = insertSQL(insertChunk)

// InsertEvents implements store.Store: in one transaction every event is
// inserted unless its id is already stored, and the aggregates grow by the
// events that were new only, so a replayed batch changes nothing.
func (s *Store) InsertEvents(ctx context.Context, events []event.Event) (int, error) {
	rows, err := rollup.Prepare(events)
	if err != nil || len(rows) == 0 {
		return 0, wrap("insert events", err)
	}
	byID := make(map[string]*event.Event, len(rows))
	for _, r := range rows {
		byID[r.ID] = r.Event
	}
	var inserted int
	args := make([]any, 0, 11*insertChunk)
	err = s.write(ctx, func(tx *sql.Tx) error {
		fresh := make([]event.Event, 0, len(rows))
		for start := 0; start < len(rows); start += insertChunk {
			chunk := rows[start:min(start+insertChunk, len(rows))]
			args = args[:0]
			for _, r := range chunk {
				args = append(args, r.ID, micro(r.Event.Time), r.Type, r.Decky, r.Service, r.SrcIP,
					r.Session, r.Topology, r.Host, r.Severity, r.Doc)
			}
			var res *sql.Rows
			var err error
			if len(chunk) == insertChunk {
				res, err = tx.StmtContext(ctx, s.insert).QueryContext(ctx, args...)
			} else {
				res, err = tx.QueryContext(ctx, insertSQL(len(chunk)), args...)
			}
			if err != nil {
				return err
			}
			for res.Next() {
				var id string
				if err := res.Scan(&id); err != nil {
					res.Close()
					return err
				}
				fresh = append(fresh, *byID[id])
			}
			if err := res.Close(); err != nil {
				return err
			}
			if err := res.Err(); err != nil {
				return err
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

// Aggregate upserts, each a multi-row statement whose VALUES rows are
// appended: counters add, first/last seen widen, sets gain members; the
// first non-empty crack line is kept.
var (
	upAttackers = upsert{`INSERT INTO attackers (ip, first_seen, last_seen, events, credentials, commands) VALUES `, 6,
		` ON CONFLICT (ip) DO UPDATE SET
			first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
			events = events + excluded.events, credentials = credentials + excluded.credentials,
			commands = commands + excluded.commands`}
	addAttackerDeckies = upsert{`INSERT INTO attacker_deckies (ip, decky) VALUES `, 2, ` ON CONFLICT DO NOTHING`}
	upCredentials      = upsert{`INSERT INTO credentials (key, kind, principal, secret_sha256, secret_b64, crack_line, count, first_seen, last_seen) VALUES `, 9,
		` ON CONFLICT (key) DO UPDATE SET
			crack_line = CASE WHEN crack_line = '' THEN excluded.crack_line ELSE crack_line END,
			count = count + excluded.count,
			first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`}
	addCredentialDeckies = upsert{`INSERT INTO credential_deckies (key, decky) VALUES `, 2, ` ON CONFLICT DO NOTHING`}
	addCredentialSources = upsert{`INSERT INTO credential_sources (key, ip) VALUES `, 2, ` ON CONFLICT DO NOTHING`}
)

// upsert is a multi-row INSERT: head, then one VALUES row of cols
// parameters per row, then tail.
type upsert struct {
	head string
	cols int
	tail string
}

// maxParams keeps a statement under SQLite's parameter limit (32,766).
const maxParams = 8192

// exec runs the upsert over args (cols values per row), in statements of
// at most maxParams parameters.
func (u upsert) exec(ctx context.Context, tx *sql.Tx, args []any) error {
	per := maxParams / u.cols * u.cols
	for len(args) > 0 {
		n := min(len(args), per)
		var b strings.Builder
		b.WriteString(u.head)
		row := "(?" + strings.Repeat(",?", u.cols-1) + ")"
		for i := 0; i < n/u.cols; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
		b.WriteString(u.tail)
		if _, err := tx.ExecContext(ctx, b.String(), args[:n]...); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}

func (s *Store) addAggregates(ctx context.Context, tx *sql.Tx, fresh []event.Event) error {
	attackers, creds := rollup.Of(fresh)
	var atk, atkDeckies, cred, credDeckies, credSources []any
	for _, a := range attackers {
		atk = append(atk, a.IP, micro(a.First), micro(a.Last), a.Events, a.Credentials, a.Commands)
		for _, d := range a.Deckies {
			atkDeckies = append(atkDeckies, a.IP, d)
		}
	}
	for _, c := range creds {
		cred = append(cred, c.Key, c.Kind, c.Principal, c.SecretSHA, c.SecretB64, c.CrackLine, c.Count, micro(c.First), micro(c.Last))
		for _, d := range c.Deckies {
			credDeckies = append(credDeckies, c.Key, d)
		}
		for _, ip := range c.Sources {
			credSources = append(credSources, c.Key, ip)
		}
	}
	// Parents before the rows that reference them.
	for _, st := range []struct {
		what string
		u    upsert
		args []any
	}{
		{"attackers", upAttackers, atk}, {"attacker deckies", addAttackerDeckies, atkDeckies},
		{"credentials", upCredentials, cred}, {"credential deckies", addCredentialDeckies, credDeckies},
		{"credential sources", addCredentialSources, credSources},
	} {
		if err := st.u.exec(ctx, tx, st.args); err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
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
		if err := event.Decode(doc, &e); err != nil {
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
