package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
)

// published records what the evaluator publishes, deduplicated by id as
// the stream does.
type published struct {
	mu     sync.Mutex
	ids    map[string]bool
	events []event.Event
	fail   bool
}

func (p *published) Publish(_ context.Context, evs []event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("bus down")
	}
	if p.ids == nil {
		p.ids = map[string]bool{}
	}
	for _, e := range evs {
		if !p.ids[e.ID] {
			p.ids[e.ID] = true
			p.events = append(p.events, e)
		}
	}
	return nil
}

func (p *published) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

func addRule(t *testing.T, st store.Store, r alert.Rule) string {
	t.Helper()
	if err := r.Validate(false); err != nil {
		t.Fatal(err)
	}
	spec, err := alert.SpecOf(&r)
	if err != nil {
		t.Fatal(err)
	}
	row := &store.AlertRuleRow{ID: event.NewID(), Name: r.Name, Enabled: true, Spec: spec}
	if err := st.CreateAlertRule(t.Context(), row); err != nil {
		t.Fatal(err)
	}
	return row.ID
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func failed(ip string, at time.Duration) event.Event {
	return event.Event{Schema: 1, ID: event.NewID(), Time: t0.Add(at), Type: "ssh.login.failed", Severity: event.Medium, Decky: "gw-01",
		Service: "ssh", Src: &event.Endpoint{IP: ip, Port: 40000},
		Credential: event.NewCredential("plaintext", "password", "root", []byte("123456"), true)}
}

func alerts(t *testing.T, st store.Store, f store.AlertFilter) []store.Alert {
	t.Helper()
	as, err := st.ListAlerts(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func handle(t *testing.T, ev *alert.Evaluator, evs ...event.Event) {
	t.Helper()
	if err := ev.Handle(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
}

// TestThresholdRaisesOnceAndGrows: "3 ssh.login.failed from one source
// within 60 s" raises one alert with its evidence, later failures join
// it, and redelivery, a restart, a replay and a failed publish change
// nothing or publish the same event again.
func TestThresholdRaisesOnceAndGrows(t *testing.T) {
	st := storetest.SQLite(t)
	rule := addRule(t, st, alert.Rule{Name: "ssh brute force", Severity: event.High,
		Match:     alert.Match{Types: []string{"ssh.login.failed"}},
		Condition: alert.Condition{Kind: alert.Threshold, Count: 3, Window: alert.Duration(time.Minute)}})
	pub := &published{}
	ev := alert.New(st, alert.Options{Publisher: pub})
	// Two failures, then one 2 minutes later: never 3 within a minute.
	early := []event.Event{failed("203.0.113.5", 0), failed("203.0.113.5", 10*time.Second), failed("203.0.113.5", 130*time.Second)}
	handle(t, ev, early...)
	if as := alerts(t, st, store.AlertFilter{}); len(as) != 0 || pub.count() != 0 {
		t.Fatalf("alerts before the threshold: %+v", as)
	}
	burst := []event.Event{failed("203.0.113.5", 140*time.Second), failed("198.51.100.1", 141*time.Second), failed("203.0.113.5", 150*time.Second)}
	handle(t, ev, burst...)
	as := alerts(t, st, store.AlertFilter{})
	if len(as) != 1 || pub.count() != 1 {
		t.Fatalf("%d alerts, %d published; want 1 and 1", len(as), pub.count())
	}
	a := as[0]
	want := []string{early[2].ID, burst[0].ID, burst[2].ID}
	if a.RuleID != rule || a.Source != "203.0.113.5" || a.Count != 3 || !slices.Equal(a.EventIDs, want) || a.Status != store.AlertOpen ||
		!a.First.Equal(early[2].Time) || !a.Last.Equal(burst[2].Time) || a.Severity != event.High {
		t.Fatalf("alert %+v, want evidence %v", a, want)
	}
	raised := pub.events[0]
	if raised.Type != alert.RaisedType || raised.ID != a.ID || raised.Src != nil || raised.Fields["source"] != "203.0.113.5" ||
		raised.Fields["count"] != int64(3) || raised.Severity != event.High || !strings.Contains(raised.Fields["title"].(string), "3 matching events") {
		t.Fatalf("raised event %+v", raised)
	}
	if _, err := json.Marshal(raised); err != nil {
		t.Fatal(err)
	}

	// Later failures join the alert; the raised event is not repeated.
	more := failed("203.0.113.5", 170*time.Second)
	handle(t, ev, more)
	// Redelivery of everything, and a new evaluator (a restart or a
	// rebuild) replaying it all: nothing new.
	all := append(append(append([]event.Event{}, early...), burst...), more, raised)
	handle(t, ev, all...)
	handle(t, alert.New(st, alert.Options{Publisher: pub}), all...)
	as = alerts(t, st, store.AlertFilter{})
	if len(as) != 1 || as[0].Count != 4 || len(as[0].EventIDs) != 4 || !as[0].Last.Equal(more.Time) || pub.count() != 1 {
		t.Fatalf("after more, redelivery and replay: %d alerts %+v, %d published", len(as), as, pub.count())
	}

	// Closed, the alert keeps its events on replay; a new failure within
	// the window does not raise at once (what the closed alert had
	// counts no more), three new ones do.
	if _, err := st.SetAlertStatus(t.Context(), a.ID, []string{store.AlertOpen}, store.AlertClosed, "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	handle(t, ev, all...)
	next := []event.Event{failed("203.0.113.5", 175*time.Second), failed("203.0.113.5", 176*time.Second)}
	handle(t, ev, next...)
	if as := alerts(t, st, store.AlertFilter{}); len(as) != 1 {
		t.Fatalf("%d alerts after close and 2 failures, want 1", len(as))
	}
	// The publish fails: the batch fails, and its redelivery publishes.
	pub.fail = true
	last := failed("203.0.113.5", 177*time.Second)
	if err := ev.Handle(t.Context(), []event.Event{last}); err == nil {
		t.Fatal("a failed publish did not fail the batch")
	}
	pub.fail = false
	handle(t, ev, last)
	as = alerts(t, st, store.AlertFilter{Status: store.AlertOpen})
	if len(as) != 1 || as[0].ID == a.ID || as[0].Count != 3 || pub.count() != 2 {
		t.Fatalf("after close and 3 failures: %+v, %d published", as, pub.count())
	}
}

// countingStore counts the evaluator's per-event reads.
type countingStore struct {
	store.Store
	alertAt atomic.Int64
}

func (c *countingStore) AlertAt(ctx context.Context, ruleID, source string, t time.Time) (*store.Alert, error) {
	c.alertAt.Add(1)
	return c.Store.AlertAt(ctx, ruleID, source, t)
}

// TestThresholdFloodSettledPerBatch: a flood of failures from 2,000
// sources, each below the count, is settled by one read for the batch;
// only the source that crosses is evaluated event by event, and raises
// one alert with its three events.
func TestThresholdFloodSettledPerBatch(t *testing.T) {
	st := &countingStore{Store: storetest.SQLite(t)}
	addRule(t, st, alert.Rule{Name: "ssh brute force", Severity: event.High,
		Match:     alert.Match{Types: []string{"ssh.login.failed"}},
		Condition: alert.Condition{Kind: alert.Threshold, Count: 3, Window: alert.Duration(time.Minute)}})
	pub := &published{}
	ev := alert.New(st, alert.Options{Publisher: pub})
	var flood []event.Event
	for i := range 2000 {
		flood = append(flood, failed(fmt.Sprintf("198.18.%d.%d", i/250, i%250), time.Duration(i)*time.Millisecond))
		if i%700 == 0 {
			flood = append(flood, failed("203.0.113.5", time.Duration(i)*time.Millisecond))
		}
	}
	handle(t, ev, flood...)
	as := alerts(t, st, store.AlertFilter{})
	if len(as) != 1 || as[0].Source != "203.0.113.5" || as[0].Count != 3 || pub.count() != 1 {
		t.Fatalf("alerts %+v, %d published; want one for 203.0.113.5 with 3 events", as, pub.count())
	}
	if n := st.alertAt.Load(); n != 3 {
		t.Fatalf("%d per-event alert reads for %d events, want 3 (the crossing source's)", n, len(flood))
	}
	// The next batch: one more failure from a flood source is settled
	// again, one from the alerted source joins its alert.
	handle(t, ev, failed("198.18.0.1", 3*time.Second), failed("203.0.113.5", 3*time.Second))
	if as := alerts(t, st, store.AlertFilter{}); len(as) != 1 || as[0].Count != 4 || st.alertAt.Load() != 4 {
		t.Fatalf("after the next batch: %+v, %d reads", as, st.alertAt.Load())
	}
}

// TestFirstTouch raises on a source's first event on a decky only.
func TestFirstTouch(t *testing.T) {
	st := storetest.SQLite(t)
	addRule(t, st, alert.Rule{Name: "first touch of the database", Severity: event.Critical,
		Match: alert.Match{Deckies: []string{"db-01"}}, Condition: alert.Condition{Kind: alert.FirstTouch}})
	pub := &published{}
	ev := alert.New(st, alert.Options{Publisher: pub})
	mk := func(ip, decky string, at time.Duration) event.Event {
		e := failed(ip, at)
		e.Decky = decky
		return e
	}
	// A source that touched db-01 before the rule existed (stored).
	old := mk("192.0.2.9", "db-01", 0)
	if _, err := st.InsertEvents(t.Context(), []event.Event{old}); err != nil {
		t.Fatal(err)
	}
	evs := []event.Event{mk("203.0.113.5", "gw-01", time.Second), mk("203.0.113.5", "db-01", 2*time.Second),
		mk("203.0.113.5", "db-01", 3*time.Second), mk("192.0.2.9", "db-01", 4*time.Second)}
	handle(t, ev, evs...)
	handle(t, ev, evs...)
	as := alerts(t, st, store.AlertFilter{})
	if len(as) != 1 || as[0].Source != "203.0.113.5" || as[0].Count != 2 || as[0].EventIDs[0] != evs[1].ID || pub.count() != 1 ||
		!strings.Contains(as[0].Title, "touched decky db-01 for the first time") {
		t.Fatalf("first touch alerts %+v", as)
	}
}

func TestFilters(t *testing.T) {
	st := storetest.SQLite(t)
	top := &store.Topology{Name: "maze", Spec: json.RawMessage(`{"name":"maze","lans":[{"name":"dmz"},{"name":"inner"}],"deckies":[` +
		`{"name":"gw-01","addresses":[{"lan":"dmz","ip":"10.60.0.2"},{"lan":"inner","ip":"10.60.1.2"}]},` +
		`{"name":"db-01","addresses":[{"lan":"inner","ip":"10.60.1.3"}]}]}`)}
	if err := st.CreateTopology(t.Context(), top); err != nil {
		t.Fatal(err)
	}
	eng, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		match alert.Match
		want  []string // sources alerted
	}{
		{"type glob", alert.Match{Types: []string{"*.login.*"}}, []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}},
		{"service", alert.Match{Services: []string{"http"}}, []string{"203.0.113.4"}},
		{"decky", alert.Match{Deckies: []string{"db-01"}}, []string{"203.0.113.2"}},
		{"min severity", alert.Match{MinSeverity: event.High}, []string{"203.0.113.3"}},
		{"source prefix", alert.Match{Sources: []string{"203.0.113.0/31", "203.0.113.4"}}, []string{"203.0.113.1", "203.0.113.4"}},
		{"ATT&CK tag", alert.Match{Tags: []string{"T1110"}}, []string{"203.0.113.1", "203.0.113.2"}},
		{"LAN", alert.Match{LANs: []string{"dmz"}}, []string{"203.0.113.1", "203.0.113.3", "203.0.113.4"}},
		{"topology by name", alert.Match{Topologies: []string{"maze"}, Deckies: []string{"db-01"}}, []string{"203.0.113.2"}},
	}
	mk := func(ip, typ, decky string, sev int) event.Event {
		e := failed(ip, time.Duration(len(ip))*time.Second)
		e.Type, e.Decky, e.Severity, e.Topology = typ, decky, sev, top.ID
		e.Service, _, _ = strings.Cut(typ, ".")
		if !strings.HasSuffix(typ, "failed") {
			e.Credential = nil
		}
		return e
	}
	evs := []event.Event{
		mk("203.0.113.1", "ssh.login.failed", "gw-01", event.Medium),
		mk("203.0.113.2", "ssh.login.failed", "db-01", event.Medium),
		mk("203.0.113.3", "ssh.login.success", "gw-01", event.High),
		mk("203.0.113.4", "http.request.received", "gw-01", event.Info),
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rule := addRule(t, st, alert.Rule{Name: tc.name, Match: tc.match})
			handle(t, alert.New(st, alert.Options{Tagger: eng}), evs...)
			var got []string
			for _, a := range alerts(t, st, store.AlertFilter{RuleID: rule}) {
				got = append(got, a.Source)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("alerted %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    alert.Rule
		want string
	}{
		{"no name", alert.Rule{}, "name"},
		{"severity", alert.Rule{Name: "x", Severity: 5}, "severity"},
		{"bad glob", alert.Rule{Name: "x", Match: alert.Match{Types: []string{"ssh.["}}}, "not a glob"},
		{"bad tag", alert.Rule{Name: "x", Match: alert.Match{Tags: []string{"brute"}}}, "technique id"},
		{"bad source", alert.Rule{Name: "x", Match: alert.Match{Sources: []string{"10.0.0.0/33"}}}, "address or a prefix"},
		{"threshold without count", alert.Rule{Name: "x", Condition: alert.Condition{Kind: alert.Threshold}}, "condition.count"},
		{"window too long", alert.Rule{Name: "x", Condition: alert.Condition{Kind: alert.Threshold, Count: 2, Window: alert.Duration(48 * time.Hour)}}, "condition.window"},
		{"count on each", alert.Rule{Name: "x", Condition: alert.Condition{Count: 2}}, "threshold only"},
		{"honey without registry", alert.Rule{Name: "x", Condition: alert.Condition{Kind: alert.HoneyCredential}}, "honey credentials"},
		{"unknown kind", alert.Rule{Name: "x", Condition: alert.Condition{Kind: "sometimes"}}, "condition.kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate(false)
			if !errors.Is(err, alert.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
	ok := alert.Rule{Name: " ok "}
	if err := ok.Validate(false); err != nil || ok.Condition.Kind != alert.Each || ok.Name != "ok" {
		t.Fatalf("Validate(ok) = %v, %+v", err, ok)
	}
	var c alert.Condition
	if err := json.Unmarshal([]byte(`{"kind":"threshold","count":3,"window":"60s"}`), &c); err != nil || time.Duration(c.Window) != time.Minute {
		t.Fatalf("window text: %v %v", err, c)
	}
	if err := json.Unmarshal([]byte(`{"window":90}`), &c); err != nil || time.Duration(c.Window) != 90*time.Second {
		t.Fatalf("window seconds: %v %v", err, c)
	}
}

func TestLevel(t *testing.T) {
	for _, tc := range []struct {
		counts map[int]int64
		want   string
	}{
		{nil, "none"},
		{map[int]int64{event.Info: 1}, "low"},
		{map[int]int64{event.Low: 2, event.Medium: 1}, "elevated"},
		{map[int]int64{event.High: 1}, "high"},
		{map[int]int64{event.Critical: 1}, "critical"},
		{map[int]int64{event.Medium: 10}, "high"},
		{map[int]int64{event.Critical: 12}, "critical"},
	} {
		if got := alert.Level(tc.counts); got.Level != tc.want {
			t.Errorf("Level(%v) = %+v, want %s", tc.counts, got, tc.want)
		}
	}
}
