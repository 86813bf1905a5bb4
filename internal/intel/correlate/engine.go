package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// Bounds of the engine's memory.
const (
	// MaxSharing: an indicator value shown by this many sources is common
	// (a public tool's binary, a stock client) and links no more of them.
	MaxSharing = 64
	// maxPending bounds the command sequences in progress; past it they
	// are all dropped (sessions that never reached CommandSequenceLen).
	maxPending = 100_000
	// maxAccess bounds the deckies remembered per source.
	maxAccess = 64
)

// kv is an indicator's kind and value.
type kv struct{ kind, value string }

// unionFind groups sources; the root of a group is its earliest source.
type unionFind struct {
	parent  map[string]string
	members map[string][]string // by root
}

func newUnionFind() *unionFind {
	return &unionFind{parent: map[string]string{}, members: map[string][]string{}}
}

func (u *unionFind) find(x string) string {
	p, ok := u.parent[x]
	if !ok {
		return x
	}
	if p == x {
		return x
	}
	r := u.find(p)
	u.parent[x] = r
	return r
}

// union joins the groups of a and b under the earlier root (first
// decides) and returns the sources whose root changed.
func (u *unionFind) union(a, b string, earlier func(x, y string) bool) []string {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return nil
	}
	if earlier(rb, ra) {
		ra, rb = rb, ra
	}
	for _, r := range []string{ra, rb} {
		if _, ok := u.parent[r]; !ok {
			u.parent[r] = r
			u.members[r] = []string{r}
		}
	}
	moved := u.members[rb]
	u.parent[rb] = ra
	u.members[ra] = append(u.members[ra], moved...)
	delete(u.members, rb)
	return moved
}

// Engine derives identities, campaigns, credential reuse and lateral
// movement from events, one at a time, in memory; Take hands over what
// is to be stored and published. It is not safe for concurrent use: one
// consumer owns it.
type Engine struct {
	first    map[string]time.Time // a source's first indicator
	seen     map[kv]map[string]bool
	holders  map[kv][]string        // the first MaxSharing sources of a value
	weakOf   map[string]map[kv]bool // a source's weak indicators
	details  map[kv]string
	identity *unionFind // identity links
	campaign *unionFind // identity and campaign links
	credSeq  map[string]*store.Sequence
	cmdSeq   map[string]*store.Sequence
	access   map[string]*store.Sequence // deckies a source logged into, and where it moved
	sighted  map[string][]string        // credential key -> deckies
	lastIn   map[string]string          // decky -> the last source that logged into it

	// DeckyAt names the decky an address belongs to ("" for none): a
	// source that is a decky's own address moves from it.
	DeckyAt func(topology, ip string) string

	out   store.CorrelationBatch
	dirty map[string]bool
	emit  []event.Event
}

// NewEngine returns an empty engine.
func NewEngine() *Engine {
	return &Engine{first: map[string]time.Time{}, seen: map[kv]map[string]bool{}, holders: map[kv][]string{},
		weakOf: map[string]map[kv]bool{}, details: map[kv]string{}, identity: newUnionFind(), campaign: newUnionFind(),
		credSeq: map[string]*store.Sequence{}, cmdSeq: map[string]*store.Sequence{}, access: map[string]*store.Sequence{},
		sighted: map[string][]string{}, lastIn: map[string]string{}, dirty: map[string]bool{}}
}

// Load restores an engine from what the store kept.
func Load(st *store.CorrelationState) *Engine {
	e := NewEngine()
	for _, in := range st.Indicators {
		e.remember(indicator{kind: in.Kind, value: in.Value, detail: in.Detail}, in.SrcIP, in.FirstSeen)
	}
	for _, l := range st.Links {
		if !l.Campaign {
			e.identity.union(l.A, l.B, e.earlier)
		}
		e.campaign.union(l.A, l.B, e.earlier)
	}
	for i := range st.Sequences {
		q := st.Sequences[i]
		kind, key, _ := strings.Cut(q.Key, "|")
		switch kind {
		case "cred":
			e.credSeq[key] = &q
		case "cmd":
			if !q.Done {
				e.cmdSeq[key] = &q
			}
		case "access":
			e.access[key] = &q
		}
	}
	for _, s := range st.Sightings {
		e.sighted[s.Key] = append(e.sighted[s.Key], s.Decky)
	}
	return e
}

// earlier orders sources by their first indicator, then address: the
// root of a group, and so its id, does not depend on the order links
// were made in.
func (e *Engine) earlier(x, y string) bool {
	fx, fy := e.first[x], e.first[y]
	if !fx.Equal(fy) {
		return fx.Before(fy)
	}
	return x < y
}

// IdentityID and CampaignID name a group by its root.
func IdentityID(root string) string { return "I-" + shortHash("identity", root) }

// CampaignID names a campaign by its root.
func CampaignID(root string) string { return "C-" + shortHash("campaign", root) }

// IsIdentityID and IsCampaignID tell whether s has the shape of an id
// IdentityID or CampaignID makes (what the API and dashboard accept).
func IsIdentityID(s string) bool { return isGroupID(s, "I-") }

// IsCampaignID: see IsIdentityID.
func IsCampaignID(s string) bool { return isGroupID(s, "C-") }

func isGroupID(s, prefix string) bool {
	h, ok := strings.CutPrefix(s, prefix)
	if !ok || len(h) != 12 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

func shortHash(ns, s string) string {
	sum := sha256.Sum256([]byte(ns + "\x00" + s))
	return hex.EncodeToString(sum[:6])
}

// remember records that src showed in (no link is made); it reports
// whether that was new.
func (e *Engine) remember(in indicator, src string, t time.Time) bool {
	k := kv{in.kind, in.value}
	set := e.seen[k]
	if set == nil {
		set = map[string]bool{}
		e.seen[k] = set
	}
	// Past MaxSharing sources a value is common: it links nobody, and
	// further sources are not recorded.
	if set[src] || len(set) > MaxSharing {
		return false
	}
	set[src] = true
	if f, ok := e.first[src]; !ok || t.Before(f) {
		e.first[src] = t
	}
	if len(e.holders[k]) < MaxSharing {
		e.holders[k] = append(e.holders[k], src)
	}
	if _, ok := e.details[k]; !ok {
		e.details[k] = in.detail
	}
	if w := in.weight(); w > 0 && w < 1 {
		if e.weakOf[src] == nil {
			e.weakOf[src] = map[kv]bool{}
		}
		e.weakOf[src][k] = true
	}
	return true
}

// Observe correlates one event.
func (e *Engine) Observe(ev *event.Event) {
	if ev.Src == nil || ev.Src.IP == "" || strings.HasPrefix(ev.Type, "decnet.") {
		return
	}
	src := ev.Src.IP
	for _, in := range append(stateless(ev), e.sequences(ev, src)...) {
		e.indicate(in, src, ev)
	}
	e.reuse(ev, src)
	e.movement(ev, src)
}

// indicate records an indicator and makes the links it calls for.
func (e *Engine) indicate(in indicator, src string, ev *event.Event) {
	if !e.remember(in, src, ev.Time) {
		return
	}
	k := kv{in.kind, in.value}
	e.out.Indicators = append(e.out.Indicators, store.Indicator{Kind: in.kind, Value: in.value, Detail: in.detail,
		SrcIP: src, Campaign: in.campaign(), FirstSeen: ev.Time, EventID: ev.ID})
	if len(e.seen[k]) > MaxSharing {
		return // common: links nobody
	}
	reason := store.LinkReason{Kind: in.kind, Value: in.value, Detail: e.details[k], Weight: in.weight()}
	switch w := in.weight(); {
	case in.campaign():
		if h := e.holders[k][0]; h != src {
			e.link(src, h, true, []store.LinkReason{reason}, ev)
		}
	case w >= 1:
		if h := e.holders[k][0]; h != src {
			e.link(src, h, false, []store.LinkReason{reason}, ev)
		}
	default:
		for _, h := range e.holders[k] {
			if h == src || e.identity.find(h) == e.identity.find(src) {
				continue
			}
			if rs, sum := e.sharedWeak(src, h); sum >= 1 {
				e.link(src, h, false, rs, ev)
			}
		}
	}
}

// sharedWeak returns the weak indicators a and b share and their weight.
func (e *Engine) sharedWeak(a, b string) ([]store.LinkReason, float64) {
	var rs []store.LinkReason
	var sum float64
	for k := range e.weakOf[a] {
		if e.weakOf[b][k] {
			w := Weights[k.kind]
			rs = append(rs, store.LinkReason{Kind: k.kind, Value: k.value, Detail: e.details[k], Weight: w})
			sum += w
		}
	}
	slices.SortFunc(rs, func(x, y store.LinkReason) int {
		return strings.Compare(x.Kind+"\x00"+x.Value, y.Kind+"\x00"+y.Value)
	})
	return rs, sum
}

// link joins a and b; a campaign link joins their identities' campaigns.
func (e *Engine) link(a, b string, campaign bool, reasons []store.LinkReason, ev *event.Event) {
	if a > b {
		a, b = b, a
	}
	if campaign && e.campaign.find(a) == e.campaign.find(b) {
		return
	}
	if !campaign && e.identity.find(a) == e.identity.find(b) {
		return
	}
	for _, x := range []string{a, b} {
		e.dirty[x] = true
	}
	for _, x := range e.campaign.union(a, b, e.earlier) {
		e.dirty[x] = true
	}
	typ := CampaignLinkedType
	if !campaign {
		typ = IdentityLinkedType
		for _, x := range e.identity.union(a, b, e.earlier) {
			e.dirty[x] = true
		}
	}
	e.out.Links = append(e.out.Links, store.Link{A: a, B: b, Campaign: campaign, Reasons: reasons, Time: ev.Time, EventID: ev.ID})
	kinds := make([]any, len(reasons))
	for i, r := range reasons {
		kinds[i] = r.Kind
	}
	e.emit = append(e.emit, e.derived(typ, ev, "link|"+typ+"|"+a+"|"+b, event.Medium, map[string]any{
		"identity": IdentityID(e.identity.find(a)), "campaign": CampaignID(e.campaign.find(a)),
		"sources": []any{a, b}, "kinds": kinds, "reasons": reasonFields(reasons), "event_id": ev.ID}))
}

func reasonFields(rs []store.LinkReason) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = map[string]any{"kind": r.Kind, "value": r.Value, "detail": r.Detail}
	}
	return out
}

// derived makes an event the master publishes, named by key.
func (e *Engine) derived(typ string, ev *event.Event, key string, sev int, fields map[string]any) event.Event {
	return event.Event{Schema: event.SchemaVersion, ID: event.DerivedID(ev.Time, key), Time: ev.Time, Type: typ,
		Severity: sev, Host: Host, Topology: ev.Topology, Decky: ev.Decky, Service: "correlator", Fields: fields}
}

// sequences advances the event's credential and command sequences and
// returns the indicators of those it completes.
func (e *Engine) sequences(ev *event.Event, src string) []indicator {
	var out []indicator
	if c := ev.Credential; c != nil && c.SecretSHA256 != "" {
		q := e.credSeq[src]
		if q == nil {
			q = &store.Sequence{Key: "cred|" + src}
			e.credSeq[src] = q
		}
		item := c.Principal + ":" + c.SecretSHA256[:min(16, len(c.SecretSHA256))]
		if !q.Done && !slices.Contains(q.Items, item) {
			q.Items = append(q.Items, item)
			q.Done = len(q.Items) == CredentialSequenceLen
			e.out.Sequences = append(e.out.Sequences, *q)
			if q.Done {
				names := make([]string, len(q.Items))
				for i, it := range q.Items {
					names[i], _, _ = strings.Cut(it, ":")
				}
				out = append(out, indicator{kind: KindCredentialSequence, value: hashItems(q.Items),
					detail: clip("users "+strings.Join(names, ", "), maxDetail)})
			}
		}
	}
	if cmd := commandLine(ev); cmd != "" {
		key := ev.Session
		if key == "" {
			key = src + "|" + ev.Decky + "|" + ev.Service
		}
		q := e.cmdSeq[key]
		if q == nil {
			if len(e.cmdSeq) >= maxPending {
				clear(e.cmdSeq)
			}
			q = &store.Sequence{Key: "cmd|" + key}
			e.cmdSeq[key] = q
		}
		if !q.Done {
			q.Items = append(q.Items, cmd)
			q.Done = len(q.Items) == CommandSequenceLen
			e.out.Sequences = append(e.out.Sequences, *q)
			if q.Done {
				out = append(out, indicator{kind: KindCommandSequence, value: hashItems(q.Items),
					detail: clip(strings.Join(q.Items, " ; "), maxDetail)})
				delete(e.cmdSeq, key)
			}
		}
	}
	return out
}

// CredentialKey is the key of a plaintext credential across deckies.
func CredentialKey(principal, secretSHA256 string) string {
	sum := sha256.Sum256([]byte(principal + "\x00" + secretSHA256))
	return hex.EncodeToString(sum[:16])
}

// reuse notes plaintext credentials per decky and announces one seen on
// a second decky.
func (e *Engine) reuse(ev *event.Event, src string) {
	c := ev.Credential
	if c == nil || !c.Plaintext || ev.Decky == "" || c.SecretSHA256 == "" {
		return
	}
	key := CredentialKey(c.Principal, c.SecretSHA256)
	if slices.Contains(e.sighted[key], ev.Decky) {
		return
	}
	e.sighted[key] = append(e.sighted[key], ev.Decky)
	e.out.Sightings = append(e.out.Sightings, store.CredentialSighting{Key: key, Decky: ev.Decky, SrcIP: src, Time: ev.Time})
	if len(e.sighted[key]) < 2 {
		return
	}
	deckies := make([]any, len(e.sighted[key]))
	for i, d := range e.sighted[key] {
		deckies[i] = d
	}
	e.emit = append(e.emit, e.derived(CredentialReusedType, ev, "reuse|"+key+"|"+ev.Decky, event.High, map[string]any{
		"principal": c.Principal, "secret_sha256": c.SecretSHA256, "kind": c.Kind, "source": src,
		"identity": IdentityID(e.identity.find(src)), "decky": ev.Decky, "deckies": deckies, "event_id": ev.ID}))
}

// accepted reports whether the event is a login the decky accepted.
func accepted(ev *event.Event) bool {
	return strings.HasSuffix(ev.Type, ".login.success") || (ev.Credential != nil && ev.Outcome == "success")
}

// movement notes the deckies a source logged into and announces the
// source, or a decky's own address, going on to another decky.
func (e *Engine) movement(ev *event.Event, src string) {
	if ev.Decky == "" {
		return
	}
	from, via, origin := "", "", src
	if e.DeckyAt != nil {
		if d := e.DeckyAt(ev.Topology, src); d != "" && d != ev.Decky {
			from, via, origin = d, "decky_address", e.lastIn[d]
		}
	}
	q := e.access[src]
	if from == "" && q != nil {
		// The last decky it logged into before this one.
		for i := len(q.Items) - 1; i >= 0; i-- {
			if !strings.Contains(q.Items[i], ">") && q.Items[i] != ev.Decky {
				from, via = q.Items[i], "same_source"
				break
			}
		}
	}
	if from != "" {
		if q == nil {
			q = &store.Sequence{Key: "access|" + src}
			e.access[src] = q
		}
		hop := from + ">" + ev.Decky
		if !slices.Contains(q.Items, hop) && len(q.Items) < maxAccess {
			q.Items = append(q.Items, hop)
			e.out.Sequences = append(e.out.Sequences, *q)
			e.emit = append(e.emit, e.derived(LateralMovementType, ev, "move|"+src+"|"+hop, event.High, map[string]any{
				"source": src, "origin": origin, "identity": IdentityID(e.identity.find(origin)), "from_decky": from,
				"to_decky": ev.Decky, "via": via, "service": ev.Service, "event_id": ev.ID}))
		}
	}
	if accepted(ev) {
		e.lastIn[ev.Decky] = src
		if q == nil {
			q = &store.Sequence{Key: "access|" + src}
			e.access[src] = q
		}
		if !slices.Contains(q.Items, ev.Decky) && len(q.Items) < maxAccess {
			q.Items = append(q.Items, ev.Decky)
			e.out.Sequences = append(e.out.Sequences, *q)
		}
	}
}

// Take returns what the events observed since the last Take produced:
// the batch to store (memberships of every source whose identity or
// campaign changed) and the events to publish.
func (e *Engine) Take() (*store.CorrelationBatch, []event.Event) {
	b := e.out
	for src := range e.dirty {
		b.Members = append(b.Members, store.Membership{SrcIP: src,
			Identity: IdentityID(e.identity.find(src)), Campaign: CampaignID(e.campaign.find(src))})
	}
	slices.SortFunc(b.Members, func(x, y store.Membership) int { return strings.Compare(x.SrcIP, y.SrcIP) })
	b.Sequences = lastSequences(b.Sequences)
	evs := e.emit
	e.out, e.emit = store.CorrelationBatch{}, nil
	clear(e.dirty)
	return &b, evs
}

// lastSequences keeps the last state of each sequence.
func lastSequences(qs []store.Sequence) []store.Sequence {
	idx := map[string]int{}
	var out []store.Sequence
	for _, q := range qs {
		q.Items = slices.Clone(q.Items)
		if i, ok := idx[q.Key]; ok {
			out[i] = q
			continue
		}
		idx[q.Key] = len(out)
		out = append(out, q)
	}
	return out
}
