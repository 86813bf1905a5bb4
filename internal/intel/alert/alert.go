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
	AddAlertMatch(ctx context.Context, m store.AlertMatch) (bool, error)
	AlertMatches(ctx context.Context, ruleID, source string, since, until time.Time, limit int) (int64, []string, time.Time, error)
	EarlierAlertMatch(ctx context.Context, ruleID, source string, t time.Time, eventID string) (bool, error)
	OpenAlert(ctx context.Context, a *store.Alert) (bool, error)
	AlertAt(ctx context.Context, ruleID, source string, t time.Time) (*store.Alert, error)
	TouchAlert(ctx context.Context, id, eventID string, t time.Time, fresh bool) error
	CountEvents(ctx context.Context, f store.EventFilter) (int64, error)
	ListTopologies(ctx context.Context) ([]store.Topology, error)
	Attacker(ctx context.Context, ip string) (*store.Attacker, error)
}

// Publisher delivers raised alerts to the event stream.
type Publisher interface {
	Publish(ctx context.Context, events []event.Event) error
}

// HoneyCredentials tells whether a credential is a honey credential: one
// planted on a decky that only an intruder can have found. It is the
// extension point of the honey_credential condition (issue 16).
type HoneyCredentials interface {
	IsHoney(c *event.Credential) bool
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
	idents map[string]cachedIdentity
}

// cachedIdentity is a source's identity as read at a time.
type cachedIdentity struct {
	id string
	at time.Time
}

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

// Run consumes the event stream until ctx is done. Batches are small and
// fetched often, so an alert is raised within a fraction of a second of
// the event that crosses its condition.
func (e *Evaluator) Run(ctx context.Context, js jetstream.JetStream) error {
	return bus.Consume(ctx, js, Durable, e.Handle, bus.WithBatch(256, 200*time.Millisecond), bus.WithLogger(e.log))
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
	for i := range events {
		ev := &events[i]
		if strings.HasPrefix(ev.Type, "decnet.alert.") {
			continue // our own
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
			if err := e.evaluate(ctx, r, ev); err != nil {
				return fmt.Errorf("alert rule %s, event %s: %w", r.ID, ev.ID, err)
			}
		}
	}
	return nil
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
	if r.Condition.Kind == HoneyCredential {
		return e.opts.Honey != nil && ev.Credential != nil && e.opts.Honey.IsHoney(ev.Credential)
	}
	if r.Condition.Kind == FirstTouch && (ev.Src == nil || ev.Decky == "") {
		return false
	}
	return true
}

// evaluate records a match and raises or grows the rule's alert for the
// event's source.
func (e *Evaluator) evaluate(ctx context.Context, r *compiled, ev *event.Event) error {
	src := sourceOf(ev)
	key := r.ID + "|" + src + "|" + ev.ID
	fresh, err := e.st.AddAlertMatch(ctx, store.AlertMatch{RuleID: r.ID, EventID: ev.ID, Source: src, Time: ev.Time})
	if err != nil {
		return err
	}
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
