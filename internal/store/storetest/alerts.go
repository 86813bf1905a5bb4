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

// testAlertRules covers the rule rows: the spec kept byte for byte,
// unique names, update and delete (which takes the rule's matches along).
func testAlertRules(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	spec := `{"match":{"types":["ssh.login.failed"]},"condition":{"kind":"threshold","count":3,"window":"60s"}}`
	r := &store.AlertRuleRow{ID: event.NewID(), Name: "ssh brute force", Enabled: true, Spec: json.RawMessage(spec)}
	must(t, s.CreateAlertRule(c, r))
	if r.CreatedAt.IsZero() || !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Fatalf("CreateAlertRule did not fill the times: %+v", r)
	}
	wantErr(t, s.CreateAlertRule(c, &store.AlertRuleRow{ID: event.NewID(), Name: "ssh brute force", Spec: json.RawMessage(`{}`)}), store.ErrConflict, "duplicate name")
	other := &store.AlertRuleRow{ID: event.NewID(), Name: "another", Spec: json.RawMessage(`{}`)}
	must(t, s.CreateAlertRule(c, other))
	got, err := s.AlertRule(c, r.ID)
	must(t, err)
	if got.Name != r.Name || string(got.Spec) != spec || !got.Enabled || !got.CreatedAt.Equal(r.CreatedAt) {
		t.Fatalf("AlertRule = %+v, want %+v", got, r)
	}
	_, err = s.AlertRule(c, "nope")
	wantErr(t, err, store.ErrNotFound, "AlertRule(missing)")
	list, err := s.ListAlertRules(c)
	must(t, err)
	if len(list) != 2 || list[0].Name != "another" || list[1].Name != "ssh brute force" {
		t.Fatalf("ListAlertRules = %+v", list)
	}
	time.Sleep(2 * time.Millisecond)
	upd := &store.AlertRuleRow{ID: r.ID, Name: "ssh guessing", Enabled: false, Spec: json.RawMessage(`{"x":1}`)}
	must(t, s.UpdateAlertRule(c, upd))
	if !upd.CreatedAt.Equal(r.CreatedAt) || !upd.UpdatedAt.After(r.UpdatedAt) {
		t.Fatalf("UpdateAlertRule times: %+v", upd)
	}
	wantErr(t, s.UpdateAlertRule(c, &store.AlertRuleRow{ID: r.ID, Name: "another", Spec: json.RawMessage(`{}`)}), store.ErrConflict, "rename onto a taken name")
	wantErr(t, s.UpdateAlertRule(c, &store.AlertRuleRow{ID: "nope", Name: "x", Spec: json.RawMessage(`{}`)}), store.ErrNotFound, "UpdateAlertRule(missing)")
	got, err = s.AlertRule(c, r.ID)
	must(t, err)
	if got.Name != "ssh guessing" || got.Enabled || string(got.Spec) != `{"x":1}` {
		t.Fatalf("after UpdateAlertRule: %+v", got)
	}
	t0 := now()
	if fresh, err := s.AddAlertMatches(c, []store.AlertMatch{{RuleID: r.ID, EventID: event.NewID(), Source: "192.0.2.1", Time: t0}}); err != nil || !fresh[0] {
		t.Fatalf("AddAlertMatches = %v, %v", fresh, err)
	}
	must(t, s.DeleteAlertRule(c, r.ID))
	wantErr(t, s.DeleteAlertRule(c, r.ID), store.ErrNotFound, "DeleteAlertRule twice")
	if n, _, _, err := s.AlertMatches(c, r.ID, "192.0.2.1", t0.Add(-time.Hour), t0.Add(time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("matches of a deleted rule: %d, %v", n, err)
	}
}

// testAlerts covers matches (idempotent, windowed counts), the one
// active alert per rule and source, keys that make a replay raise
// nothing, evidence, status changes and counts.
func testAlerts(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	rule, src := "rule-1", "198.51.100.9"
	base := now().Add(-time.Hour)
	var ids []string
	for i := range 5 {
		id := event.NewID()
		ids = append(ids, id)
		m := store.AlertMatch{RuleID: rule, EventID: id, Source: src, Time: base.Add(time.Duration(i) * 10 * time.Second)}
		fresh, err := s.AddAlertMatches(c, []store.AlertMatch{m})
		must(t, err)
		// Again, in a batch with a new match and the same one twice.
		other := store.AlertMatch{RuleID: rule + "-b", EventID: id, Source: src, Time: m.Time}
		again, err := s.AddAlertMatches(c, []store.AlertMatch{m, other, other})
		must(t, err)
		if !fresh[0] || !slices.Equal(again, []bool{false, true, false}) {
			t.Fatalf("AddAlertMatches: first %v, again %v; want [true], [false true false]", fresh, again)
		}
	}
	if _, err := s.AddAlertMatches(c, []store.AlertMatch{{RuleID: rule, EventID: event.NewID(), Source: "other", Time: base}}); err != nil {
		t.Fatal(err)
	}
	n, got, first, err := s.AlertMatches(c, rule, src, base.Add(10*time.Second), base.Add(30*time.Second), 2)
	must(t, err)
	if n != 3 || len(got) != 2 || got[0] != ids[1] || got[1] != ids[2] || !first.Equal(base.Add(10*time.Second)) {
		t.Fatalf("AlertMatches = %d %v %v", n, got, first)
	}
	if n, _, _, err := s.AlertMatches(c, rule, "nobody", base, base.Add(time.Hour), 2); err != nil || n != 0 {
		t.Fatalf("AlertMatches(nobody) = %d, %v", n, err)
	}
	for i, want := range []bool{false, true} {
		got, err := s.EarlierAlertMatch(c, rule, src, base.Add(time.Duration(i)*10*time.Second), ids[i])
		must(t, err)
		if got != want {
			t.Fatalf("EarlierAlertMatch(match %d) = %v", i, got)
		}
	}

	states, err := s.AlertSourceStates(c, rule, []string{src, "other", "nobody"}, base.Add(10*time.Second), base.Add(30*time.Second))
	must(t, err)
	if len(states) != 1 || states[src] != (store.AlertSourceState{Matches: 3}) {
		t.Fatalf("AlertSourceStates before any alert = %+v, want %s: 3 matches, not alerted", states, src)
	}
	_, err = s.AlertAt(c, rule, src, base)
	wantErr(t, err, store.ErrNotFound, "AlertAt before any alert")
	a := &store.Alert{Key: rule + "|" + src + "|" + ids[2], RuleID: rule, RuleName: "brute", Severity: event.High, Source: src,
		Title: "3 failures", Count: 3, EventIDs: ids[:3], First: base, Last: base.Add(20 * time.Second)}
	created, err := s.OpenAlert(c, a)
	must(t, err)
	if !created || a.ID == "" || a.Status != store.AlertOpen || a.CreatedAt.IsZero() {
		t.Fatalf("OpenAlert = %v %+v", created, a)
	}
	// The same key again (a replay) and another key while one is active
	// both give the active alert back.
	for _, key := range []string{a.Key, rule + "|" + src + "|" + ids[3]} {
		b := &store.Alert{Key: key, RuleID: rule, RuleName: "brute", Severity: event.High, Source: src, Title: "x", Count: 3,
			First: base.Add(30 * time.Second), Last: base.Add(30 * time.Second)}
		created, err := s.OpenAlert(c, b)
		must(t, err)
		if created || b.ID != a.ID || b.Count != 3 || len(b.EventIDs) != 3 {
			t.Fatalf("OpenAlert(%s) while active = %v %+v", key, created, b)
		}
	}
	// Fresh, the count grows by one; a redelivery recounts the matches
	// since the first event (5: ids[0] to ids[4]) and keeps the evidence
	// free of duplicates.
	must(t, s.TouchAlert(c, a.ID, ids[3], base.Add(30*time.Second), true))
	if got, _ := s.Alert(c, a.ID); got.Count != 4 {
		t.Fatalf("after a fresh TouchAlert: count %d, want 4", got.Count)
	}
	must(t, s.TouchAlert(c, a.ID, ids[3], base.Add(30*time.Second), false))
	got1, err := s.Alert(c, a.ID)
	must(t, err)
	if got1.Count != 5 || len(got1.EventIDs) != 4 || got1.EventIDs[3] != ids[3] || !got1.Last.Equal(base.Add(30*time.Second)) {
		t.Fatalf("after TouchAlert: count %d evidence %v last %v", got1.Count, got1.EventIDs, got1.Last)
	}
	// The alert started at base: alerted for a window ending at or after
	// it, not before.
	for until, want := range map[time.Duration]bool{0: true, 30 * time.Second: true, -time.Second: false} {
		states, err := s.AlertSourceStates(c, rule, []string{src}, base.Add(-time.Minute), base.Add(until))
		must(t, err)
		if states[src].Alerted != want {
			t.Fatalf("AlertSourceStates until base%+v = %+v, want alerted %v", until, states, want)
		}
	}
	at, err := s.AlertAt(c, rule, src, base.Add(time.Minute))
	must(t, err)
	if at.ID != a.ID {
		t.Fatalf("AlertAt = %s, want %s", at.ID, a.ID)
	}

	acked, err := s.SetAlertStatus(c, a.ID, []string{store.AlertOpen}, store.AlertAcknowledged, "alice", base.Add(time.Minute))
	must(t, err)
	if acked.Status != store.AlertAcknowledged || acked.AckedBy != "alice" || acked.AckedAt == nil {
		t.Fatalf("acknowledged: %+v", acked)
	}
	_, err = s.SetAlertStatus(c, a.ID, []string{store.AlertOpen}, store.AlertAcknowledged, "bob", base)
	wantErr(t, err, store.ErrConflict, "acknowledge twice")
	_, err = s.SetAlertStatus(c, "nope", []string{store.AlertOpen}, store.AlertClosed, "bob", base)
	wantErr(t, err, store.ErrNotFound, "SetAlertStatus(missing)")
	counts, err := s.ActiveAlertCounts(c)
	must(t, err)
	if len(counts) != 1 || counts[event.High] != 1 {
		t.Fatalf("ActiveAlertCounts = %v", counts)
	}
	closed, err := s.SetAlertStatus(c, a.ID, []string{store.AlertOpen, store.AlertAcknowledged}, store.AlertClosed, "bob", base.Add(2*time.Minute))
	must(t, err)
	if closed.Status != store.AlertClosed || closed.ClosedBy != "bob" || closed.AckedBy != "alice" {
		t.Fatalf("closed: %+v", closed)
	}
	must(t, s.TouchAlert(c, a.ID, ids[4], base.Add(40*time.Second), true))
	if got, _ := s.Alert(c, a.ID); got.Count != 5 || len(got.EventIDs) != 4 {
		t.Fatalf("a closed alert was touched: %+v", got)
	}
	if counts, err := s.ActiveAlertCounts(c); err != nil || len(counts) != 0 {
		t.Fatalf("ActiveAlertCounts after close = %v, %v", counts, err)
	}
	// Closed, the rule may raise a new alert for the source.
	b := &store.Alert{Key: rule + "|" + src + "|" + ids[4], RuleID: rule, RuleName: "brute", Severity: event.Low, Source: src, Title: "again",
		Count: 1, EventIDs: ids[4:], First: base.Add(40 * time.Second), Last: base.Add(40 * time.Second)}
	created, err = s.OpenAlert(c, b)
	must(t, err)
	if !created || b.ID == a.ID {
		t.Fatalf("OpenAlert after close = %v %+v", created, b)
	}
	if at, err := s.AlertAt(c, rule, src, base.Add(35*time.Second)); err != nil || at.ID != a.ID {
		t.Fatalf("AlertAt(between) = %+v, %v", at, err)
	}
	// Listing: newest first, filters, cursor.
	for i := range 3 {
		x := &store.Alert{Key: fmt.Sprint("k", i), RuleID: "rule-2", RuleName: "r2", Source: fmt.Sprint("203.0.113.", i), Title: "t",
			Count: 1, First: base, Last: base}
		created, err := s.OpenAlert(c, x)
		must(t, err)
		if !created {
			t.Fatal("OpenAlert for another source did not create")
		}
	}
	all, err := s.ListAlerts(c, store.AlertFilter{})
	must(t, err)
	if len(all) != 5 || all[0].ID < all[1].ID {
		t.Fatalf("ListAlerts = %d alerts, not newest first", len(all))
	}
	for _, tc := range []struct {
		f    store.AlertFilter
		want int
	}{
		{store.AlertFilter{Status: store.AlertClosed}, 1},
		{store.AlertFilter{Status: store.AlertOpen}, 4},
		{store.AlertFilter{RuleID: "rule-2"}, 3},
		{store.AlertFilter{Source: src}, 2},
		{store.AlertFilter{RuleID: "rule-2", Limit: 2}, 2},
		{store.AlertFilter{Before: all[1].ID}, 3},
	} {
		got, err := s.ListAlerts(c, tc.f)
		must(t, err)
		if len(got) != tc.want {
			t.Errorf("ListAlerts(%+v) = %d alerts, want %d", tc.f, len(got), tc.want)
		}
	}
	// Retention takes matches older than the cut, not alerts.
	_, err = s.DeleteEventsBefore(c, base.Add(25*time.Second))
	must(t, err)
	if n, _, _, err := s.AlertMatches(c, rule, src, base.Add(-time.Hour), base.Add(time.Hour), 10); err != nil || n != 2 {
		t.Fatalf("matches after retention: %d, %v", n, err)
	}
	if got, err := s.Alert(c, a.ID); err != nil || got.Count != 5 {
		t.Fatalf("alert after retention: %+v, %v", got, err)
	}
}
