package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/query"
	"github.com/decnet/decnet/internal/store/internal/rollup"
)

var dialect = query.Dialect{
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	Time:        func(t time.Time) any { return ts(t) },
	Like:        "ILIKE",
}

// eventColumns are the events table's columns, in the order InsertEvents
// copies them.
var eventColumns = []string{"id", "ts", "type", "decky", "service", "src_ip", "session_id", "topology_id", "host", "severity", "doc"}

// InsertEvents implements store.Store: in one transaction the batch is
// copied (COPY, the bulk protocol) into a temporary staging table, then
// moved into events by one statement that skips ids already stored and
// returns the ids it did store; the aggregates then grow by those events
// only, so a replayed batch changes nothing. Rows are moved in key order,
// so concurrent masters inserting overlapping batches do not deadlock; a
// deadlock or serialization failure is retried anyway.
func (s *Store) InsertEvents(ctx context.Context, events []event.Event) (int, error) {
	rows, err := rollup.Prepare(events)
	if err != nil || len(rows) == 0 {
		return 0, wrap("insert events", err)
	}
	byID := make(map[string]*event.Event, len(rows))
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{r.ID, ts(r.Event.Time), r.Type, r.Decky, r.Service, r.SrcIP, r.Session, r.Topology, r.Host, int32(r.Severity), r.Doc}
		byID[r.ID] = r.Event
	}
	var inserted int
	for attempt := 0; ; attempt++ {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// Private to the session and emptied at every commit, so
			// pooled connections each keep their own.
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS events_staging
				(LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events_staging"}, eventColumns, pgx.CopyFromRows(values)); err != nil {
				return err
			}
			res, err := tx.Query(ctx, `INSERT INTO events (id, ts, type, decky, service, src_ip, session_id, topology_id, host, severity, doc)
				SELECT id, ts, type, decky, service, src_ip, session_id, topology_id, host, severity, doc
				FROM events_staging ORDER BY id
				ON CONFLICT (id) DO NOTHING RETURNING id`)
			if err != nil {
				return err
			}
			newIDs, err := pgx.CollectRows(res, pgx.RowTo[string])
			if err != nil {
				return err
			}
			fresh := make([]event.Event, 0, len(newIDs))
			for _, id := range newIDs {
				fresh = append(fresh, *byID[id])
			}
			inserted = len(fresh)
			return addAggregates(ctx, tx, fresh)
		})
		if err == nil || !retryable(err) || attempt == 4 {
			break
		}
	}
	if err != nil {
		return 0, wrap("insert events", err)
	}
	return inserted, nil
}

func addAggregates(ctx context.Context, tx pgx.Tx, fresh []event.Event) error {
	attackers, creds := rollup.Of(fresh)
	if len(attackers) == 0 && len(creds) == 0 {
		return nil
	}
	var (
		aIP                []string
		aFirst, aLast      []time.Time
		aEv, aCred, aCmd   []int64
		adIP, adDecky      []string
		cKey, cKind, cPrin []string
		cSHA, cB64, cCrack []string
		cCount             []int64
		cFirst, cLast      []time.Time
		cdKey, cdDecky     []string
		csKey, csIP        []string
	)
	for _, a := range attackers {
		aIP, aFirst, aLast = append(aIP, a.IP), append(aFirst, ts(a.First)), append(aLast, ts(a.Last))
		aEv, aCred, aCmd = append(aEv, a.Events), append(aCred, a.Credentials), append(aCmd, a.Commands)
		for _, d := range a.Deckies {
			adIP, adDecky = append(adIP, a.IP), append(adDecky, d)
		}
	}
	for _, c := range creds {
		cKey, cKind, cPrin, cSHA, cB64, cCrack = append(cKey, c.Key), append(cKind, c.Kind), append(cPrin, c.Principal),
			append(cSHA, c.SecretSHA), append(cB64, c.SecretB64), append(cCrack, c.CrackLine)
		cCount, cFirst, cLast = append(cCount, c.Count), append(cFirst, ts(c.First)), append(cLast, ts(c.Last))
		for _, d := range c.Deckies {
			cdKey, cdDecky = append(cdKey, c.Key), append(cdDecky, d)
		}
		for _, ip := range c.Sources {
			csKey, csIP = append(csKey, c.Key), append(csIP, ip)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO attackers AS a (ip, first_seen, last_seen, events, credentials, commands)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[])
		ON CONFLICT (ip) DO UPDATE SET first_seen = LEAST(a.first_seen, excluded.first_seen),
			last_seen = GREATEST(a.last_seen, excluded.last_seen), events = a.events + excluded.events,
			credentials = a.credentials + excluded.credentials, commands = a.commands + excluded.commands`,
		aIP, aFirst, aLast, aEv, aCred, aCmd)
	b.Queue(`INSERT INTO attacker_deckies (ip, decky) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
		adIP, adDecky)
	b.Queue(`INSERT INTO credentials AS c (key, kind, principal, secret_sha256, secret_b64, crack_line, count, first_seen, last_seen)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
			$8::timestamptz[], $9::timestamptz[])
		ON CONFLICT (key) DO UPDATE SET crack_line = CASE WHEN c.crack_line = '' THEN excluded.crack_line ELSE c.crack_line END,
			count = c.count + excluded.count, first_seen = LEAST(c.first_seen, excluded.first_seen),
			last_seen = GREATEST(c.last_seen, excluded.last_seen)`,
		cKey, cKind, cPrin, cSHA, cB64, cCrack, cCount, cFirst, cLast)
	b.Queue(`INSERT INTO credential_deckies (key, decky) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
		cdKey, cdDecky)
	b.Queue(`INSERT INTO credential_sources (key, ip) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
		csKey, csIP)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("aggregates: %w", err)
	}
	return nil
}

// ListEvents implements store.Store: newest first (by id), see
// query.Where for the filter.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]event.Event, error) {
	where, args := query.Where(f, dialect)
	// The limit is written into the statement (a bounded integer): as a
	// parameter, the generic plan PostgreSQL switches to after a few
	// executions of the prepared statement does not know it is small, and
	// can sort the whole table instead of walking the id index.
	rows, err := s.pool.Query(ctx, `SELECT doc FROM events`+where+query.Order(f)+` LIMIT `+strconv.Itoa(query.Limit(f.Limit)), args...)
	if err != nil {
		return nil, wrap("list events", err)
	}
	defer rows.Close()
	out := []event.Event{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, wrap("list events", err)
		}
		var e event.Event
		if err := event.Decode([]byte(doc), &e); err != nil {
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
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events`+where, args...).Scan(&n)
	return n, wrap("count events", err)
}

// deleteChunk bounds how many rows one retention statement locks.
const deleteChunk = 5000

// DeleteEventsBefore implements store.Store: events with ts < t go, in
// chunks; the aggregates keep counting them.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for _, d := range []struct{ what, sql string }{
		{"events", `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < $1 LIMIT $2)`},
		{"event tags", `DELETE FROM event_tags WHERE (event_id, technique) IN
			(SELECT event_id, technique FROM event_tags WHERE ts < $1 LIMIT $2)`},
		// The matches of alert rules go with their events (the alerts stay).
		{"alert matches", `DELETE FROM alert_matches WHERE (rule_id, event_id) IN
			(SELECT rule_id, event_id FROM alert_matches WHERE ts < $1 LIMIT $2)`},
	} {
		for {
			tag, err := s.pool.Exec(ctx, d.sql, ts(t), deleteChunk)
			if err != nil {
				return total, wrap("delete "+d.what, err)
			}
			if d.what == "events" {
				total += tag.RowsAffected()
			}
			if tag.RowsAffected() < deleteChunk {
				break
			}
		}
	}
	return total, nil
}

// ListCredentials implements store.Store: most recently seen first.
func (s *Store) ListCredentials(ctx context.Context, f store.CredentialFilter) ([]store.Credential, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, principal, secret_sha256, secret_b64, crack_line, count, first_seen, last_seen,
		ARRAY(SELECT decky FROM credential_deckies d WHERE d.key = c.key ORDER BY decky COLLATE "C"),
		ARRAY(SELECT ip FROM credential_sources r WHERE r.key = c.key ORDER BY ip COLLATE "C")
		FROM credentials c WHERE ($1::int <= 1 OR (SELECT count(*) FROM credential_deckies d WHERE d.key = c.key) >= $1::int)
		ORDER BY last_seen DESC, key LIMIT `+strconv.Itoa(query.Limit(f.Limit)), f.MinDeckies)
	if err != nil {
		return nil, wrap("list credentials", err)
	}
	defer rows.Close()
	out := []store.Credential{}
	for rows.Next() {
		var c store.Credential
		if err := rows.Scan(&c.Kind, &c.Principal, &c.SecretSHA, &c.SecretB64, &c.CrackLine, &c.Count, &c.FirstSeen, &c.LastSeen,
			&c.Deckies, &c.Sources); err != nil {
			return nil, wrap("list credentials", err)
		}
		c.FirstSeen, c.LastSeen = c.FirstSeen.UTC(), c.LastSeen.UTC()
		if c.Deckies == nil {
			c.Deckies = []string{}
		}
		if c.Sources == nil {
			c.Sources = []string{}
		}
		out = append(out, c)
	}
	return out, wrap("list credentials", rows.Err())
}
