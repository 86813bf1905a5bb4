package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// listCap bounds every list a page reads from the store.
const listCap = 1000

// pageSize is the number of events on one events page.
const pageSize = 100

// Ranges offered by the time filters, by their URL value.
var ranges = []struct {
	Value, Label string
	D            time.Duration
}{
	{"1h", "Last hour", time.Hour},
	{"6h", "Last 6 hours", 6 * time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour},
	{"90d", "Last 90 days", 90 * 24 * time.Hour},
}

type counter struct {
	Label, Value, Href string
}

type ranked struct {
	Name  string
	Count int64
	Pct   int64
	Href  string
}

type overviewView struct {
	Threat   alert.ThreatLevel
	Counters []counter
	Chart    *Chart
	Deckies  []ranked
	Top      []ranked
}

// overviewKey names one rendering of the overview: the figures and the
// caller's session.
type overviewKey struct {
	v    *overviewView
	user string
	csrf string
}

// overviewPage serves the overview. Its figures are the memo's, and the
// page rendered from them is kept per session until they change: under a
// flood, or with many operators, it costs neither queries nor rendering.
func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	v, err := s.overviewCache.get(r.Context(), s.loadOverview)
	if err != nil {
		s.fail(w, r, who, err)
		return
	}
	if s.overviewCache.ttl <= 0 {
		s.render(w, r, http.StatusOK, "overview", who, "Overview", v)
		return
	}
	key := overviewKey{v: v, user: who.Name, csrf: who.CSRFToken()}
	s.overviewMu.Lock()
	body, ok := s.overviewHTML[key]
	s.overviewMu.Unlock()
	if !ok {
		if body, err = s.renderBytes(r, "overview", who, "Overview", v); err != nil {
			s.log.Error("render page", "page", "overview", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.overviewMu.Lock()
		for k := range s.overviewHTML {
			if k.v != v || len(s.overviewHTML) >= maxOverviewPages {
				delete(s.overviewHTML, k) // older figures
			}
		}
		s.overviewHTML[key] = body
		s.overviewMu.Unlock()
	}
	writePage(w, http.StatusOK, body)
}

// maxOverviewPages bounds the rendered overviews kept (one per session).
const maxOverviewPages = 256

// loadOverview reads what the overview shows.
func (s *Server) loadOverview(ctx context.Context) (*overviewView, error) {
	now := s.now().UTC()
	since := now.Add(-24 * time.Hour).Truncate(time.Hour).Add(time.Hour)
	ch, err := histogram(ctx, s.st, store.EventFilter{}, since, since.Add(24*time.Hour), 24, func(from, to time.Time) string {
		return "/events?" + url.Values{"since": {from.Format(time.RFC3339)}, "until": {to.Format(time.RFC3339)}}.Encode()
	})
	if err != nil {
		return nil, err
	}
	ch.Label = "Interactions per hour over the last 24 hours"
	day, err := s.st.CountEvents(ctx, store.EventFilter{Since: now.Add(-24 * time.Hour)})
	if err != nil {
		return nil, err
	}
	attackers, err := s.st.ListAttackers(ctx, store.AttackerFilter{Limit: listCap})
	if err != nil {
		return nil, err
	}
	creds, err := s.st.ListCredentials(ctx, store.CredentialFilter{Limit: listCap})
	if err != nil {
		return nil, err
	}
	tops, err := s.st.ListTopologies(ctx)
	if err != nil {
		return nil, err
	}
	active := 0
	deckies := map[string]bool{}
	for _, t := range tops {
		spec, err := topology.DecodeBytes(t.Spec)
		if err != nil {
			continue
		}
		for _, d := range spec.Deckies {
			deckies[d.Name] = true
			if t.Status == store.Active || t.Status == store.Degraded {
				active++
			}
		}
	}
	for _, a := range attackers {
		for _, d := range a.Deckies {
			deckies[d] = true
		}
	}
	threat, err := s.threatLevel(ctx)
	if err != nil {
		return nil, err
	}
	v := overviewView{Threat: threat, Chart: ch, Counters: []counter{
		{"Interactions (24 h)", fmt.Sprint(day), "/events?range=24h"},
		{"Unique attackers", capped(len(attackers)), "/attackers"},
		{"Active deckies", fmt.Sprint(active), ""},
		{"Captured credentials", capped(len(creds)), "/credentials"},
	}}
	var dk []ranked
	for d := range deckies {
		if len(dk) >= 200 {
			break
		}
		n, err := s.st.CountEvents(ctx, store.EventFilter{Decky: d, Since: now.Add(-24 * time.Hour)})
		if err != nil {
			return nil, err
		}
		if n > 0 {
			dk = append(dk, ranked{Name: d, Count: n, Href: "/events?" + url.Values{"decky": {d}}.Encode()})
		}
	}
	v.Deckies = topRanked(dk, 8)
	var ta []ranked
	for _, a := range attackers {
		ta = append(ta, ranked{Name: a.IP, Count: a.Events, Href: "/attackers/" + url.PathEscape(a.IP)})
	}
	v.Top = topRanked(ta, 8)
	return &v, nil
}

func capped(n int) string {
	if n >= listCap {
		return fmt.Sprintf("%d+", listCap)
	}
	return fmt.Sprint(n)
}

func topRanked(rs []ranked, n int) []ranked {
	slices.SortFunc(rs, func(a, b ranked) int { return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Name, b.Name)) })
	rs = rs[:min(n, len(rs))]
	for i := range rs {
		rs[i].Pct = pct(rs[i].Count, rs[0].Count)
	}
	return rs
}

// eventQuery is the events page's filter as it stands in the URL.
type eventQuery struct {
	Type, Decky, Service, SrcIP, Q, Since, Until, Range string
	Tag, After                                          string
}

var (
	typeRE      = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)
	techniqueRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	idRE        = regexp.MustCompile(`^[0-9a-f-]{1,64}$`)
)

// parseTime accepts RFC 3339 and the browser's datetime-local value
// (taken as UTC).
func parseTime(name, v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s must be a time such as 2026-01-02T15:04:05Z", errBadRequest, name)
}

// filter reads the query into a store filter and the time range it
// covers.
func (s *Server) filter(q url.Values) (eventQuery, store.EventFilter, time.Time, time.Time, error) {
	eq := eventQuery{Type: q.Get("type"), Decky: q.Get("decky"), Service: q.Get("service"), SrcIP: q.Get("src_ip"),
		Q: q.Get("q"), Since: q.Get("since"), Until: q.Get("until"), Range: q.Get("range"), Tag: strings.ToUpper(q.Get("tag")), After: q.Get("after")}
	var f store.EventFilter
	bad := func(format string, a ...any) (eventQuery, store.EventFilter, time.Time, time.Time, error) {
		return eq, f, time.Time{}, time.Time{}, fmt.Errorf("%w: "+format, append([]any{errBadRequest}, a...)...)
	}
	for t := range strings.SplitSeq(eq.Type, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if len(t) > 128 || !typeRE.MatchString(t) {
			return bad("type %q is not an event type", t)
		}
		f.Types = append(f.Types, t)
	}
	if len(f.Types) > 64 {
		return bad("at most 64 types")
	}
	if len(eq.Decky) > 256 || len(eq.Service) > 256 || len(eq.Q) > 512 {
		return bad("a filter is too long")
	}
	f.Decky, f.Service, f.Text = eq.Decky, eq.Service, eq.Q
	if eq.Tag != "" && !techniqueRE.MatchString(eq.Tag) {
		return bad("tag %q is not an ATT&CK technique id such as T1110 or T1110.001", eq.Tag)
	}
	f.Tag = eq.Tag
	if eq.SrcIP != "" {
		ip, err := netip.ParseAddr(strings.TrimSpace(eq.SrcIP))
		if err != nil {
			return bad("source IP %q is not an IP address", eq.SrcIP)
		}
		f.SrcIP = ip.Unmap().String()
	}
	if eq.After != "" && !idRE.MatchString(eq.After) {
		return bad("malformed cursor")
	}
	f.After = eq.After
	now := s.now().UTC()
	until := now
	var since time.Time
	var err error
	if eq.Until != "" {
		if until, err = parseTime("until", eq.Until); err != nil {
			return eq, f, time.Time{}, time.Time{}, err
		}
	}
	if eq.Since != "" {
		if since, err = parseTime("since", eq.Since); err != nil {
			return eq, f, time.Time{}, time.Time{}, err
		}
		eq.Range = ""
	} else {
		if eq.Range == "" {
			eq.Range = "24h"
		}
		d := time.Duration(0)
		for _, r := range ranges {
			if r.Value == eq.Range {
				d = r.D
			}
		}
		if d == 0 {
			return bad("unknown range %q", eq.Range)
		}
		since = until.Add(-d)
	}
	if !since.Before(until) {
		return bad("since must be before until")
	}
	f.Since, f.Until = since, until
	return eq, f, since, until, nil
}

// values is the query in URL form, without the cursor.
func (q eventQuery) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"type": q.Type, "decky": q.Decky, "service": q.Service, "src_ip": q.SrcIP,
		"q": q.Q, "since": q.Since, "until": q.Until, "range": q.Range, "tag": q.Tag} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

type eventsView struct {
	Query      eventQuery
	Ranges     any
	Types      []string
	Chart      *Chart
	Events     []taggedEvent
	Total      int64
	Older      string
	Newest     string
	ExportJSON string
	ExportCSV  string
	From, To   time.Time
}

func (s *Server) events(r *http.Request, _ *api.Principal) (string, any, error) {
	ctx := r.Context()
	eq, f, since, until, err := s.filter(r.URL.Query())
	if err != nil {
		return "", nil, err
	}
	base := eq.values()
	ch, err := histogram(ctx, s.st, f, since, until, 48, func(from, to time.Time) string {
		v := eq.values()
		v.Del("range")
		v.Set("since", from.Format(time.RFC3339))
		v.Set("until", to.Format(time.RFC3339))
		return "/events?" + v.Encode()
	})
	if err != nil {
		return "", nil, err
	}
	ch.Label = fmt.Sprintf("Matching events from %s to %s", when(since), when(until))
	f.Limit = pageSize + 1
	es, err := s.st.ListEvents(ctx, f)
	if err != nil {
		return "", nil, err
	}
	v := eventsView{Query: eq, Ranges: ranges, Types: eventTypes(), Chart: ch, Total: ch.Total, From: since, To: until,
		ExportJSON: "/events/export.jsonl?" + base.Encode(), ExportCSV: "/events/export.csv?" + base.Encode()}
	if len(es) > pageSize {
		es = es[:pageSize]
		o := eq.values()
		o.Set("after", es[len(es)-1].ID)
		v.Older = "/events?" + o.Encode()
	}
	if eq.After != "" {
		v.Newest = "/events?" + base.Encode()
	}
	if v.Events, err = s.tagged(ctx, es); err != nil {
		return "", nil, err
	}
	return "Events", v, nil
}

// taggedEvent is an event row with its ATT&CK tags.
type taggedEvent struct {
	event.Event
	Tags []store.EventTag
}

// tagged pairs events with their stored tags.
func (s *Server) tagged(ctx context.Context, es []event.Event) ([]taggedEvent, error) {
	ids := make([]string, len(es))
	for i := range es {
		ids[i] = es[i].ID
	}
	tags, err := s.st.EventTags(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]taggedEvent, len(es))
	for i := range es {
		out[i] = taggedEvent{Event: es[i], Tags: tags[es[i].ID]}
	}
	return out, nil
}

// eventTypes is the catalogue of event types, sorted, for the filter's
// suggestions.
func eventTypes() []string {
	types := event.Types()
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = t.Name
	}
	return out
}

// attackersView is the attackers page: the search, the sort and the
// list.
type attackersView struct {
	Q, Sort, Tag, Country, Identity, Campaign string
	Sorts                                     []string
	Attackers                                 []store.Attacker
}

func (s *Server) attackers(r *http.Request, _ *api.Principal) (string, any, error) {
	q := r.URL.Query()
	for k, v := range q {
		if v[0] == "" {
			q.Del(k) // an empty field of the form is no filter
		}
	}
	f, err := api.ParseAttackerFilter(q)
	if err != nil {
		return "", nil, err
	}
	f.Limit = listCap
	as, err := s.st.ListAttackers(r.Context(), f)
	if err != nil {
		return "", nil, err
	}
	return "Attackers", attackersView{Q: f.Query, Sort: f.Sort, Tag: f.Tag, Country: f.Country, Identity: f.Identity,
		Campaign: f.Campaign, Sorts: store.AttackerSorts, Attackers: as}, nil
}

// session is one attacker session on the attacker page: its commands, and
// its terminal recording when one was saved.
type session struct {
	ID, Decky, Service string
	Start              time.Time
	Commands           []string
	Recording          *artifactRef
}

// artifactRef is a quarantined blob an event names.
type artifactRef struct {
	Event event.Event
	SHA   string
	Size  int64
	Name  string // what the attacker called it (text, shown escaped)
	// Stored: the master holds the bytes (they can be fetched).
	Stored bool
}

type attackerView struct {
	A           *store.Attacker
	Events      []taggedEvent
	Credentials []event.Event
	Sessions    []*session
	Files       []artifactRef
	// Path is the attacker's traversal: each decky it reached, in the
	// order of first contact (over the events listed).
	Path []*hop
	More string
}

// hop is one decky on an attacker's path.
type hop struct {
	Decky       string
	First, Last time.Time
	Events      int
	Services    []string
}

func (s *Server) attacker(r *http.Request, _ *api.Principal) (string, any, error) {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		return "", nil, fmt.Errorf("%w: %q is not an IP address", errBadRequest, r.PathValue("ip"))
	}
	ctx := r.Context()
	a, err := s.st.Attacker(ctx, ip.Unmap().String())
	if err != nil {
		return "", nil, err
	}
	es, err := s.st.ListEvents(ctx, store.EventFilter{SrcIP: a.IP, Limit: 500})
	if err != nil {
		return "", nil, err
	}
	v := attackerView{A: a}
	if v.Events, err = s.tagged(ctx, es); err != nil {
		return "", nil, err
	}
	if len(es) == 500 {
		v.More = "/events?" + url.Values{"src_ip": {a.IP}, "range": {"90d"}}.Encode()
	}
	byID := map[string]*session{}
	sessionOf := func(e event.Event) *session {
		key := e.Session
		if key == "" {
			key = e.Decky + "/" + e.Service
		}
		ss := byID[key]
		if ss == nil {
			ss = &session{ID: e.Session, Decky: e.Decky, Service: e.Service, Start: e.Time}
			byID[key] = ss
			v.Sessions = append(v.Sessions, ss)
		}
		return ss
	}
	hops := map[string]*hop{}
	for i := len(es) - 1; i >= 0; i-- { // oldest first
		e := es[i]
		if e.Credential != nil {
			v.Credentials = append(v.Credentials, e)
		}
		if e.Decky != "" {
			h := hops[e.Decky]
			if h == nil {
				h = &hop{Decky: e.Decky, First: e.Time}
				hops[e.Decky] = h
				v.Path = append(v.Path, h)
			}
			h.Last, h.Events = e.Time, h.Events+1
			if e.Service != "" && !slices.Contains(h.Services, e.Service) {
				h.Services = append(h.Services, e.Service)
			}
		}
		switch {
		case strings.HasSuffix(e.Type, ".command.input"):
			line, _ := e.Fields["command_line"].(string)
			if line == "" {
				line, _ = e.Fields["command"].(string)
			}
			ss := sessionOf(e)
			ss.Commands = append(ss.Commands, line)
		case strings.HasSuffix(e.Type, ".transcript.saved"):
			if refs := s.artifacts(e); len(refs) > 0 {
				sessionOf(e).Recording = &refs[0]
			}
		default:
			v.Files = append(v.Files, s.artifacts(e)...)
		}
	}
	slices.Reverse(v.Credentials)
	slices.Reverse(v.Files)
	return "Attacker " + a.IP, v, nil
}

// artifacts lists the blobs an event names, and whether the master has
// them.
func (s *Server) artifacts(e event.Event) []artifactRef {
	var out []artifactRef
	for _, sha := range e.Artifacts() {
		ref := artifactRef{Event: e, SHA: sha, Stored: s.blobs != nil && s.blobs.Has(sha)}
		switch n := e.Fields["size"].(type) {
		case float64:
			ref.Size = int64(n)
		case int64:
			ref.Size = n
		case int:
			ref.Size = int64(n)
		}
		for _, k := range []string{"path", "name", "key", "uri"} {
			if name, _ := e.Fields[k].(string); name != "" {
				ref.Name = name
				break
			}
		}
		out = append(out, ref)
	}
	return out
}

// credentialsView is the vault: every credential, or with reused=1 only
// those tried on more than one decky (an attacker carrying a credential
// through the network), most deckies first.
type credentialsView struct {
	Rows   []store.Credential
	Reused bool
	// Total and ReusedCount count the whole list.
	Total, ReusedCount int
}

func (s *Server) credentials(r *http.Request, _ *api.Principal) (string, any, error) {
	cs, err := s.st.ListCredentials(r.Context(), store.CredentialFilter{Limit: listCap})
	if err != nil {
		return "", nil, err
	}
	v := credentialsView{Reused: r.URL.Query().Get("reused") == "1", Total: len(cs)}
	for _, c := range cs {
		if len(c.Deckies) > 1 {
			v.ReusedCount++
			if v.Reused {
				v.Rows = append(v.Rows, c)
			}
		}
	}
	if !v.Reused {
		v.Rows = cs
	} else {
		slices.SortStableFunc(v.Rows, func(a, b store.Credential) int { return len(b.Deckies) - len(a.Deckies) })
	}
	return "Credentials", v, nil
}

// hostRow is one host: liveness from its heartbeat's age, what it should
// run (the topology assigned to it in a live status) against what it last
// reported, and the deckies its engine did not report.
type hostRow struct {
	H        store.Host
	Liveness string
	Desired  *store.Topology
	Applied  string // the applied topology's name, or its id when unknown
	// Sync is "synced", "drift" (another topology or hash), "idle"
	// (nothing to run, nothing applied) or "leftover" (nothing to run,
	// something still applied).
	Sync    string
	Missing []string
}

func (s *Server) hosts(r *http.Request, _ *api.Principal) (string, any, error) {
	ctx := r.Context()
	hs, err := s.st.ListHosts(ctx)
	if err != nil {
		return "", nil, err
	}
	tops, err := s.st.ListTopologies(ctx)
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	rows := make([]hostRow, 0, len(hs))
	for _, h := range hs {
		row := hostRow{H: h, Liveness: master.Liveness(h.LastHeartbeat, now), Applied: h.AppliedID}
		if h.Decommissioned {
			row.Liveness = "decommissioned"
		}
		for i := range tops {
			t := &tops[i]
			if t.ID == h.AppliedID {
				row.Applied = t.Name
			}
			if t.HostID == h.ID && master.ShouldRun(t.Status) {
				row.Desired = t
			}
		}
		switch {
		case row.Desired != nil && !master.NeedsResync(row.Desired, &h):
			row.Sync = "synced"
			for name, st := range master.DeckyStates(row.Desired, &h) {
				if st == master.DeckyMissing {
					row.Missing = append(row.Missing, name)
				}
			}
			slices.Sort(row.Missing)
		case row.Desired != nil:
			row.Sync = "drift"
		case h.AppliedID != "":
			row.Sync = "leftover"
		default:
			row.Sync = "idle"
		}
		rows = append(rows, row)
	}
	return "Hosts", rows, nil
}

func (s *Server) users(r *http.Request, _ *api.Principal) (string, any, error) {
	us, err := s.st.ListUsers(r.Context())
	if err != nil {
		return "", nil, err
	}
	return "Users", us, nil
}

// eachEvent calls fn for every event matching f, newest first, paging
// through the store, up to limit events.
func (s *Server) eachEvent(ctx context.Context, f store.EventFilter, limit int, fn func(event.Event) error) error {
	n := 0
	for n < limit {
		f.Limit = min(listCap, limit-n)
		es, err := s.st.ListEvents(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := fn(e); err != nil {
				return err
			}
		}
		n += len(es)
		if len(es) < f.Limit {
			return nil
		}
		f.After = es[len(es)-1].ID
	}
	return nil
}

type topologyRow struct {
	T       store.Topology
	Hash    string
	Deckies int
	Active  bool // should be running: tear-down is the action offered
}

type topologiesView struct {
	Rows  []topologyRow
	Hosts []string
}

// shortHash is the prefix of a version hash shown in lists.
func shortHash(h string) string {
	h = strings.TrimPrefix(h, "sha256:")
	return h[:min(12, len(h))]
}

// live reports whether a topology in this status runs or is on its way.
func live(status string) bool {
	return status == store.Deploying || status == store.Active || status == store.Degraded || status == store.TearingDown
}

func (s *Server) topologies(r *http.Request, _ *api.Principal) (string, any, error) {
	ctx := r.Context()
	tops, err := s.st.ListTopologies(ctx)
	if err != nil {
		return "", nil, err
	}
	v := topologiesView{}
	for _, t := range tops {
		row := topologyRow{T: t, Hash: shortHash(t.Hash), Active: live(t.Status)}
		if spec, err := topology.DecodeBytes(t.Spec); err == nil {
			row.Deckies = len(spec.Deckies)
		}
		v.Rows = append(v.Rows, row)
	}
	slices.SortFunc(v.Rows, func(a, b topologyRow) int { return strings.Compare(a.T.Name, b.T.Name) })
	if v.Hosts, err = s.enrolledHosts(ctx); err != nil {
		return "", nil, err
	}
	return "Topologies", v, nil
}

// enrolledHosts lists the ids of the hosts a topology can be placed on
// (not decommissioned), for the host selects.
func (s *Server) enrolledHosts(ctx context.Context) ([]string, error) {
	hs, err := s.st.ListHosts(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, h := range hs {
		if !h.Decommissioned {
			ids = append(ids, h.ID)
		}
	}
	return ids, nil
}

type deckyRow struct {
	D        topology.Decky
	Home     string
	Others   string
	Services string
	Href     string // the decky's events
	Page     string // the decky's page
}

type topologyView struct {
	T       *store.Topology
	Hash    string
	Live    bool
	Spec    *topology.Spec
	Map     *NetMap
	Deckies []deckyRow
	History []store.StatusChange
	// Settings are the deckies' service settings: forms for admins (Admin),
	// lists for viewers.
	Settings []settingsDecky
	Admin    bool
}

func (s *Server) topology(r *http.Request, who *api.Principal) (string, any, error) {
	ctx := r.Context()
	t, spec, err := s.loadTopology(r)
	if err != nil {
		return "", nil, err
	}
	hist, err := s.st.StatusHistory(ctx, t.ID)
	if err != nil {
		return "", nil, err
	}
	v := topologyView{T: t, Hash: shortHash(t.Hash), Live: live(t.Status), Spec: spec, Map: buildMap(spec), History: hist,
		Settings: buildSettings(spec), Admin: who.Can(store.Admin)}
	v.Map.State = t.Status
	if t.HostID != "" {
		h, err := s.st.Host(ctx, t.HostID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", nil, err
		}
		states := master.DeckyStates(t, h)
		for i := range v.Map.Deckies {
			v.Map.Deckies[i].State = states[v.Map.Deckies[i].Name]
		}
	}
	for _, d := range spec.Deckies {
		row := deckyRow{D: d, Home: d.HomeLAN(), Services: strings.Join(d.Services, ", "),
			Href: "/events?" + url.Values{"decky": {d.Name}}.Encode(), Page: "/topologies/" + t.ID + "/deckies/" + url.PathEscape(d.Name)}
		var others []string
		for _, a := range d.Addresses[min(1, len(d.Addresses)):] {
			others = append(others, a.LAN+" ("+a.IP+")")
		}
		row.Others = strings.Join(others, ", ")
		v.Deckies = append(v.Deckies, row)
	}
	return "Topology " + t.Name, v, nil
}
