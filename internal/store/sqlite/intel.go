package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/query"
	"github.com/decnet/decnet/internal/store/internal/rollup"
)

var upIntel = upsert{`INSERT INTO attacker_intel (ip, country, country_name, city, asn, as_org, ptr, updated_at) VALUES `, 8,
	` ON CONFLICT (ip) DO UPDATE SET country = excluded.country, country_name = excluded.country_name, city = excluded.city,
		asn = excluded.asn, as_org = excluded.as_org, ptr = excluded.ptr, updated_at = excluded.updated_at`}

// SetAttackerIntel implements store.Store in multi-row statements.
func (s *Store) SetAttackerIntel(ctx context.Context, intel map[string]store.AttackerIntel) error {
	if len(intel) == 0 {
		return nil
	}
	args := make([]any, 0, 8*len(intel))
	for _, ip := range slices.Sorted(maps.Keys(intel)) {
		in := intel[ip]
		args = append(args, ip, in.Country, in.CountryName, in.City, int64(in.ASN), in.ASOrg, in.PTR, micro(in.UpdatedAt))
	}
	return wrap("set attacker intel", s.write(ctx, func(tx *sql.Tx) error { return upIntel.exec(ctx, tx, args) }))
}

// upTechniques grows the attackers' technique counts by new tags.
var upTechniques = upsert{`INSERT INTO attacker_techniques (ip, technique, events, first_seen, last_seen) VALUES `, 5,
	` ON CONFLICT (ip, technique) DO UPDATE SET events = events + excluded.events,
		first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`}

// AddEventTags implements store.Store: in one transaction the tags are
// inserted unless their (event, technique) is stored, in multi-row
// statements that return the new ones, and the attackers' technique
// counts grow by those only.
func (s *Store) AddEventTags(ctx context.Context, tags []store.EventTag) (int, error) {
	if len(tags) == 0 {
		return 0, nil
	}
	type key struct{ id, technique string }
	byKey := make(map[key]store.EventTag, len(tags))
	for _, g := range tags {
		byKey[key{g.EventID, g.Technique}] = g
	}
	var inserted int
	err := s.write(ctx, func(tx *sql.Tx) error {
		var fresh []store.EventTag
		const perStmt = maxParams / 5
		for start := 0; start < len(tags); start += perStmt {
			chunk := tags[start:min(start+perStmt, len(tags))]
			args := make([]any, 0, 5*len(chunk))
			for _, g := range chunk {
				args = append(args, g.EventID, g.Technique, g.Rule, g.SrcIP, micro(g.Time))
			}
			q := `INSERT INTO event_tags (event_id, technique, rule_id, src_ip, ts) VALUES (?,?,?,?,?)` +
				strings.Repeat(",(?,?,?,?,?)", len(chunk)-1) + ` ON CONFLICT DO NOTHING RETURNING event_id, technique`
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k key
				if err := rows.Scan(&k.id, &k.technique); err != nil {
					rows.Close()
					return err
				}
				fresh = append(fresh, byKey[k])
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		inserted = len(fresh)
		var args []any
		for _, c := range rollup.Techniques(fresh) {
			args = append(args, c.IP, c.Technique, c.Events, micro(c.First), micro(c.Last))
		}
		return upTechniques.exec(ctx, tx, args)
	})
	if err != nil {
		return 0, wrap("add event tags", err)
	}
	return inserted, nil
}

// EventTags implements store.Store.
func (s *Store) EventTags(ctx context.Context, ids []string) (map[string][]store.EventTag, error) {
	out := map[string][]store.EventTag{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.r.QueryContext(ctx, `SELECT event_id, technique, rule_id, src_ip, ts FROM event_tags
			WHERE event_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) ORDER BY event_id, technique`, args...)
		if err != nil {
			return nil, wrap("event tags", err)
		}
		for rows.Next() {
			var g store.EventTag
			var ts int64
			if err := rows.Scan(&g.EventID, &g.Technique, &g.Rule, &g.SrcIP, &ts); err != nil {
				rows.Close()
				return nil, wrap("event tags", err)
			}
			g.Time = fromMicro(ts)
			out[g.EventID] = append(out[g.EventID], g)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, wrap("event tags", err)
		}
	}
	return out, nil
}

// TechniqueCounts implements store.Store.
func (s *Store) TechniqueCounts(ctx context.Context, since, until time.Time) ([]store.TechniqueCount, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !since.IsZero() {
		lo = micro(since)
	}
	if !until.IsZero() {
		hi = micro(until)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT technique, count(*), min(ts), max(ts) FROM event_tags
		WHERE ts >= ? AND ts < ? GROUP BY technique ORDER BY technique`, lo, hi)
	if err != nil {
		return nil, wrap("technique counts", err)
	}
	defer rows.Close()
	out := []store.TechniqueCount{}
	for rows.Next() {
		var c store.TechniqueCount
		var first, last int64
		if err := rows.Scan(&c.ID, &c.Events, &first, &last); err != nil {
			return nil, wrap("technique counts", err)
		}
		c.FirstSeen, c.LastSeen = fromMicro(first), fromMicro(last)
		out = append(out, c)
	}
	return out, wrap("technique counts", rows.Err())
}

// ClearEventTags implements store.Store.
func (s *Store) ClearEventTags(ctx context.Context) error {
	return wrap("clear event tags", s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_tags`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM attacker_techniques`)
		return err
	}))
}

var attackerSelect = `SELECT a.ip, a.first_seen, a.last_seen, a.events, a.credentials, a.commands,
	(SELECT json_group_array(decky) FROM (SELECT decky FROM attacker_deckies d WHERE d.ip = a.ip ORDER BY decky)),
	(SELECT json_group_array(json_object('id', technique, 'events', events, 'first', first_seen, 'last', last_seen))
		FROM (SELECT * FROM attacker_techniques t WHERE t.ip = a.ip ORDER BY technique)),
	i.country, i.country_name, i.city, i.asn, i.as_org, i.ptr, i.updated_at,
	` + query.AttackerGroups + `, ` + query.AttackerScore("min") + ` AS score` + query.AttackerFrom

func scanAttacker(row interface{ Scan(...any) error }) (*store.Attacker, error) {
	var a store.Attacker
	var first, last int64
	var deckies, techniques string
	var country, countryName, city, asOrg, ptr sql.NullString
	var asn, updated sql.NullInt64
	if err := row.Scan(&a.IP, &first, &last, &a.Events, &a.Credentials, &a.Commands, &deckies, &techniques,
		&country, &countryName, &city, &asn, &asOrg, &ptr, &updated,
		&a.Identity, &a.Campaign, &a.Score); err != nil {
		return nil, err
	}
	a.FirstSeen, a.LastSeen = fromMicro(first), fromMicro(last)
	if err := json.Unmarshal([]byte(deckies), &a.Deckies); err != nil {
		return nil, err
	}
	var ts []struct {
		ID                  string
		Events, First, Last int64
	}
	if err := json.Unmarshal([]byte(techniques), &ts); err != nil {
		return nil, err
	}
	a.Techniques = make([]store.TechniqueCount, len(ts))
	for i, t := range ts {
		a.Techniques[i] = store.TechniqueCount{ID: t.ID, Events: t.Events, FirstSeen: fromMicro(t.First), LastSeen: fromMicro(t.Last)}
	}
	if updated.Valid {
		a.Intel = &store.AttackerIntel{Country: country.String, CountryName: countryName.String, City: city.String,
			ASN: uint32(asn.Int64), ASOrg: asOrg.String, PTR: ptr.String, UpdatedAt: fromMicro(updated.Int64)}
	}
	return &a, nil
}

// ListAttackers implements store.Store: most recently seen first.
func (s *Store) ListAttackers(ctx context.Context, f store.AttackerFilter) ([]store.Attacker, error) {
	where, args := query.AttackerWhere(f, dialect)
	rows, err := s.r.QueryContext(ctx, attackerSelect+where+query.AttackerOrder(f, "a.ip")+` LIMIT ?`,
		append(args, query.Limit(f.Limit))...)
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
	a, err := scanAttacker(s.r.QueryRowContext(ctx, attackerSelect+` WHERE a.ip = ?`, ip))
	return a, wrap("attacker "+ip, notFound(err))
}
