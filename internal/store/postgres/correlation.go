package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/query"
)

// ApplyCorrelation implements store.Store: one transaction, retried on a
// deadlock or serialization failure.
func (s *Store) ApplyCorrelation(ctx context.Context, b *store.CorrelationBatch) error {
	if b.Empty() {
		return nil
	}
	var batch pgx.Batch
	for _, in := range b.Indicators {
		batch.Queue(`INSERT INTO intel_indicators (kind, value, src_ip, detail, campaign, first_seen, event_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			in.Kind, in.Value, in.SrcIP, in.Detail, in.Campaign, ts(in.FirstSeen), in.EventID)
	}
	for _, l := range b.Links {
		reasons, err := json.Marshal(l.Reasons)
		if err != nil {
			return wrap("apply correlation", err)
		}
		batch.Queue(`INSERT INTO intel_links (a, b, campaign, reasons, ts, event_id) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT DO NOTHING`, l.A, l.B, l.Campaign, string(reasons), ts(l.Time), l.EventID)
	}
	for _, m := range b.Members {
		batch.Queue(`INSERT INTO intel_members (src_ip, identity, campaign) VALUES ($1, $2, $3)
			ON CONFLICT (src_ip) DO UPDATE SET identity = excluded.identity, campaign = excluded.campaign`,
			m.SrcIP, m.Identity, m.Campaign)
	}
	for _, q := range b.Sequences {
		items, err := json.Marshal(q.Items)
		if err != nil {
			return wrap("apply correlation", err)
		}
		batch.Queue(`INSERT INTO intel_sequences (key, items, done) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET items = excluded.items, done = excluded.done`, q.Key, string(items), q.Done)
	}
	for _, c := range b.Sightings {
		batch.Queue(`INSERT INTO credential_sightings (key, decky, src_ip, ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			c.Key, c.Decky, c.SrcIP, ts(c.Time))
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			return tx.SendBatch(ctx, &batch).Close()
		})
		if err == nil || !retryable(err) || attempt == 4 {
			break
		}
	}
	return wrap("apply correlation", err)
}

// LoadCorrelation implements store.Store.
func (s *Store) LoadCorrelation(ctx context.Context) (*store.CorrelationState, error) {
	st := &store.CorrelationState{}
	var err error
	if st.Indicators, err = s.indicators(ctx, `SELECT kind, value, src_ip, detail, campaign, first_seen, event_id
		FROM intel_indicators ORDER BY first_seen, event_id COLLATE "C", kind COLLATE "C", value COLLATE "C"`); err != nil {
		return nil, wrap("load correlation", err)
	}
	if st.Links, err = s.links(ctx, `SELECT a, b, campaign, reasons, ts, event_id FROM intel_links ORDER BY ts, a COLLATE "C", b COLLATE "C"`); err != nil {
		return nil, wrap("load correlation", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT key, items, done FROM intel_sequences ORDER BY key COLLATE "C"`)
	if err != nil {
		return nil, wrap("load correlation", err)
	}
	st.Sequences, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Sequence, error) {
		var q store.Sequence
		var items []byte
		if err := r.Scan(&q.Key, &items, &q.Done); err != nil {
			return q, err
		}
		return q, json.Unmarshal(items, &q.Items)
	})
	if err != nil {
		return nil, wrap("load correlation", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT key, decky, src_ip, ts FROM credential_sightings ORDER BY ts, key COLLATE "C", decky COLLATE "C"`)
	if err != nil {
		return nil, wrap("load correlation", err)
	}
	st.Sightings, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.CredentialSighting, error) {
		var c store.CredentialSighting
		err := r.Scan(&c.Key, &c.Decky, &c.SrcIP, &c.Time)
		c.Time = c.Time.UTC()
		return c, err
	})
	return st, wrap("load correlation", err)
}

func (s *Store) indicators(ctx context.Context, q string, args ...any) ([]store.Indicator, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Indicator, error) {
		var in store.Indicator
		err := r.Scan(&in.Kind, &in.Value, &in.SrcIP, &in.Detail, &in.Campaign, &in.FirstSeen, &in.EventID)
		in.FirstSeen = in.FirstSeen.UTC()
		return in, err
	})
	if out == nil {
		out = []store.Indicator{}
	}
	return out, err
}

func (s *Store) links(ctx context.Context, q string, args ...any) ([]store.Link, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Link, error) {
		var l store.Link
		var reasons []byte
		if err := r.Scan(&l.A, &l.B, &l.Campaign, &reasons, &l.Time, &l.EventID); err != nil {
			return l, err
		}
		l.Time = l.Time.UTC()
		return l, json.Unmarshal(reasons, &l.Reasons)
	})
	if out == nil {
		out = []store.Link{}
	}
	return out, err
}

// ClearCorrelation implements store.Store.
func (s *Store) ClearCorrelation(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `TRUNCATE intel_indicators, intel_links, intel_members, intel_sequences, credential_sightings`)
	return wrap("clear correlation", err)
}

// groups lists identities or campaigns (col) with their sources.
func (s *Store) groups(ctx context.Context, col, having, where string, limit int, args ...any) ([]query.Group, error) {
	args = append(args, query.Limit(limit))
	rows, err := s.pool.Query(ctx, `SELECT m.`+col+`, `+query.GroupCampaign(col)+`, array_agg(m.src_ip), array_agg(DISTINCT m.identity),
		min(a.first_seen), max(a.last_seen), coalesce(sum(a.events), 0)::bigint
		FROM intel_members m LEFT JOIN attackers a ON a.ip = m.src_ip `+where+`
		GROUP BY m.`+col+` HAVING `+having+` ORDER BY max(a.last_seen) DESC NULLS LAST, m.`+col+` COLLATE "C"
		LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (query.Group, error) {
		var g query.Group
		var first, last *time.Time
		err := r.Scan(&g.ID, &g.Campaign, &g.Sources, &g.Identities, &first, &last, &g.Events)
		if first != nil {
			g.FirstSeen, g.LastSeen = first.UTC(), last.UTC()
		}
		return g, err
	})
}

func (s *Store) groupLinks(ctx context.Context, sources []string, campaigns bool) ([]store.Link, error) {
	return s.links(ctx, `SELECT a, b, campaign, reasons, ts, event_id FROM intel_links
		WHERE a = ANY($1) AND (campaign = false OR $2) ORDER BY ts, a COLLATE "C", b COLLATE "C"`, sources, campaigns)
}

func (s *Store) groupIndicators(ctx context.Context, sources []string, campaignOnly bool) ([]store.Indicator, error) {
	return s.indicators(ctx, `SELECT kind, value, src_ip, detail, campaign, first_seen, event_id FROM intel_indicators
		WHERE src_ip = ANY($1) AND (campaign OR NOT $2)
		ORDER BY first_seen, kind COLLATE "C", value COLLATE "C", src_ip COLLATE "C" LIMIT 1000`, sources, campaignOnly)
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
		return g.s.groups(ctx, col, "count(*) >= 1", "WHERE m."+col+" = $1", limit, id)
	}
	return g.s.groups(ctx, col, query.GroupHaving(col, min), "", limit)
}

func (g groupReader) GroupLinks(ctx context.Context, sources []string, campaigns bool) ([]store.Link, error) {
	return g.s.groupLinks(ctx, sources, campaigns)
}

func (g groupReader) GroupIndicators(ctx context.Context, sources []string, campaignOnly bool) ([]store.Indicator, error) {
	return g.s.groupIndicators(ctx, sources, campaignOnly)
}
