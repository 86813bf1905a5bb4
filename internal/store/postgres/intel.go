package postgres

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/query"
	"github.com/decnet/decnet/internal/store/internal/rollup"
)

// SetAttackerIntel implements store.Store: one batch in one transaction,
// rows in address order (concurrent writers lock in the same order).
func (s *Store) SetAttackerIntel(ctx context.Context, intel map[string]store.AttackerIntel) error {
	if len(intel) == 0 {
		return nil
	}
	var batch pgx.Batch
	for _, ip := range slices.Sorted(maps.Keys(intel)) {
		in := intel[ip]
		batch.Queue(`INSERT INTO attacker_intel (ip, country, country_name, city, asn, as_org, ptr, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (ip) DO UPDATE SET
			country = excluded.country, country_name = excluded.country_name, city = excluded.city,
			asn = excluded.asn, as_org = excluded.as_org, ptr = excluded.ptr, updated_at = excluded.updated_at`,
			ip, in.Country, in.CountryName, in.City, int64(in.ASN), in.ASOrg, in.PTR, ts(in.UpdatedAt))
	}
	return wrap("set attacker intel", pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, &batch).Close() }))
}

// AddEventTags implements store.Store: in one transaction each tag is
// inserted unless its (event, technique) is stored, and the attackers'
// technique counts grow by the new ones only. A deadlock or
// serialization failure is retried.
func (s *Store) AddEventTags(ctx context.Context, tags []store.EventTag) (int, error) {
	if len(tags) == 0 {
		return 0, nil
	}
	// One statement for the batch, rows in key order (concurrent writers
	// lock in the same order).
	sorted := slices.Clone(tags)
	slices.SortFunc(sorted, func(a, b store.EventTag) int {
		return cmp.Or(strings.Compare(a.EventID, b.EventID), strings.Compare(a.Technique, b.Technique))
	})
	n := len(sorted)
	ids, techs, rules, srcs, times := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	byKey := make(map[tagKey]store.EventTag, n)
	for i, g := range sorted {
		ids[i], techs[i], rules[i], srcs[i], times[i] = g.EventID, g.Technique, g.Rule, g.SrcIP, ts(g.Time)
		byKey[tagKey{g.EventID, g.Technique}] = g
	}
	var inserted int
	var err error
	for attempt := 0; ; attempt++ {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			inserted = 0
			res, err := tx.Query(ctx, `INSERT INTO event_tags (event_id, technique, rule_id, src_ip, ts)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
				ON CONFLICT DO NOTHING RETURNING event_id, technique`, ids, techs, rules, srcs, times)
			if err != nil {
				return err
			}
			stored, err := pgx.CollectRows(res, pgx.RowToStructByPos[tagKey])
			if err != nil {
				return err
			}
			fresh := make([]store.EventTag, 0, len(stored))
			for _, k := range stored {
				fresh = append(fresh, byKey[k])
			}
			inserted = len(fresh)
			rs := rollup.Techniques(fresh)
			if len(rs) == 0 {
				return nil
			}
			ips, ts2, counts, firsts, lasts := make([]string, len(rs)), make([]string, len(rs)), make([]int64, len(rs)),
				make([]time.Time, len(rs)), make([]time.Time, len(rs))
			for i, c := range rs {
				ips[i], ts2[i], counts[i], firsts[i], lasts[i] = c.IP, c.Technique, c.Events, ts(c.First), ts(c.Last)
			}
			// One row per (ip, technique), in key order: one statement.
			if _, err := tx.Exec(ctx, `INSERT INTO attacker_techniques (ip, technique, events, first_seen, last_seen)
				SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[])
				ON CONFLICT (ip, technique) DO UPDATE SET
					events = attacker_techniques.events + excluded.events,
					first_seen = least(attacker_techniques.first_seen, excluded.first_seen),
					last_seen = greatest(attacker_techniques.last_seen, excluded.last_seen)`,
				ips, ts2, counts, firsts, lasts); err != nil {
				return fmt.Errorf("attacker techniques: %w", err)
			}
			return nil
		})
		if err == nil || !retryable(err) || attempt == 4 {
			break
		}
	}
	if err != nil {
		return 0, wrap("add event tags", err)
	}
	return inserted, nil
}

// tagKey is the unique key of a stored tag.
type tagKey struct{ EventID, Technique string }

// EventTags implements store.Store.
func (s *Store) EventTags(ctx context.Context, ids []string) (map[string][]store.EventTag, error) {
	out := map[string][]store.EventTag{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT event_id, technique, rule_id, src_ip, ts FROM event_tags
		WHERE event_id = ANY($1) ORDER BY event_id, technique COLLATE "C"`, ids)
	if err != nil {
		return nil, wrap("event tags", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g store.EventTag
		if err := rows.Scan(&g.EventID, &g.Technique, &g.Rule, &g.SrcIP, &g.Time); err != nil {
			return nil, wrap("event tags", err)
		}
		g.Time = g.Time.UTC()
		out[g.EventID] = append(out[g.EventID], g)
	}
	return out, wrap("event tags", rows.Err())
}

// TechniqueCounts implements store.Store.
func (s *Store) TechniqueCounts(ctx context.Context, since, until time.Time) ([]store.TechniqueCount, error) {
	var lo, hi *time.Time
	if !since.IsZero() {
		v := ts(since)
		lo = &v
	}
	if !until.IsZero() {
		v := ts(until)
		hi = &v
	}
	rows, err := s.pool.Query(ctx, `SELECT technique, count(*), min(ts), max(ts) FROM event_tags
		WHERE ($1::timestamptz IS NULL OR ts >= $1) AND ($2::timestamptz IS NULL OR ts < $2)
		GROUP BY technique ORDER BY technique COLLATE "C"`, lo, hi)
	if err != nil {
		return nil, wrap("technique counts", err)
	}
	defer rows.Close()
	out := []store.TechniqueCount{}
	for rows.Next() {
		var c store.TechniqueCount
		if err := rows.Scan(&c.ID, &c.Events, &c.FirstSeen, &c.LastSeen); err != nil {
			return nil, wrap("technique counts", err)
		}
		c.FirstSeen, c.LastSeen = c.FirstSeen.UTC(), c.LastSeen.UTC()
		out = append(out, c)
	}
	return out, wrap("technique counts", rows.Err())
}

// ClearEventTags implements store.Store.
func (s *Store) ClearEventTags(ctx context.Context) error {
	return wrap("clear event tags", pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM event_tags`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM attacker_techniques`)
		return err
	}))
}

var attackerSelect = `SELECT a.ip, a.first_seen, a.last_seen, a.events, a.credentials, a.commands,
	ARRAY(SELECT decky FROM attacker_deckies d WHERE d.ip = a.ip ORDER BY decky COLLATE "C"),
	ARRAY(SELECT technique FROM attacker_techniques t WHERE t.ip = a.ip ORDER BY technique COLLATE "C"),
	ARRAY(SELECT events FROM attacker_techniques t WHERE t.ip = a.ip ORDER BY technique COLLATE "C"),
	ARRAY(SELECT first_seen FROM attacker_techniques t WHERE t.ip = a.ip ORDER BY technique COLLATE "C"),
	ARRAY(SELECT last_seen FROM attacker_techniques t WHERE t.ip = a.ip ORDER BY technique COLLATE "C"),
	i.country, i.country_name, i.city, i.asn, i.as_org, i.ptr, i.updated_at,
	` + query.AttackerGroups + `, ` + query.AttackerScore("LEAST") + ` AS score` + query.AttackerFrom

func scanAttacker(row pgx.Row) (*store.Attacker, error) {
	var a store.Attacker
	var techs []string
	var counts []int64
	var firsts, lasts []time.Time
	var country, countryName, city, asOrg, ptr *string
	var asn *int64
	var updated *time.Time
	if err := row.Scan(&a.IP, &a.FirstSeen, &a.LastSeen, &a.Events, &a.Credentials, &a.Commands, &a.Deckies,
		&techs, &counts, &firsts, &lasts, &country, &countryName, &city, &asn, &asOrg, &ptr, &updated,
		&a.Identity, &a.Campaign, &a.Score); err != nil {
		return nil, err
	}
	a.FirstSeen, a.LastSeen = a.FirstSeen.UTC(), a.LastSeen.UTC()
	if a.Deckies == nil {
		a.Deckies = []string{}
	}
	a.Techniques = make([]store.TechniqueCount, len(techs))
	for i := range techs {
		a.Techniques[i] = store.TechniqueCount{ID: techs[i], Events: counts[i], FirstSeen: firsts[i].UTC(), LastSeen: lasts[i].UTC()}
	}
	if updated != nil {
		a.Intel = &store.AttackerIntel{Country: *country, CountryName: *countryName, City: *city, ASN: uint32(*asn),
			ASOrg: *asOrg, PTR: *ptr, UpdatedAt: updated.UTC()}
	}
	return &a, nil
}

// ListAttackers implements store.Store: most recently seen first.
func (s *Store) ListAttackers(ctx context.Context, f store.AttackerFilter) ([]store.Attacker, error) {
	where, args := query.AttackerWhere(f, dialect)
	// A literal limit, as in ListEvents: the generic plan must know it.
	rows, err := s.pool.Query(ctx, attackerSelect+where+query.AttackerOrder(f, `a.ip COLLATE "C"`)+fmt.Sprintf(` LIMIT %d`, query.Limit(f.Limit)), args...)
	if err != nil {
		return nil, wrap("list attackers", err)
	}
	defer rows.Close()
	out := []store.Attacker{}
	for rows.Next() {
		a, err := scanAttacker(rows)
		if err != nil {
			return nil, wrap("list attackers", err)
		}
		out = append(out, *a)
	}
	return out, wrap("list attackers", rows.Err())
}

// Attacker implements store.Store.
func (s *Store) Attacker(ctx context.Context, ip string) (*store.Attacker, error) {
	a, err := scanAttacker(s.pool.QueryRow(ctx, attackerSelect+` WHERE a.ip = $1`, ip))
	return a, wrap("attacker "+ip, notFound(err))
}
