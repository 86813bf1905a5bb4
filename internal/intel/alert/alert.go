// Package alert evaluates the operators' alert rules against the event
// stream and raises alerts: stored with their evidence, one active alert
// per rule and source (later matches join it), and published as events
// of type decnet.alert.raised so that every SIEM output delivers them.
//
// The Evaluator is its own durable consumer of the stream (intel-alert),
// like the ATT&CK tagger: it never slows ingestion and resumes where it
// stopped. Every matching event is recorded (store.AlertMatch, unique on
// rule and event) before anything is decided, thresholds count the
// recorded matches, and an alert is keyed by rule, source and the event
// that raised it, so a redelivered batch, a restart or a rebuild from
// stored events raises nothing twice.
//
// Lifecycle: New starts nothing; Run consumes until ctx is done. Rules
// are read from the store when the evaluator starts, when Reload is
// called (the API does after every change) and every RulesTTL.
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// Durable is the evaluator's consumer name.
const Durable = "intel-alert"

// RaisedType is the event type of a raised alert; Host is the host id
// the master publishes it under (subject decnet.events.master).
const (
	RaisedType = "decnet.alert.raised"
	Host       = bus.MasterHost
)

func init() {
	event.Declare(event.Type{Name: RaisedType, Severity: event.High,
		Summary: "An alert rule raised an alert (published by the master; the event's severity is the rule's, its decky the one of the event that raised it).",
		Fields: []event.FieldDoc{
			event.F("alert_id", "string", "the alert's id (GET /api/v1/alerts/{id}); also this event's id"),
			event.F("rule_id", "string", "the rule that raised it"),
			event.F("rule", "string", "the rule's name"),
			event.F("condition", "string", "each, threshold, first_touch or honey_credential"),
			event.F("source", "string", "the source address the alert is about (\"\" for events without one)"),
			event.F("title", "string", "a one-line summary"),
			event.F("count", "int", "matching events when it was raised"),
			event.F("event_ids", "list", "the events that raised it (at most 50)"),
			event.F("first_seen", "string", "time of the first of them (RFC 3339)"),
			event.F("last_seen", "string", "time of the last of them (RFC 3339)"),
		}})
}

// Store is what the evaluator reads and writes.
type Store interface {
	ListAlertRules(ctx context.Context) ([]store.AlertRuleRow, error)
	AddAlertMatches(ctx context.Context, ms []store.AlertMatch) ([]bool, error)
	AlertSourceStates(ctx context.Context, ruleID string, sources []string, since, until time.Time) (map[string]store.AlertSourceState, error)
	AlertMatches(ctx context.Context, ruleID, source string, since, until time.Time, limit int) (int64, []string, time.Time, error)
	EarlierAlertMatch(ctx context.Context, ruleID, source string, t time.Time, eventID string) (bool, error)
	OpenAlert(ctx context.Context, a *store.Alert) (bool, error)
	AlertAt(ctx context.Context, ruleID, source string, t time.Time) (*store.Alert, error)
	TouchAlert(ctx context.Context, id, eventID string, t time.Time, fresh bool) error
	CountEvents(ctx context.Context, f store.EventFilter) (int64, error)
	ListEvents(ctx context.Context, f store.EventFilter) ([]event.Event, error)
	ListTopologies(ctx context.Context) ([]store.Topology, error)
	Attacker(ctx context.Context, ip string) (*store.Attacker, error)
}

// Publisher delivers raised alerts to the event stream.
type Publisher interface {
	Publish(ctx context.Context, events []event.Event) error
}

// HoneyCredentials tells whether a credential is a honey credential: one
// planted on a decky that only an intruder can have found. Lookup
// returns where the credential c was planted (none: not a honey one),
// the best match first. It is the extension point of the
// honey_credential condition; package intel/honey implements it.
type HoneyCredentials interface {
	Lookup(ctx context.Context, c *event.Credential) ([]store.HoneyCredential, error)
	// Planted returns the honey credentials planted on a decky.
	Planted(ctx context.Context, decky string) ([]store.HoneyCredential, error)
}

// Options are the evaluator's optional parts.
type Options struct {
	// Publisher publishes raised alerts; nil stores them only (a
	// rebuild).
	Publisher Publisher
	// Tagger gives the ATT&CK techniques of events for match.tags (a
	// separate engine from the tagger consumer's); nil: rules naming
	// tags match nothing.
	Tagger *attack.Engine
	// Honey knows honey credentials; nil refuses honey_credential rules.
	Honey HoneyCredentials
	// RulesTTL is how often rules are read again without a Reload
	// (default 10 s).
	RulesTTL time.Duration
	Log      *slog.Logger
}

// Evaluator runs the alert rules. Handle is called by one goroutine at a
// time (the consumer's, or a rebuild's); Reload is safe from any.
type Evaluator struct {
	st   Store
	opts Options
	log  *slog.Logger
	// OnRaise, when set (before Run), learns every alert raised.
	OnRaise func(a store.Alert)

	mu     sync.Mutex
	dirty  bool
	loaded time.Time
	rules  []*compiled
	topos  map[string]topoInfo
	toposT time.Time
	// reads remembers, by source, decky and bait path, the event in which
	// a source read a bait file (the stream may bring the use of the
	// credential before the DB has stored the read).
	reads  map[string]string
	idents map[string]cachedIdentity
}

// cachedIdentity is a source's identity as read at a time.
type cachedIdentity struct {
	id string
	at time.Time
}

// maxReads bounds the remembered bait reads; past it they start over
// (older reads are still found in the store).
const maxReads = 50_000

type topoInfo struct {
	name string
	lans map[string][]string // decky -> LAN names
}

type compiled struct {
	Rule
	sources []netip.Prefix
}

// New returns an evaluator over the store; it starts nothing.
func New(st Store, o Options) *Evaluator {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RulesTTL <= 0 {
		o.RulesTTL = 10 * time.Second
	}
	return &Evaluator{st: st, opts: o, log: o.Log.With("component", "alert_evaluator"), dirty: true}
}

// HoneyKnown reports whether honey_credential rules can be evaluated.
func (e *Evaluator) HoneyKnown() bool { return e.opts.Honey != nil }

// Reload makes the next batch read the rules again.
func (e *Evaluator) Reload() {
	e.mu.Lock()
	e.dirty = true
	e.mu.Unlock()
}

// Run consumes the event stream until ctx is done. A batch is what came
// within 100 ms (at most 2,000 events), so an alert is raised within a
// fraction of a second of the event that crosses its condition, and a
// flood is evaluated in large batches.
func (e *Evaluator) Run(ctx context.Context, js jetstream.JetStream) error {
	return bus.Consume(ctx, js, Durable, e.Handle, bus.WithBatch(2000, 100*time.Millisecond), bus.WithPrefetch(), bus.WithLogger(e.log))
}

func (e *Evaluator) currentRules(ctx context.Context) ([]*compiled, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.dirty && time.Since(e.loaded) < e.opts.RulesTTL {
		return e.rules, nil
	}
	rows, err := e.st.ListAlertRules(ctx)
	if err != nil {
		return nil, err
	}
	var rules []*compiled
	for _, row := range rows {
		if !row.Enabled {
			continue
		}
		r, err := FromStored(row.ID, row.Name, row.Enabled, row.Spec, row.CreatedAt, row.UpdatedAt)
		if err == nil {
			err = r.Validate(e.opts.Honey != nil)
		}
		if err != nil {
			e.log.Warn("alert rule skipped", "rule_id", row.ID, "err", err)
			continue
		}
		c := &compiled{Rule: *r}
		for _, s := range r.Match.Sources {
			p, _ := parseSource(s)
			c.sources = append(c.sources, p)
		}
		rules = append(rules, c)
	}
	e.rules, e.loaded, e.dirty = rules, time.Now(), false
	return rules, nil
}

// Handle evaluates one batch; it is the consumer's handler and what a
// rebuild from stored events calls. It is idempotent.
func (e *Evaluator) Handle(ctx context.Context, events []event.Event) error {
	rules, err := e.currentRules(ctx)
	if err != nil || len(rules) == 0 {
		return err
	}
	needTags, needTopo, needIdent := false, false, false
	for _, r := range rules {
		needTags = needTags || len(r.Match.Tags) > 0
		needTopo = needTopo || len(r.Match.LANs) > 0 || len(r.Match.Topologies) > 0
		needIdent = needIdent || len(r.Match.Identities) > 0
	}
	var hits []hit
	for i := range events {
		ev := &events[i]
		if strings.HasPrefix(ev.Type, "decnet.alert.") {
			continue // our own
		}
		if err := e.noteRead(ctx, ev); err != nil {
			return err
		}
		var tags []string
		if needTags && e.opts.Tagger != nil {
			for _, h := range attack.Techniques(e.opts.Tagger.Tag(ev)) {
				tags = append(tags, h.Technique)
			}
		}
		var topo topoInfo
		if needTopo && ev.Topology != "" {
			if topo, err = e.topology(ctx, ev.Topology); err != nil {
				return err
			}
		}
		ident := ""
		if needIdent {
			if ident, err = e.identity(ctx, sourceOf(ev)); err != nil {
				return err
			}
		}
		for _, r := range rules {
			if !e.matches(r, ev, tags, topo) || (len(r.Match.Identities) > 0 && !slices.Contains(r.Match.Identities, ident)) {
				continue
			}
			h := hit{r: r, ev: ev, src: sourceOf(ev)}
			if r.Condition.Kind == HoneyCredential {
				if h.honey, err = e.honeyUse(ctx, ev); err != nil {
					return fmt.Errorf("alert rule %s, event %s: %w", r.ID, ev.ID, err)
				}
				if h.honey == nil {
					continue
				}
			}
			hits = append(hits, h)
		}
	}
	if len(hits) == 0 {
		return nil
	}
	// The batch's matches are recorded in one write, then each is
	// evaluated in stream order, but for the threshold rules a source of
	// the batch cannot reach.
	ms := make([]store.AlertMatch, len(hits))
	for i, h := range hits {
		ms[i] = store.AlertMatch{RuleID: h.r.ID, EventID: h.ev.ID, Source: h.src, Time: h.ev.Time}
	}
	fresh, err := e.st.AddAlertMatches(ctx, ms)
	if err != nil {
		return err
	}
	settled, err := e.belowThreshold(ctx, hits)
	if err != nil {
		return err
	}
	for i, h := range hits {
		if settled[ruleSource{h.r.ID, h.src}] {
			continue
		}
		if err := e.evaluate(ctx, h, fresh[i]); err != nil {
			return fmt.Errorf("alert rule %s, event %s: %w", h.r.ID, h.ev.ID, err)
		}
	}
	return nil
}

// hit is an event that matched a rule.
type hit struct {
	r     *compiled
	ev    *event.Event
	src   string
	honey *honeyUse
}

type ruleSource struct{ rule, source string }

// belowThreshold finds the (threshold rule, source) pairs of the batch
// that raise nothing: no alert of the rule for the source started by the
// batch's last event, and fewer matches than the rule's count from the
// first event's window to the last event, which bounds every event's own
// window. One read per rule settles what would otherwise cost each event
// its own reads (a flood of distinct sources, each below the count).
func (e *Evaluator) belowThreshold(ctx context.Context, hits []hit) (map[ruleSource]bool, error) {
	type span struct {
		r           *compiled
		sources     []string
		first, last time.Time
	}
	spans := map[string]*span{}
	seen := map[ruleSource]bool{}
	for _, h := range hits {
		if h.r.Condition.Kind != Threshold {
			continue
		}
		sp := spans[h.r.ID]
		if sp == nil {
			sp = &span{r: h.r, first: h.ev.Time, last: h.ev.Time}
			spans[h.r.ID] = sp
		}
		if h.ev.Time.Before(sp.first) {
			sp.first = h.ev.Time
		}
		if h.ev.Time.After(sp.last) {
			sp.last = h.ev.Time
		}
		if k := (ruleSource{h.r.ID, h.src}); !seen[k] {
			seen[k] = true
			sp.sources = append(sp.sources, h.src)
		}
	}
	settled := map[ruleSource]bool{}
	for id, sp := range spans {
		states, err := e.st.AlertSourceStates(ctx, id, sp.sources, sp.first.Add(-time.Duration(sp.r.Condition.Window)), sp.last)
		if err != nil {
			return nil, err
		}
		for _, src := range sp.sources {
			if st := states[src]; !st.Alerted && st.Matches < int64(sp.r.Condition.Count) {
				settled[ruleSource{id, src}] = true
			}
		}
	}
	return settled, nil
}


// identity returns the identity of a source, from a cache kept 30 s.
func (e *Evaluator) identity(ctx context.Context, src string) (string, error) {
	if src == "" {
		return "", nil
	}
	e.mu.Lock()
	c, ok := e.idents[src]
	e.mu.Unlock()
	if ok && time.Since(c.at) < 30*time.Second {
		return c.id, nil
	}
	a, err := e.st.Attacker(ctx, src)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	id := ""
	if a != nil {
		id = a.Identity
	}
	e.mu.Lock()
	if e.idents == nil || len(e.idents) > 100_000 {
		e.idents = map[string]cachedIdentity{}
	}
	e.idents[src] = cachedIdentity{id: id, at: time.Now()}
	e.mu.Unlock()
	return id, nil
}

// sourceOf is the source address of an event: its src endpoint, or for
// an event the master derived about a source (a credential reused, a
// lateral movement), its source field.
func sourceOf(ev *event.Event) string {
	if ev.Src == nil {
		if s, ok := ev.Fields["source"].(string); ok && strings.HasPrefix(ev.Type, "decnet.") {
			if a, err := netip.ParseAddr(s); err == nil {
				return a.Unmap().String()
			}
		}
		return ""
	}
	if a, err := netip.ParseAddr(ev.Src.IP); err == nil {
		return a.Unmap().String()
	}
	return ev.Src.IP
}

func (e *Evaluator) matches(r *compiled, ev *event.Event, tags []string, topo topoInfo) bool {
	m := &r.Match
	if ev.Severity < m.MinSeverity {
		return false
	}
	if len(m.Types) > 0 && !slices.ContainsFunc(m.Types, func(p string) bool { ok, _ := path.Match(p, ev.Type); return ok }) {
		return false
	}
	for _, c := range []struct {
		want []string
		v    string
	}{{m.Services, ev.Service}, {m.Deckies, ev.Decky}} {
		if len(c.want) > 0 && !slices.Contains(c.want, c.v) {
			return false
		}
	}
	if len(m.Topologies) > 0 && (ev.Topology == "" || !slices.ContainsFunc(m.Topologies, func(t string) bool { return t == ev.Topology || (topo.name != "" && t == topo.name) })) {
		return false
	}
	if len(m.LANs) > 0 && !slices.ContainsFunc(topo.lans[ev.Decky], func(l string) bool { return slices.Contains(m.LANs, l) }) {
		return false
	}
	if len(m.Tags) > 0 && !slices.ContainsFunc(m.Tags, func(want string) bool {
		return slices.ContainsFunc(tags, func(t string) bool { return t == want || strings.HasPrefix(t, want+".") })
	}) {
		return false
	}
	if len(r.sources) > 0 {
		a, err := netip.ParseAddr(sourceOf(ev))
		if err != nil || !slices.ContainsFunc(r.sources, func(p netip.Prefix) bool { return p.Contains(a) }) {
			return false
		}
	}
	if len(m.Tokens) > 0 && !slices.Contains(m.Tokens, fieldString(ev, "token_id")) {
		return false
	}
	if r.Condition.Kind == HoneyCredential {
		return e.opts.Honey != nil && ev.Credential != nil // evaluate looks it up
	}
	if r.Condition.Kind == FirstTouch && (ev.Src == nil || ev.Decky == "") {
		return false
	}
	return true
}

// evaluate records a match and raises or grows the rule's alert for the
// event's source.
func (e *Evaluator) evaluate(ctx context.Context, h hit, fresh bool) error {
	r, ev, src, honey := h.r, h.ev, h.src, h.honey
	key := r.ID + "|" + src + "|" + ev.ID
	// The event belongs to the alert that was active at its time: it
	// grows an active one, and one closed since already had it.
	prev, err := e.st.AlertAt(ctx, r.ID, src, ev.Time)
	switch {
	case errors.Is(err, store.ErrNotFound):
		prev = nil
	case err != nil:
		return err
	case prev.Key == key:
		// A redelivery of the event that raised it: publish again, in
		// case the first attempt failed after the alert was stored (the
		// stream drops the duplicate, same message id, if it made it).
		return e.publish(ctx, prev, r.Condition.Kind, ev.Decky)
	case prev.Status != store.AlertClosed:
		return e.st.TouchAlert(ctx, prev.ID, ev.ID, ev.Time, fresh)
	case !ev.Time.After(prev.Last):
		return nil
	}
	a := &store.Alert{Key: key, RuleID: r.ID, RuleName: r.Name, Severity: r.Severity, Source: src,
		Count: 1, EventIDs: []string{ev.ID}, First: ev.Time, Last: ev.Time}
	switch r.Condition.Kind {
	case Threshold:
		since := ev.Time.Add(-time.Duration(r.Condition.Window))
		if prev != nil && !since.After(prev.Last) {
			since = prev.Last.Add(time.Microsecond) // what a closed alert had counts no more
		}
		n, ids, first, err := e.st.AlertMatches(ctx, r.ID, src, since, ev.Time, store.MaxAlertEvidence)
		if err != nil {
			return err
		}
		if n < int64(r.Condition.Count) {
			return nil
		}
		a.Count, a.EventIDs, a.First = n, ids, first
	case FirstTouch:
		if prev != nil {
			return nil
		}
		earlier, err := e.st.EarlierAlertMatch(ctx, r.ID, src, ev.Time, ev.ID)
		if err != nil || earlier {
			return err
		}
		// Before the rule existed: the stored events.
		n, err := e.st.CountEvents(ctx, store.EventFilter{SrcIP: src, Decky: ev.Decky, Until: ev.Time})
		if err != nil || n > 0 {
			return err
		}
	}
	a.Title = title(r, src, a.Count, ev)
	if honey != nil {
		a.Title = honey.title(r.Name, src, ev.Decky)
		if honey.read != "" {
			a.EventIDs = []string{honey.read, ev.ID} // where it was read, then where it was tried
		}
	}
	created, err := e.st.OpenAlert(ctx, a)
	if err != nil {
		return err
	}
	if !created && a.Key != key {
		// Another alert is active (an older event arriving late): it
		// takes this one.
		return e.st.TouchAlert(ctx, a.ID, ev.ID, ev.Time, fresh)
	}
	if created {
		e.log.Info("alert raised", "alert_id", a.ID, "rule_id", r.ID, "rule", r.Name, "source", src, "count", a.Count)
		if e.OnRaise != nil {
			e.OnRaise(*a)
		}
	}
	return e.publish(ctx, a, r.Condition.Kind, ev.Decky)
}

func (e *Evaluator) publish(ctx context.Context, a *store.Alert, kind, decky string) error {
	if e.opts.Publisher == nil {
		return nil
	}
	return e.opts.Publisher.Publish(ctx, []event.Event{RaisedEvent(a, kind, decky)})
}

func title(r *compiled, src string, n int64, ev *event.Event) string {
	if src == "" {
		src = "no source address"
	}
	switch r.Condition.Kind {
	case Threshold:
		return fmt.Sprintf("%s: %d matching events from %s within %s", r.Name, n, src, time.Duration(r.Condition.Window))
	case FirstTouch:
		return fmt.Sprintf("%s: %s touched decky %s for the first time", r.Name, src, ev.Decky)
	case HoneyCredential:
		return fmt.Sprintf("%s: %s used a honey credential on %s", r.Name, src, ev.Decky)
	}
	if ev.Type == CanaryType {
		return fmt.Sprintf("%s: canary token %q (%s) fired from %s", r.Name, fieldString(ev, "memo"), fieldString(ev, "kind"), src)
	}
	return fmt.Sprintf("%s: %s from %s", r.Name, ev.Type, src)
}

// RaisedEvent is the event that announces an alert on the stream. Its id
// is the alert's, so publishing it twice stores it once. It carries no
// src endpoint: the source is a field, so that the alert does not count
// as one of the attacker's own events.
func RaisedEvent(a *store.Alert, kind, decky string) event.Event {
	ts := a.CreatedAt
	if ts.IsZero() {
		ts = time.Now().UTC()
	}
	return event.Event{Schema: event.SchemaVersion, ID: a.ID, Time: ts, Type: RaisedType, Severity: a.Severity, Host: Host,
		Decky: decky, Service: "alert", Fields: map[string]any{
			"alert_id": a.ID, "rule_id": a.RuleID, "rule": a.RuleName, "condition": kind, "source": a.Source, "title": a.Title,
			"count": a.Count, "event_ids": a.EventIDs, "first_seen": a.First.UTC().Format(time.RFC3339Nano),
			"last_seen": a.Last.UTC().Format(time.RFC3339Nano)}}
}

// topology returns what the rules need of a topology: its name and the
// LANs of each decky, from a cache read again every 30 s or on a miss.
func (e *Evaluator) topology(ctx context.Context, id string) (topoInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.topos[id]; ok && time.Since(e.toposT) < 30*time.Second {
		return t, nil
	}
	if time.Since(e.toposT) < time.Second && e.topos != nil {
		return e.topos[id], nil // a miss re-reads at most once a second
	}
	tops, err := e.st.ListTopologies(ctx)
	if err != nil {
		return topoInfo{}, err
	}
	e.topos, e.toposT = map[string]topoInfo{}, time.Now()
	for _, t := range tops {
		info := topoInfo{name: t.Name, lans: map[string][]string{}}
		if spec, err := topology.DecodeBytes(t.Spec); err == nil {
			for _, d := range spec.Deckies {
				for _, a := range d.Addresses {
					info.lans[d.Name] = append(info.lans[d.Name], a.LAN)
				}
			}
		}
		e.topos[t.ID] = info
	}
	return e.topos[id], nil
}

// CanaryType is the event type of a fired canary token (package canary
// declares it); its alert titles name the token.
const CanaryType = "decnet.canary.triggered"

func fieldString(ev *event.Event, key string) string {
	v, _ := ev.Fields[key].(string)
	return v
}

// honeyUse is a honey credential tried in an event: where it was
// planted, and the event in which its source read it there, if stored.
type honeyUse struct {
	planted store.HoneyCredential
	read    string
}

func (h *honeyUse) title(rule, src, decky string) string {
	p := h.planted
	s := fmt.Sprintf("%s: %s tried honey credential %s on decky %s; it was planted on decky %s (%s %s)", rule, src, p.Principal, decky, p.Decky, p.Service, p.Path)
	if h.read != "" {
		s += ", read by the same source in event " + h.read
	}
	return s
}

// honeyUse looks the event's credential up among the honey credentials
// and, for the first place it was planted, the event in which the same
// source read that file (a command or a transfer naming it) on that
// decky before the attempt.
func (e *Evaluator) honeyUse(ctx context.Context, ev *event.Event) (*honeyUse, error) {
	places, err := e.opts.Honey.Lookup(ctx, ev.Credential)
	if err != nil || len(places) == 0 {
		return nil, err
	}
	h := &honeyUse{planted: places[0]}
	src := sourceOf(ev)
	if src == "" {
		return h, nil
	}
	for _, p := range places {
		if id := e.read(src, p); id != "" {
			h.planted, h.read = p, id
			return h, nil
		}
	}
	for _, p := range places {
		evs, err := e.st.ListEvents(ctx, store.EventFilter{SrcIP: src, Decky: p.Decky, Text: baitName(p), Until: ev.Time, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			h.planted, h.read = p, evs[0].ID
			break
		}
	}
	return h, nil
}

// baitName is what an event that reads a bait file names: the file's
// name, or a message's subject.
func baitName(p store.HoneyCredential) string {
	if p.Service == "mail" {
		return p.Path
	}
	return path.Base(p.Path)
}

func readKey(src, decky, p string) string { return src + "|" + decky + "|" + p }

func (e *Evaluator) read(src string, p store.HoneyCredential) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reads[readKey(src, p.Decky, p.Path)]
}

// noteRead remembers an event whose source read a bait file: one of its
// text fields names a file planted on its decky.
func (e *Evaluator) noteRead(ctx context.Context, ev *event.Event) error {
	if e.opts.Honey == nil || ev.Src == nil || ev.Decky == "" || len(ev.Fields) == 0 {
		return nil
	}
	planted, err := e.opts.Honey.Planted(ctx, ev.Decky)
	if err != nil || len(planted) == 0 {
		return err
	}
	src := sourceOf(ev)
	for _, p := range planted {
		name := baitName(p)
		for _, v := range ev.Fields {
			if s, ok := v.(string); ok && strings.Contains(s, name) {
				e.mu.Lock()
				if e.reads == nil || len(e.reads) >= maxReads {
					e.reads = map[string]string{}
				}
				k := readKey(src, p.Decky, p.Path)
				if _, seen := e.reads[k]; !seen {
					e.reads[k] = ev.ID
				}
				e.mu.Unlock()
				break
			}
		}
	}
	return nil
}
