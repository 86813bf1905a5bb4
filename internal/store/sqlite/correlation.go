package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/query"
)

// Correlation upserts, multi-row (a batch of events brings many rows).
var (
	addIndicators = upsert{`INSERT INTO intel_indicators (kind, value, src_ip, detail, campaign, first_seen, event_id) VALUES `, 7,
		` ON CONFLICT DO NOTHING`}
	addLinks   = upsert{`INSERT INTO intel_links (a, b, campaign, reasons, ts, event_id) VALUES `, 6, ` ON CONFLICT DO NOTHING`}
	setMembers = upsert{`INSERT INTO intel_members (src_ip, identity, campaign) VALUES `, 3,
		` ON CONFLICT (src_ip) DO UPDATE SET identity = excluded.identity, campaign = excluded.campaign`}
	setSequences = upsert{`INSERT INTO intel_sequences (key, items, done) VALUES `, 3,
		` ON CONFLICT (key) DO UPDATE SET items = excluded.items, done = excluded.done`}
	addSightings = upsert{`INSERT INTO credential_sightings (key, decky, src_ip, ts) VALUES `, 4, ` ON CONFLICT DO NOTHING`}
)

// ApplyCorrelation implements store.Store.
func (s *Store) ApplyCorrelation(ctx context.Context, b *store.CorrelationBatch) error {
	if b.Empty() {
		return nil
	}
	var ind, links, members, seqs, sights []any
	for _, in := range b.Indicators {
		ind = append(ind, in.Kind, in.Value, in.SrcIP, in.Detail, in.Campaign, micro(in.FirstSeen), in.EventID)
	}
	for _, l := range b.Links {
		reasons, err := json.Marshal(l.Reasons)
		if err != nil {
			return wrap("apply correlation", err)
		}
		links = append(links, l.A, l.B, l.Campaign, string(reasons), micro(l.Time), l.EventID)
	}
	for _, m := range b.Members {
		members = append(members, m.SrcIP, m.Identity, m.Campaign)
	}
	for _, q := range b.Sequences {
		items, err := json.Marshal(q.Items)
		if err != nil {
			return wrap("apply correlation", err)
		}
		seqs = append(seqs, q.Key, string(items), q.Done)
	}
	for _, c := range b.Sightings {
		sights = append(sights, c.Key, c.Decky, c.SrcIP, micro(c.Time))
	}
	return wrap("apply correlation", s.write(ctx, func(tx *sql.Tx) error {
		for _, w := range []struct {
			u    upsert
			args []any
		}{{addIndicators, ind}, {addLinks, links}, {setMembers, members}, {setSequences, seqs}, {addSightings, sights}} {
			if err := w.u.exec(ctx, tx, w.args); err != nil {
				return err
			}
		}
		return nil
	}))
}

// LoadCorrelation implements store.Store.
func (s *Store) LoadCorrelation(ctx context.Context) (*store.CorrelationState, error) {
	st := &store.CorrelationState{}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, value, src_ip, detail, campaign, first_seen, event_id
		FROM intel_indicators ORDER BY first_seen, event_id, kind, value`)
	if err != nil {
		return nil, wrap("load correlation", err)
	}
	for rows.Next() {
		var in store.Indicator
		var first int64
		if err := rows.Scan(&in.Kind, &in.Value, &in.SrcIP, &in.Detail, &in.Campaign, &first, &in.EventID); err != nil {
			rows.Close()
			return nil, wrap("load correlation", err)
		}
		in.FirstSeen = fromMicro(first)
		st.Indicators = append(st.Indicators, in)
	}
	rows.Close()
	if st.Links, err = s.links(ctx, `SELECT a, b, campaign, reasons, ts, event_id FROM intel_links ORDER BY ts, a, b`); err != nil {
		return nil, wrap("load correlation", err)
	}
	rows, err = s.r.QueryContext(ctx, `SELECT key, items, done FROM intel_sequences ORDER BY key`)
	if err != nil {
		return nil, wrap("load correlation", err)
	}
	for rows.Next() {
		var q store.Sequence
		var items string
		if err := rows.Scan(&q.Key, &items, &q.Done); err != nil {
			rows.Close()
			return nil, wrap("load correlation", err)
		}
		if err := json.Unmarshal([]byte(items), &q.Items); err != nil {
			rows.Close()
			return nil, wrap("load correlation", err)
		}
		st.Sequences = append(st.Sequences, q)
	}
	rows.Close()
	rows, err = s.r.QueryContext(ctx, `SELECT key, decky, src_ip, ts FROM credential_sightings ORDER BY ts, key, decky`)
	if err != nil {
		return nil, wrap("load correlation", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c store.CredentialSighting
		var t int64
		if err := rows.Scan(&c.Key, &c.Decky, &c.SrcIP, &t); err != nil {
			return nil, wrap("load correlation", err)
		}
		c.Time = fromMicro(t)
		st.Sightings = append(st.Sightings, c)
	}
	return st, wrap("load correlation", rows.Err())
}

func (s *Store) links(ctx context.Context, q string, args ...any) ([]store.Link, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Link{}
	for rows.Next() {
		var l store.Link
		var reasons string
		var t int64
		if err := rows.Scan(&l.A, &l.B, &l.Campaign, &reasons, &t, &l.EventID); err != nil {
			return nil, err
		}
		l.Time = fromMicro(t)
		if err := json.Unmarshal([]byte(reasons), &l.Reasons); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// ClearCorrelation implements store.Store.
func (s *Store) ClearCorrelation(ctx context.Context) error {
	return wrap("clear correlation", s.write(ctx, func(tx *sql.Tx) error {
		for _, t := range []string{"intel_indicators", "intel_links", "intel_members", "intel_sequences", "credential_sightings"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
				return err
			}
		}
		return nil
	}))
}

// groups lists identities or campaigns (col), with their sources, from
// the members and the attackers.
func (s *Store) groups(ctx context.Context, col, having, where string, limit int, args ...any) ([]query.Group, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.`+col+`, `+query.GroupCampaign(col)+`, json_group_array(m.src_ip), json_group_array(DISTINCT m.identity),
		coalesce(min(a.first_seen), 0), coalesce(max(a.last_seen), 0), coalesce(sum(a.events), 0)
		FROM intel_members m LEFT JOIN attackers a ON a.ip = m.src_ip `+where+`
		GROUP BY m.`+col+` HAVING `+having+` ORDER BY max(a.last_seen) DESC, m.`+col+` LIMIT ?`, append(args, query.Limit(limit))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []query.Group
	for rows.Next() {
		var g query.Group
		var srcs, ids string
		var first, last int64
		if err := rows.Scan(&g.ID, &g.Campaign, &srcs, &ids, &first, &last, &g.Events); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(srcs), &g.Sources); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(ids), &g.Identities); err != nil {
			return nil, err
		}
		g.FirstSeen, g.LastSeen = fromMicro(first), fromMicro(last)
		out = append(out, g)
	}
	return out, rows.Err()
}

// groupLinks returns the links among the given sources, and the kinds of
// their reasons.
func (s *Store) groupLinks(ctx context.Context, sources []string, campaigns bool) ([]store.Link, error) {
	if len(sources) == 0 {
		return []store.Link{}, nil
	}
	args := make([]any, 0, len(sources)+1)
	for _, ip := range sources {
		args = append(args, ip)
	}
	marks := "?" + strings.Repeat(", ?", len(sources)-1)
	q := `SELECT a, b, campaign, reasons, ts, event_id FROM intel_links WHERE a IN (` + marks + `)`
	if !campaigns {
		q += ` AND campaign = 0`
	}
	return s.links(ctx, q+` ORDER BY ts, a, b`, args...)
}

func (s *Store) groupIndicators(ctx context.Context, sources []string, campaignOnly bool) ([]store.Indicator, error) {
	out := []store.Indicator{}
	if len(sources) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(sources))
	for _, ip := range sources {
		args = append(args, ip)
	}
	q := `SELECT kind, value, src_ip, detail, campaign, first_seen, event_id FROM intel_indicators
		WHERE src_ip IN (?` + strings.Repeat(", ?", len(sources)-1) + `)`
	if campaignOnly {
		q += ` AND campaign = 1`
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY first_seen, kind, value, src_ip LIMIT 1000`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var in store.Indicator
		var first int64
		if err := rows.Scan(&in.Kind, &in.Value, &in.SrcIP, &in.Detail, &in.Campaign, &first, &in.EventID); err != nil {
			return nil, err
		}
		in.FirstSeen = fromMicro(first)
		out = append(out, in)
	}
	return out, rows.Err()
}

// ListIdentities implements store.Store.
func (s *Store) ListIdentities(ctx context.Context, limit int) ([]store.Identity, error) {
	out, err := query.ListIdentities(ctx, groupReader{s}, limit)
	return out, wrap("list identities", err)
}

// IdentityByID implements store.Store.
func (s *Store) IdentityByID(ctx context.Context, id string) (*store.IdentityDetail, error) {
	d, err := query.IdentityByID(ctx, groupReader{s}, id)
	return d, wrap("identity "+id, err)
}

// ListCampaigns implements store.Store.
func (s *Store) ListCampaigns(ctx context.Context, limit int) ([]store.Campaign, error) {
	out, err := query.ListCampaigns(ctx, groupReader{s}, limit)
	return out, wrap("list campaigns", err)
}

// CampaignByID implements store.Store.
func (s *Store) CampaignByID(ctx context.Context, id string) (*store.CampaignDetail, error) {
	d, err := query.CampaignByID(ctx, groupReader{s}, id)
	return d, wrap("campaign "+id, err)
}

// groupReader is the store as query.GroupReader.
type groupReader struct{ s *Store }

func (g groupReader) Groups(ctx context.Context, col, id string, min, limit int) ([]query.Group, error) {
	if id != "" {
		return g.s.groups(ctx, col, "count(*) >= 1", "WHERE m."+col+" = ?", limit, id)
	}
	return g.s.groups(ctx, col, query.GroupHaving(col, min), "", limit)
}

func (g groupReader) GroupLinks(ctx context.Context, sources []string, campaigns bool) ([]store.Link, error) {
	return g.s.groupLinks(ctx, sources, campaigns)
}

func (g groupReader) GroupIndicators(ctx context.Context, sources []string, campaignOnly bool) ([]store.Indicator, error) {
	return g.s.groupIndicators(ctx, sources, campaignOnly)
}
