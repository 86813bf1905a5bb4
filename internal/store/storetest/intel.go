package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

func testIntel(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	const ip1, ip2 = "203.0.113.7", "2001:db8::7"
	// Enrichment may arrive before the attacker row: it is kept, and
	// shows once the attacker exists.
	in := store.AttackerIntel{Country: "FR", CountryName: "France", City: "Paris", ASN: 4294967295, ASOrg: "Example AS",
		PTR: "host.example.", UpdatedAt: base}
	must(t, s.SetAttackerIntel(c, map[string]store.AttackerIntel{ip1: in}))
	insert(t, s, []event.Event{ev(1, "ssh.session.open", "web", ip1, nil), ev(2, "ssh.session.open", "web", ip2, nil)}, 2)
	a, err := s.Attacker(c, ip1)
	must(t, err)
	if a.Intel == nil || !equalJSON(*a.Intel, in) {
		t.Fatalf("Intel = %+v, want %+v", a.Intel, in)
	}
	b, err := s.Attacker(c, ip2)
	must(t, err)
	if b.Intel != nil {
		t.Fatalf("attacker without enrichment has Intel %+v", b.Intel)
	}
	// An upsert replaces every field.
	in2 := store.AttackerIntel{Country: "DE", City: "", ASN: 64500, UpdatedAt: base.Add(time.Hour)}
	must(t, s.SetAttackerIntel(c, map[string]store.AttackerIntel{ip1: in2}))
	a, _ = s.Attacker(c, ip1)
	if a.Intel == nil || !equalJSON(*a.Intel, in2) {
		t.Fatalf("Intel after update = %+v, want %+v", a.Intel, in2)
	}
	must(t, s.SetAttackerIntel(c, map[string]store.AttackerIntel{ip2: {Country: "US", ASN: 64501, UpdatedAt: base}}))
	for _, tc := range []struct {
		name string
		f    store.AttackerFilter
		want []string
	}{
		{"all", store.AttackerFilter{}, []string{ip2, ip1}},
		{"country", store.AttackerFilter{Country: "DE"}, []string{ip1}},
		{"asn", store.AttackerFilter{ASN: 64501}, []string{ip2}},
		{"both", store.AttackerFilter{Country: "DE", ASN: 64501}, nil},
		{"limit", store.AttackerFilter{Limit: 1}, []string{ip2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAttackers(c, tc.f)
			must(t, err)
			if !equalJSON(attackerIPs(got), tc.want) {
				t.Fatalf("ListAttackers(%+v) = %v, want %v", tc.f, attackerIPs(got), tc.want)
			}
		})
	}
}

func attackerIPs(as []store.Attacker) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.IP)
	}
	return out
}

func testEventTags(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	const ip1, ip2 = "198.51.100.77", "198.51.100.78"
	events := []event.Event{
		ev(10, "ssh.login.failed", "web", ip1, pw("root", "a")),
		ev(20, "ssh.login.failed", "web", ip1, pw("root", "b")),
		ev(30, "ssh.command.input", "web", ip1, nil),
		ev(40, "ssh.login.failed", "db", ip2, pw("root", "c")),
	}
	insert(t, s, events, len(events))
	tag := func(i int, technique, rule string) store.EventTag {
		return store.EventTag{EventID: events[i].ID, Technique: technique, Rule: rule, SrcIP: events[i].Src.IP, Time: events[i].Time}
	}
	tags := []store.EventTag{
		tag(0, "T1110.001", "brute-force-password"),
		tag(1, "T1110.001", "brute-force-password"),
		tag(2, "T1059.004", "unix-shell"),
		tag(2, "T1105", "ingress-wget"),
		tag(3, "T1110.001", "brute-force-password"),
		tag(3, "T1110", "brute-force"),
	}
	n, err := s.AddEventTags(c, tags)
	must(t, err)
	if n != len(tags) {
		t.Fatalf("AddEventTags stored %d, want %d", n, len(tags))
	}
	// Replayed (the tagger redelivered or rebuilt): nothing new, counts
	// unchanged.
	before := snapshot(t, s)
	if n, err = s.AddEventTags(c, append(tags, tag(0, "T1110.001", "another-rule"))); err != nil || n != 0 {
		t.Fatalf("replayed AddEventTags = %d, %v; want 0", n, err)
	}
	if after := snapshot(t, s); after != before {
		t.Fatalf("replayed tags changed the aggregates:\n%s\n%s", before, after)
	}
	a, err := s.Attacker(c, ip1)
	must(t, err)
	want := []store.TechniqueCount{
		{ID: "T1059.004", Events: 1, FirstSeen: base.Add(30 * time.Second), LastSeen: base.Add(30 * time.Second)},
		{ID: "T1105", Events: 1, FirstSeen: base.Add(30 * time.Second), LastSeen: base.Add(30 * time.Second)},
		{ID: "T1110.001", Events: 2, FirstSeen: base.Add(10 * time.Second), LastSeen: base.Add(20 * time.Second)},
	}
	if !equalJSON(a.Techniques, want) {
		t.Fatalf("Techniques = %+v, want %+v", a.Techniques, want)
	}
	got, err := s.EventTags(c, []string{events[2].ID, events[0].ID, "no-such-event"})
	must(t, err)
	if len(got) != 2 || len(got[events[2].ID]) != 2 || got[events[2].ID][0].Technique != "T1059.004" ||
		got[events[0].ID][0].Rule != "brute-force-password" || !got[events[0].ID][0].Time.Equal(events[0].Time) {
		t.Fatalf("EventTags = %+v", got)
	}
	for _, tc := range []struct {
		tag    string
		events []string
		ips    []string
	}{
		{"T1110", newestFirst([]event.Event{events[0], events[1], events[3]}), []string{ip2, ip1}},
		{"T1110.001", newestFirst([]event.Event{events[0], events[1], events[3]}), []string{ip2, ip1}},
		{"T1059", []string{events[2].ID}, []string{ip1}},
		{"T1059.004", []string{events[2].ID}, []string{ip1}},
		{"T1105", []string{events[2].ID}, []string{ip1}},
		{"T110", nil, nil}, // a prefix of an id is not a parent technique
		{"T1003", nil, nil},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			es, err := s.ListEvents(c, store.EventFilter{Tag: tc.tag})
			must(t, err)
			if !equalJSON(nilIfEmpty(ids(es)), tc.events) {
				t.Errorf("ListEvents(tag %s) = %v, want %v", tc.tag, ids(es), tc.events)
			}
			n, err := s.CountEvents(c, store.EventFilter{Tag: tc.tag})
			must(t, err)
			if n != int64(len(tc.events)) {
				t.Errorf("CountEvents(tag %s) = %d, want %d", tc.tag, n, len(tc.events))
			}
			as, err := s.ListAttackers(c, store.AttackerFilter{Tag: tc.tag})
			must(t, err)
			if !equalJSON(attackerIPs(as), tc.ips) {
				t.Errorf("ListAttackers(tag %s) = %v, want %v", tc.tag, attackerIPs(as), tc.ips)
			}
		})
	}
	// Counts over the fleet, in a time range.
	for _, tc := range []struct {
		name         string
		since, until time.Time
		want         string
	}{
		{"all", time.Time{}, time.Time{}, "T1059.004:1 T1105:1 T1110:1 T1110.001:3"},
		{"since", base.Add(30 * time.Second), time.Time{}, "T1059.004:1 T1105:1 T1110:1 T1110.001:1"},
		{"until", time.Time{}, base.Add(30 * time.Second), "T1110.001:2"},
		{"empty", base.Add(time.Hour), time.Time{}, ""},
	} {
		got, err := s.TechniqueCounts(c, tc.since, tc.until)
		must(t, err)
		var parts []string
		for _, x := range got {
			parts = append(parts, fmt.Sprintf("%s:%d", x.ID, x.Events))
		}
		if strings.Join(parts, " ") != tc.want {
			t.Errorf("TechniqueCounts(%s) = %v, want %s", tc.name, parts, tc.want)
		}
		if tc.name == "all" && (!got[3].FirstSeen.Equal(base.Add(10*time.Second)) || !got[3].LastSeen.Equal(base.Add(40*time.Second))) {
			t.Errorf("T1110.001 seen %v..%v", got[3].FirstSeen, got[3].LastSeen)
		}
	}
	// Oldest first pages forward.
	asc, err := s.ListEvents(c, store.EventFilter{Oldest: true, Limit: 2})
	must(t, err)
	if !equalJSON(ids(asc), ids(events[:2])) {
		t.Fatalf("oldest first = %v, want %v", ids(asc), ids(events[:2]))
	}
	asc, err = s.ListEvents(c, store.EventFilter{Oldest: true, After: events[1].ID})
	must(t, err)
	if !equalJSON(ids(asc), ids(events[2:])) {
		t.Fatalf("oldest first after %s = %v, want %v", events[1].ID, ids(asc), ids(events[2:]))
	}
	// Cleared, then stored again (a rebuild): the same counts.
	before = snapshot(t, s)
	must(t, s.ClearEventTags(c))
	if a, _ = s.Attacker(c, ip1); len(a.Techniques) != 0 {
		t.Fatalf("techniques after clear: %+v", a.Techniques)
	}
	if got, _ = s.EventTags(c, ids(events)); len(got) != 0 {
		t.Fatalf("tags after clear: %+v", got)
	}
	if n, err = s.AddEventTags(c, tags); err != nil || n != len(tags) {
		t.Fatalf("AddEventTags after clear = %d, %v", n, err)
	}
	if after := snapshot(t, s); after != before {
		t.Fatalf("rebuilt tags differ:\n%s\n%s", before, after)
	}
	// Retention removes the tags of deleted events; the attackers keep
	// their counts, as they keep their event counts.
	if _, err := s.DeleteEventsBefore(c, base.Add(25*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err = s.EventTags(c, []string{events[0].ID, events[2].ID})
	must(t, err)
	if len(got) != 1 || got[events[2].ID] == nil {
		t.Fatalf("EventTags after retention = %+v", got)
	}
	if a, _ = s.Attacker(c, ip1); !equalJSON(a.Techniques, want) {
		t.Fatalf("Techniques after retention = %+v", a.Techniques)
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
