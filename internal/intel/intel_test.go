package intel_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/bus/bustest"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/intel/geo"
	"github.com/decnet/decnet/internal/intel/geo/geotest"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
	"github.com/decnet/decnet/internal/testenv"
)

func events() []event.Event {
	at := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(typ, ip string, fields map[string]any, cred *event.Credential) event.Event {
		svc, _, _ := strings.Cut(typ, ".")
		at = at.Add(time.Second)
		return event.Event{Schema: 1, ID: event.NewID(), Time: at, Type: typ, Decky: "web-1", Service: svc,
			Src: &event.Endpoint{IP: ip, Port: 40000}, Fields: fields, Credential: cred}
	}
	pw := func(u, p string) *event.Credential {
		return event.NewCredential("plaintext", "password", u, []byte(p), true)
	}
	return []event.Event{
		mk("ssh.login.failed", "203.0.113.5", map[string]any{"user": "root"}, pw("root", "123456")),
		mk("ssh.login.success", "203.0.113.5", map[string]any{"user": "root"}, pw("root", "toor")),
		mk("ssh.command.input", "203.0.113.5", map[string]any{"command_line": "cat /etc/shadow"}, nil),
		mk("ssh.file.fetch", "203.0.113.5", map[string]any{"url": "http://198.51.100.20/x", "tool": "wget"}, nil),
		mk("http.request.received", "198.51.100.9", map[string]any{"path": "/"}, nil),
	}
}

func publish(t *testing.T, srv *bus.Server, evs []event.Event) {
	t.Helper()
	pub, err := bus.NewPublisher(srv.ClientURL(), "h1", bus.PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// run runs fn until the test ends.
func run(t *testing.T, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func techniques(a *store.Attacker) []string {
	var out []string
	for _, t := range a.Techniques {
		out = append(out, t.ID)
	}
	return out
}

// The tagger and the enricher consume the stream on their own durable
// positions and fill the attacker beside the ingested aggregates;
// redelivered events change nothing.
func TestConsumersFillTheAttacker(t *testing.T) {
	srv, js := bustest.Start(t)
	st := storetest.SQLite(t)
	ctx := context.Background()
	dir := t.TempDir()
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	geotest.WriteCity(t, city, geotest.City{Network: "203.0.113.0/24", Country: "FR", CountryName: "France", City: "Paris"})
	geotest.WriteASN(t, asn, geotest.ASN{Network: "203.0.113.0/24", Number: 64500, Org: "Example Transit"})
	db := geo.New(geo.Options{City: city, ASN: asn})
	if err := db.Reload(); err != nil {
		t.Fatal(err)
	}
	eng, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	log := testenv.Logger(t, 0)
	evs := events()
	if _, err := st.InsertEvents(ctx, evs); err != nil { // as the ingester would
		t.Fatal(err)
	}
	publish(t, srv, evs)
	tagger := intel.NewTagger(eng, st, log)
	run(t, func(ctx context.Context) error { return tagger.Run(ctx, js) })
	enricher := intel.NewEnricher(st, intel.EnricherOptions{Geo: db, Log: log})
	run(t, func(ctx context.Context) error { return enricher.Run(ctx, js) })

	want := []string{"T1003.008", "T1021.004", "T1059.004", "T1078", "T1105", "T1110.001"}
	var a *store.Attacker
	waitFor(t, "the attacker's techniques and enrichment", func() bool {
		a, err = st.Attacker(ctx, "203.0.113.5")
		return err == nil && a.Intel != nil && slices.Equal(techniques(a), want)
	})
	if in := a.Intel; in.Country != "FR" || in.City != "Paris" || in.ASN != 64500 || in.ASOrg != "Example Transit" || in.PTR != "" {
		t.Errorf("intel = %+v", in)
	}
	other, err := st.Attacker(ctx, "198.51.100.9")
	if err != nil {
		t.Fatal(err)
	}
	if other.Intel != nil || len(other.Techniques) != 0 {
		t.Errorf("an address no database knows, with no technique: %+v", other)
	}
	tagged, err := st.ListEvents(ctx, store.EventFilter{Tag: "T1110"})
	if err != nil || len(tagged) != 1 || tagged[0].ID != evs[0].ID {
		t.Fatalf("events tagged T1110: %v %v", tagged, err)
	}
	// Redelivery (a crash before the acknowledgement): counts stay.
	before, _ := st.Attacker(ctx, "203.0.113.5")
	publish(t, srv, evs)
	marker := events()[4] // a last, untagged event: once it is handled, so are the replays
	marker.Src.IP = "203.0.113.77"
	publish(t, srv, []event.Event{marker})
	if _, err := st.InsertEvents(ctx, []event.Event{marker}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the marker's enrichment", func() bool {
		m, err := st.Attacker(ctx, "203.0.113.77")
		return err == nil && m.Intel != nil
	})
	// The enricher and the tagger are separate consumers: wait on the
	// tagger's position too.
	waitFor(t, "the tagger to pass the replays", func() bool {
		info, err := js.Consumer(ctx, bus.StreamName, intel.TaggerDurable)
		if err != nil {
			return false
		}
		ci, err := info.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	after, _ := st.Attacker(ctx, "203.0.113.5")
	if !slices.EqualFunc(before.Techniques, after.Techniques, func(x, y store.TechniqueCount) bool { return x == y }) {
		t.Errorf("replay changed the counts: %+v -> %+v", before.Techniques, after.Techniques)
	}
}

type fakeResolver map[string][]string

func (f fakeResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	if n, ok := f[addr]; ok {
		return n, nil
	}
	return nil, errors.New("no such host")
}

// Reverse DNS is off unless asked; on, the first name is stored without
// its final dot and bounded, and a failed lookup stores nothing.
func TestReverseDNS(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	evs := events()
	if _, err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 300) + ".example."
	res := fakeResolver{"203.0.113.5": {"scanner-7.example.net.", "other."}, "198.51.100.9": {long}}
	off := intel.NewEnricher(st, intel.EnricherOptions{Resolver: res})
	if off.Enabled() {
		t.Fatal("enrichment enabled with neither databases nor reverse DNS")
	}
	on := intel.NewEnricher(st, intel.EnricherOptions{ReverseDNS: true, Resolver: res})
	if err := on.Handle(ctx, evs); err != nil {
		t.Fatal(err)
	}
	a, _ := st.Attacker(ctx, "203.0.113.5")
	if a.Intel == nil || a.Intel.PTR != "scanner-7.example.net" || a.Intel.Country != "" {
		t.Fatalf("intel = %+v", a.Intel)
	}
	b, _ := st.Attacker(ctx, "198.51.100.9")
	if b.Intel == nil || len(b.Intel.PTR) > 255 {
		t.Fatalf("long PTR: %+v", b.Intel)
	}
}

// Absent databases mean no enrichment and no error; once the database
// appears, addresses are looked up again.
func TestDatabaseAppearsLater(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	evs := events()
	if _, err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	city := filepath.Join(t.TempDir(), "city.mmdb")
	db := geo.New(geo.Options{City: city})
	if err := db.Reload(); err != nil {
		t.Fatal(err)
	}
	e := intel.NewEnricher(st, intel.EnricherOptions{Geo: db})
	if err := e.Handle(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if a, _ := st.Attacker(ctx, "203.0.113.5"); a.Intel != nil {
		t.Fatalf("intel without a database: %+v", a.Intel)
	}
	geotest.WriteCity(t, city, geotest.City{Network: "203.0.113.0/24", Country: "BR", CountryName: "Brazil"})
	if err := db.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := e.Handle(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if a, _ := st.Attacker(ctx, "203.0.113.5"); a.Intel == nil || a.Intel.Country != "BR" {
		t.Fatalf("intel after the database appeared: %+v", a.Intel)
	}
}

// A rebuild from the stored events reproduces what the consumer made,
// and with Reset drops what no rule makes any more.
func TestRebuildReproducesTheTags(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	eng, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	for range 3 { // more than one page of a small rebuild is not needed: pages are tested in storetest
		evs = append(evs, events()...)
	}
	if _, err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := intel.NewTagger(eng, st, nil).Handle(ctx, evs); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		a, err := st.ListAttackers(ctx, store.AttackerFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, x := range a {
			for _, tc := range x.Techniques {
				b.WriteString(x.IP + " " + tc.ID + " " + tc.FirstSeen.String() + " " + tc.LastSeen.String() + " " + strings.Repeat("|", int(tc.Events)) + "\n")
			}
		}
		return b.String()
	}
	want := snapshot()
	if want == "" {
		t.Fatal("nothing tagged")
	}
	// A stray tag no rule makes: Reset removes it.
	if _, err := st.AddEventTags(ctx, []store.EventTag{{EventID: evs[4].ID, Technique: "T1499", Rule: "gone", SrcIP: "198.51.100.9", Time: evs[4].Time}}); err != nil {
		t.Fatal(err)
	}
	fresh, _ := attack.Load()
	n, err := intel.Rebuild(ctx, st, intel.RebuildOptions{Tagger: intel.NewTagger(fresh, st, nil), Reset: true})
	if err != nil || n != len(evs) {
		t.Fatalf("Rebuild = %d, %v; want %d events", n, err, len(evs))
	}
	if got := snapshot(); got != want {
		t.Fatalf("rebuilt:\n%s\nwant:\n%s", got, want)
	}
}

// TestRebuildRaisesNoAlertTwice: replaying the stored events through a
// fresh alert evaluator leaves the alerts as the live one made them,
// also after one was closed.
func TestRebuildRaisesNoAlertTwice(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	r := alert.Rule{Name: "any login", Severity: event.High, Match: alert.Match{Types: []string{"ssh.login.*"}}}
	if err := r.Validate(false); err != nil {
		t.Fatal(err)
	}
	spec, _ := alert.SpecOf(&r)
	if err := st.CreateAlertRule(ctx, &store.AlertRuleRow{ID: event.NewID(), Name: r.Name, Enabled: true, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	evs := events()
	if _, err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := alert.New(st, alert.Options{}).Handle(ctx, evs); err != nil {
		t.Fatal(err)
	}
	list := func() []store.Alert {
		as, err := st.ListAlerts(ctx, store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	before := list()
	if len(before) != 1 || before[0].Count != 2 {
		t.Fatalf("live alerts %+v", before)
	}
	if _, err := st.SetAlertStatus(ctx, before[0].ID, []string{store.AlertOpen}, store.AlertClosed, "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := intel.Rebuild(ctx, st, intel.RebuildOptions{Alerts: alert.New(st, alert.Options{})}); err != nil {
		t.Fatal(err)
	}
	after := list()
	if len(after) != 1 || after[0].ID != before[0].ID || after[0].Count != 2 || after[0].Status != store.AlertClosed {
		t.Fatalf("after the rebuild: %+v", after)
	}
}

// TestWindowsSurviveARestart: password spraying split by a restart (two
// accounts before, one after) is still tagged, the restarted tagger
// having warmed its windows from the stored events.
func TestWindowsSurviveARestart(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	spray := func(user string) event.Event {
		at = at.Add(time.Second)
		return event.Event{Schema: 1, ID: event.NewID(), Time: at, Type: "ssh.login.failed", Decky: "web-1", Service: "ssh",
			Src: &event.Endpoint{IP: "203.0.113.77", Port: 40000}, Credential: event.NewCredential("plaintext", "password", user, []byte("Winter2024!"), true)}
	}
	before := []event.Event{spray("alice"), spray("bob")}
	if _, err := st.InsertEvents(ctx, before); err != nil {
		t.Fatal(err)
	}
	eng, _ := attack.Load()
	if err := intel.NewTagger(eng, st, nil).Handle(ctx, before); err != nil {
		t.Fatal(err)
	}
	// The restart: a new engine, warmed, then the third account.
	fresh, _ := attack.Load()
	tagger := intel.NewTagger(fresh, st, nil)
	n, err := tagger.Warm(ctx, st, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("Warm = %d, %v", n, err)
	}
	after := spray("carol")
	if err := tagger.Handle(ctx, []event.Event{after}); err != nil {
		t.Fatal(err)
	}
	tags, _ := st.EventTags(ctx, []string{after.ID})
	if !slices.ContainsFunc(tags[after.ID], func(g store.EventTag) bool { return g.Technique == "T1110.003" }) {
		t.Fatalf("the third account after a restart: tags %+v, want T1110.003", tags[after.ID])
	}
	// Without warming, the window starts over.
	cold, _ := attack.Load()
	other := spray("dave")
	if err := intel.NewTagger(cold, st, nil).Handle(ctx, []event.Event{other}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := st.EventTags(ctx, []string{other.ID}); slices.ContainsFunc(tags[other.ID], func(g store.EventTag) bool { return g.Technique == "T1110.003" }) {
		t.Fatal("a cold tagger saw the earlier accounts")
	}
}
