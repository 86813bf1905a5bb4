// Package storetest is the conformance suite every store.Store backend
// passes, and the insertion benchmark they share.
//
// A backend's test calls Run with a function that opens a store on a
// database belonging to the given *testing.T: the first call for a t
// creates a fresh, empty database (removed in t.Cleanup); later calls with
// the same t reopen that same database, as a restarted master would. The
// function registers the store's Close in t.Cleanup; the suite may close a
// store earlier itself, so Close must tolerate a second call.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/sqlite"
)

// Opener opens a store on t's database; see the package comment.
type Opener = func(t *testing.T) store.Store

// Run runs every conformance test against the backend open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"APITokens", testAPITokens},
		{"Audit", testAudit},
		{"JoinTokens", testJoinTokens},
		{"JoinTokenRace", testJoinTokenRace},
		{"Hosts", testHosts},
		{"Topologies", testTopologies},
		{"UpdateSpecCAS", testUpdateSpec},
		{"TransitionLegality", testTransitionLegality},
		{"TransitionPath", testTransitionPath},
		{"TransitionRace", testTransitionRace},
		{"InsertEventsIdempotent", testInsertIdempotent},
		{"InsertEventsRace", testInsertRace},
		{"Aggregates", testAggregates},
		{"EventFilters", testEventFilters},
		{"EventPagination", testEventPagination},
		{"EventRoundTrip", testEventRoundTrip},
		{"Retention", testRetention},
		{"Reopen", testReopen},
		{"Outputs", testOutputs},
		{"Intel", testIntel},
		{"EventTags", testEventTags},
		{"AlertRules", testAlertRules},
		{"Alerts", testAlerts},
		{"Correlation", testCorrelation},
		{"AttackerSearch", testAttackerSearch},
		{"CanaryTokens", testCanaryTokens},
		{"HoneyCredentials", testHoneyCredentials},
		{"Rotations", testRotations},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// now is a time the backends store exactly (microseconds, UTC).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func testUsers(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	alice := &store.User{Name: "alice", Role: store.Admin, PasswordHash: "h1", MustChange: true}
	must(t, s.CreateUser(c, alice))
	if alice.ID == 0 || alice.CreatedAt.IsZero() {
		t.Fatalf("CreateUser did not fill ID/CreatedAt: %+v", alice)
	}
	bob := &store.User{Name: "bob", Role: store.Viewer, PasswordHash: "h2"}
	must(t, s.CreateUser(c, bob))
	wantErr(t, s.CreateUser(c, &store.User{Name: "alice", Role: store.Viewer, PasswordHash: "x"}), store.ErrConflict, "duplicate name")

	got, err := s.UserByName(c, "alice")
	must(t, err)
	if got.ID != alice.ID || got.Role != store.Admin || got.PasswordHash != "h1" || !got.MustChange || !got.CreatedAt.Equal(alice.CreatedAt) {
		t.Fatalf("UserByName = %+v, want %+v", got, alice)
	}
	got, err = s.UserByID(c, bob.ID)
	must(t, err)
	if got.Name != "bob" || got.Role != store.Viewer || got.MustChange {
		t.Fatalf("UserByID = %+v", got)
	}
	_, err = s.UserByName(c, "carol")
	wantErr(t, err, store.ErrNotFound, "UserByName(missing)")
	_, err = s.UserByID(c, 424242)
	wantErr(t, err, store.ErrNotFound, "UserByID(missing)")

	list, err := s.ListUsers(c)
	must(t, err)
	if len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Fatalf("ListUsers = %+v", list)
	}
	n, err := s.CountUsers(c)
	must(t, err)
	if n != 2 {
		t.Fatalf("CountUsers = %d", n)
	}

	must(t, s.SetPassword(c, alice.ID, "h3", false))
	got, _ = s.UserByID(c, alice.ID)
	if got.PasswordHash != "h3" || got.MustChange {
		t.Fatalf("after SetPassword: %+v", got)
	}
	wantErr(t, s.SetPassword(c, 424242, "x", false), store.ErrNotFound, "SetPassword(missing)")

	// Deleting a user takes its sessions and tokens with it.
	must(t, s.CreateSession(c, &store.Session{TokenHash: "sess-bob", UserID: bob.ID, CSRF: "c", Expires: now().Add(time.Hour)}))
	must(t, s.CreateAPIToken(c, &store.APIToken{UserID: bob.ID, Name: "ci", Hash: "tok-bob"}))
	must(t, s.DeleteUser(c, bob.ID))
	wantErr(t, s.DeleteUser(c, bob.ID), store.ErrNotFound, "DeleteUser twice")
	_, err = s.SessionByHash(c, "sess-bob")
	wantErr(t, err, store.ErrNotFound, "session of a deleted user")
	_, err = s.APITokenByHash(c, "tok-bob")
	wantErr(t, err, store.ErrNotFound, "token of a deleted user")
	n, _ = s.CountUsers(c)
	if n != 1 {
		t.Fatalf("CountUsers after delete = %d", n)
	}
}

func testSessions(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	u := &store.User{Name: "u", Role: store.Admin, PasswordHash: "h"}
	must(t, s.CreateUser(c, u))
	exp := now().Add(time.Hour)
	must(t, s.CreateSession(c, &store.Session{TokenHash: "live", UserID: u.ID, CSRF: "csrf1", Expires: exp}))
	must(t, s.CreateSession(c, &store.Session{TokenHash: "dead", UserID: u.ID, CSRF: "csrf2", Expires: now().Add(-time.Second)}))
	wantErr(t, s.CreateSession(c, &store.Session{TokenHash: "live", UserID: u.ID, CSRF: "x", Expires: exp}), store.ErrConflict, "duplicate session")

	got, err := s.SessionByHash(c, "live")
	must(t, err)
	if got.UserID != u.ID || got.CSRF != "csrf1" || !got.Expires.Equal(exp) || got.TokenHash != "live" {
		t.Fatalf("SessionByHash = %+v", got)
	}
	for _, tc := range []struct{ name, hash string }{{"expired", "dead"}, {"unknown", "nope"}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SessionByHash(c, tc.hash)
			wantErr(t, err, store.ErrNotFound, "SessionByHash("+tc.hash+")")
		})
	}
	must(t, s.DeleteSession(c, "live"))
	_, err = s.SessionByHash(c, "live")
	wantErr(t, err, store.ErrNotFound, "deleted session")
}

func testAPITokens(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	u := &store.User{Name: "u", Role: store.Admin, PasswordHash: "h"}
	must(t, s.CreateUser(c, u))
	a := &store.APIToken{UserID: u.ID, Name: "a", Hash: "ha"}
	b := &store.APIToken{UserID: u.ID, Name: "b", Hash: "hb"}
	must(t, s.CreateAPIToken(c, a))
	must(t, s.CreateAPIToken(c, b))
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID || a.CreatedAt.IsZero() {
		t.Fatalf("CreateAPIToken did not fill ids: %+v %+v", a, b)
	}
	wantErr(t, s.CreateAPIToken(c, &store.APIToken{UserID: u.ID, Name: "c", Hash: "ha"}), store.ErrConflict, "duplicate hash")

	list, err := s.ListAPITokens(c, u.ID)
	must(t, err)
	if len(list) != 2 || list[0].LastUsed != nil {
		t.Fatalf("ListAPITokens = %+v", list)
	}
	before := now()
	got, err := s.APITokenByHash(c, "ha")
	must(t, err)
	if got.ID != a.ID || got.Name != "a" || got.UserID != u.ID || got.LastUsed == nil || got.LastUsed.Before(before) {
		t.Fatalf("APITokenByHash = %+v", got)
	}
	list, _ = s.ListAPITokens(c, u.ID)
	if list[0].LastUsed == nil || list[1].LastUsed != nil {
		t.Fatalf("LastUsed not kept: %+v", list)
	}
	_, err = s.APITokenByHash(c, "nope")
	wantErr(t, err, store.ErrNotFound, "unknown token")
	must(t, s.DeleteAPIToken(c, a.ID))
	wantErr(t, s.DeleteAPIToken(c, a.ID), store.ErrNotFound, "DeleteAPIToken twice")
	_, err = s.APITokenByHash(c, "ha")
	wantErr(t, err, store.ErrNotFound, "deleted token")
	list, _ = s.ListAPITokens(c, 424242)
	if len(list) != 0 {
		t.Fatalf("tokens of an unknown user: %+v", list)
	}
}

func testAudit(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	at := now().Add(-time.Minute)
	for i := range 5 {
		must(t, s.Audit(c, store.AuditEntry{At: at.Add(time.Duration(i) * time.Second), Actor: "alice",
			Action: "topology.create", Target: fmt.Sprint("t", i), Detail: "d"}))
	}
	must(t, s.Audit(c, store.AuditEntry{Actor: "bob", Action: "login", Target: "bob"})) // zero At = now
	all, err := s.ListAudit(c, 0, 0)
	must(t, err)
	if len(all) != 6 || all[0].Actor != "bob" || all[0].At.IsZero() || all[5].Target != "t0" || !all[5].At.Equal(at) {
		t.Fatalf("ListAudit = %+v", all)
	}
	page, err := s.ListAudit(c, all[1].ID, 2)
	must(t, err)
	if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
		t.Fatalf("ListAudit(before %d, 2) = %+v", all[1].ID, page)
	}
}

func testJoinTokens(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	t0 := now()
	must(t, s.CreateJoinToken(c, "good", "host-a", t0.Add(time.Hour)))
	must(t, s.CreateJoinToken(c, "old", "host-b", t0.Add(-time.Second)))
	wantErr(t, s.CreateJoinToken(c, "good", "host-c", t0.Add(time.Hour)), store.ErrConflict, "duplicate join token")

	tests := []struct {
		name, hash string
		at         time.Time
		wantName   string
		wantErr    error
	}{
		{"valid", "good", t0, "host-a", nil},
		{"used", "good", t0, "", store.ErrConflict},
		{"expired", "old", t0, "", store.ErrConflict},
		{"unknown", "nope", t0, "", store.ErrNotFound},
	}
	for _, tc := range tests { // in order: "used" relies on "valid"
		name, err := s.ConsumeJoinToken(c, tc.hash, tc.at)
		if tc.wantErr != nil {
			wantErr(t, err, tc.wantErr, tc.name)
			continue
		}
		must(t, err)
		if name != tc.wantName {
			t.Fatalf("%s: host name %q, want %q", tc.name, name, tc.wantName)
		}
	}
	// Expiry is judged at the given now, not the wall clock.
	must(t, s.CreateJoinToken(c, "later", "host-d", t0.Add(time.Minute)))
	_, err := s.ConsumeJoinToken(c, "later", t0.Add(2*time.Minute))
	wantErr(t, err, store.ErrConflict, "consumed after its expiry")
}

// race runs fn from n goroutines released together and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

func oneWinner(t *testing.T, errs []error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("loser failed with %v, want ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d racers won, want exactly 1: %v", wins, len(errs), errs)
	}
}

func testJoinTokenRace(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	for round := range 5 {
		hash := fmt.Sprint("race-", round)
		must(t, s.CreateJoinToken(c, hash, "h", now().Add(time.Hour)))
		names := make([]string, 8)
		errs := race(8, func(i int) error {
			var err error
			names[i], err = s.ConsumeJoinToken(c, hash, now())
			return err
		})
		oneWinner(t, errs)
	}
}

func testHosts(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	h1 := &store.Host{ID: "h1", Name: "alpha", CertSerial: "serial-1"}
	must(t, s.CreateHost(c, h1))
	if h1.EnrolledAt.IsZero() {
		t.Fatal("CreateHost did not fill EnrolledAt")
	}
	must(t, s.CreateHost(c, &store.Host{ID: "h2", Name: "beta", CertSerial: "serial-2", EnrolledAt: now()}))
	wantErr(t, s.CreateHost(c, &store.Host{ID: "h1", Name: "gamma", CertSerial: "x"}), store.ErrConflict, "duplicate host id")
	wantErr(t, s.CreateHost(c, &store.Host{ID: "h3", Name: "alpha", CertSerial: "x"}), store.ErrConflict, "duplicate live host name")

	got, err := s.Host(c, "h1")
	must(t, err)
	if got.Name != "alpha" || got.CertSerial != "serial-1" || got.LastHeartbeat != nil || got.Decommissioned || !got.EnrolledAt.Equal(h1.EnrolledAt) {
		t.Fatalf("Host = %+v", got)
	}
	_, err = s.Host(c, "nope")
	wantErr(t, err, store.ErrNotFound, "Host(missing)")

	beat := now()
	observed := json.RawMessage(`{"containers":["a","b"]}`)
	must(t, s.RecordHeartbeat(c, "h1", beat, "topo-1", "hash-1", "boom", observed))
	got, _ = s.Host(c, "h1")
	if got.LastHeartbeat == nil || !got.LastHeartbeat.Equal(beat) || got.AppliedID != "topo-1" || got.AppliedHash != "hash-1" ||
		got.LastError != "boom" || string(got.Observed) != string(observed) {
		t.Fatalf("after heartbeat: %+v", got)
	}
	must(t, s.RecordHeartbeat(c, "h1", beat.Add(time.Second), "topo-1", "hash-1", "", nil))
	got, _ = s.Host(c, "h1")
	if got.LastError != "" || got.Observed != nil {
		t.Fatalf("heartbeat did not clear error/observed: %+v", got)
	}
	wantErr(t, s.RecordHeartbeat(c, "nope", beat, "", "", "", nil), store.ErrNotFound, "heartbeat of unknown host")

	// The agent's build and the update asked of it.
	requested, err := s.RecordAgentBuild(c, "h1", "1.2.3", "ab12")
	must(t, err)
	if requested {
		t.Fatal("an update asked of a host nobody asked")
	}
	must(t, s.SetUpdate(c, "h1", true, ""))
	if requested, err = s.RecordAgentBuild(c, "h1", "1.2.3", "ab12"); err != nil || !requested {
		t.Fatalf("RecordAgentBuild after SetUpdate: %v %v", requested, err)
	}
	got, _ = s.Host(c, "h1")
	if got.Version != "1.2.3" || got.BinarySHA256 != "ab12" || !got.UpdateRequested || got.UpdateError != "" {
		t.Fatalf("after build and update request: %+v", got)
	}
	must(t, s.SetUpdate(c, "h1", false, "rolled back"))
	got, _ = s.Host(c, "h1")
	if got.UpdateRequested || got.UpdateError != "rolled back" || got.Version != "1.2.3" {
		t.Fatalf("after a rolled-back update: %+v", got)
	}
	wantErr(t, s.SetUpdate(c, "nope", true, ""), store.ErrNotFound, "SetUpdate(missing)")
	_, err = s.RecordAgentBuild(c, "nope", "1", "x")
	wantErr(t, err, store.ErrNotFound, "RecordAgentBuild(missing)")

	list, err := s.ListHosts(c)
	must(t, err)
	if len(list) != 2 || list[0].ID != "h1" || list[1].ID != "h2" {
		t.Fatalf("ListHosts = %+v", list)
	}

	revoked, err := s.Revoked(c, "serial-1")
	must(t, err)
	if revoked {
		t.Fatal("serial-1 revoked before decommission")
	}
	must(t, s.Decommission(c, "h1"))
	must(t, s.Decommission(c, "h1")) // idempotent
	wantErr(t, s.Decommission(c, "nope"), store.ErrNotFound, "Decommission(missing)")
	got, _ = s.Host(c, "h1")
	if !got.Decommissioned {
		t.Fatal("host not marked decommissioned")
	}
	for serial, want := range map[string]bool{"serial-1": true, "serial-2": false} {
		r, err := s.Revoked(c, serial)
		must(t, err)
		if r != want {
			t.Errorf("Revoked(%s) = %v, want %v", serial, r, want)
		}
	}
	serials, err := s.RevokedSerials(c)
	must(t, err)
	if !slices.Equal(serials, []string{"serial-1"}) {
		t.Fatalf("RevokedSerials = %v", serials)
	}
	wantErr(t, s.RecordHeartbeat(c, "h1", beat, "", "", "", nil), store.ErrNotFound, "heartbeat of a decommissioned host")
	// The name is free again once its host is decommissioned.
	must(t, s.CreateHost(c, &store.Host{ID: "h1b", Name: "alpha", CertSerial: "serial-3"}))
}

func newTopology(t *testing.T, s store.Store, name string) *store.Topology {
	t.Helper()
	tp := &store.Topology{Name: name, HostID: "h1", Spec: json.RawMessage(`{"deckies":[]}`), Hash: "hash-0"}
	must(t, s.CreateTopology(ctx(t), tp))
	return tp
}

func testTopologies(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	a := newTopology(t, s, "alpha")
	if a.ID == "" || a.Status != store.Pending || a.Version != 1 || a.CreatedAt.IsZero() || !a.UpdatedAt.Equal(a.CreatedAt) {
		t.Fatalf("CreateTopology did not fill fields: %+v", a)
	}
	b := &store.Topology{ID: "given-id", Name: "beta", HostID: "h2", Spec: json.RawMessage(`{}`), Hash: "x", Status: store.Active, Version: 7}
	must(t, s.CreateTopology(c, b))
	if b.ID != "given-id" || b.Status != store.Pending || b.Version != 1 {
		t.Fatalf("CreateTopology kept caller status/version: %+v", b)
	}
	wantErr(t, s.CreateTopology(c, &store.Topology{Name: "alpha", HostID: "h", Spec: json.RawMessage(`{}`)}), store.ErrConflict, "duplicate name")

	got, err := s.Topology(c, a.ID)
	must(t, err)
	if got.Name != "alpha" || got.HostID != "h1" || string(got.Spec) != `{"deckies":[]}` || got.Hash != "hash-0" ||
		got.Status != store.Pending || got.Version != 1 || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("Topology = %+v", got)
	}
	_, err = s.Topology(c, "nope")
	wantErr(t, err, store.ErrNotFound, "Topology(missing)")
	list, err := s.ListTopologies(c)
	must(t, err)
	if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "beta" {
		t.Fatalf("ListTopologies = %+v", list)
	}
	must(t, s.Transition(c, a.ID, store.Pending, store.Deploying, "deploy"))
	must(t, s.DeleteTopology(c, a.ID))
	wantErr(t, s.DeleteTopology(c, a.ID), store.ErrNotFound, "DeleteTopology twice")
	_, err = s.Topology(c, a.ID)
	wantErr(t, err, store.ErrNotFound, "deleted topology")
	_, err = s.StatusHistory(c, a.ID)
	wantErr(t, err, store.ErrNotFound, "history of a deleted topology")
	// The name is free again.
	newTopology(t, s, "alpha")
}

func testUpdateSpec(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	tp := newTopology(t, s, "cas")
	tests := []struct {
		name    string
		version int64
		spec    string
		wantErr error
		wantVer int64
	}{
		{"current version wins", 1, `{"v":2}`, nil, 2},
		{"stale version loses", 1, `{"v":"stale"}`, store.ErrConflict, 2},
		{"future version loses", 9, `{"v":"future"}`, store.ErrConflict, 2},
		{"next version wins", 2, `{"v":3}`, nil, 3},
	}
	lastSpec := `{"v":2}`
	for _, tc := range tests {
		err := s.UpdateSpec(c, tp.ID, tc.version, json.RawMessage(tc.spec), "hash-"+tc.spec)
		if tc.wantErr != nil {
			wantErr(t, err, tc.wantErr, tc.name)
		} else {
			must(t, err)
			lastSpec = tc.spec
		}
		got, err := s.Topology(c, tp.ID)
		must(t, err)
		if got.Version != tc.wantVer || string(got.Spec) != lastSpec || got.Hash != "hash-"+lastSpec {
			t.Fatalf("%s: topology %+v, want version %d spec %s", tc.name, got, tc.wantVer, lastSpec)
		}
	}
	wantErr(t, s.UpdateSpec(c, "nope", 1, json.RawMessage(`{}`), "h"), store.ErrNotFound, "UpdateSpec(missing)")

	// Racing writers holding the same version: exactly one wins.
	oneWinner(t, race(8, func(i int) error {
		return s.UpdateSpec(c, tp.ID, 3, json.RawMessage(fmt.Sprintf(`{"writer":%d}`, i)), "h")
	}))
	// A transition bumps the version too, so a spec write based on the
	// pre-transition read loses.
	must(t, s.Transition(c, tp.ID, store.Pending, store.Deploying, ""))
	wantErr(t, s.UpdateSpec(c, tp.ID, 4, json.RawMessage(`{}`), "h"), store.ErrConflict, "UpdateSpec after a transition")
}

var statuses = []string{store.Pending, store.Deploying, store.Active, store.Degraded, store.Failed, store.TearingDown, store.TornDown}

// pathTo lists legal moves from pending to status (breadth first).
func pathTo(status string) []string {
	prev := map[string]string{store.Pending: ""}
	queue := []string{store.Pending}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, next := range store.Transitions[cur] {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	var path []string
	for st := status; st != store.Pending; st = prev[st] {
		path = append([]string{st}, path...)
	}
	return path
}

func testTransitionLegality(t *testing.T, open Opener) {
	s := open(t)
	for _, from := range statuses {
		for _, to := range append(slices.Clone(statuses), "bogus") {
			legal := slices.Contains(store.Transitions[from], to)
			t.Run(from+"->"+to, func(t *testing.T) {
				c := ctx(t)
				tp := newTopology(t, s, from+"->"+to)
				cur := store.Pending
				for _, st := range pathTo(from) {
					must(t, s.Transition(c, tp.ID, cur, st, "setup"))
					cur = st
				}
				before, err := s.Topology(c, tp.ID)
				must(t, err)
				err = s.Transition(c, tp.ID, from, to, "test")
				after, _ := s.Topology(c, tp.ID)
				if legal {
					must(t, err)
					if after.Status != to || after.Version != before.Version+1 {
						t.Fatalf("after legal move: %+v (before %+v)", after, before)
					}
					return
				}
				wantErr(t, err, store.ErrConflict, "illegal move")
				if after.Status != from || after.Version != before.Version {
					t.Fatalf("illegal move changed the row: %+v", after)
				}
				h, _ := s.StatusHistory(c, tp.ID)
				if len(h) != len(pathTo(from)) {
					t.Fatalf("illegal move written to history: %+v", h)
				}
			})
		}
	}
	c := ctx(t)
	wantErr(t, s.Transition(c, "nope", store.Pending, store.Deploying, ""), store.ErrNotFound, "Transition(missing)")
	// A stale from: the row is not where the caller thinks.
	tp := newTopology(t, s, "stale")
	must(t, s.Transition(c, tp.ID, store.Pending, store.Deploying, ""))
	wantErr(t, s.Transition(c, tp.ID, store.Pending, store.Deploying, ""), store.ErrConflict, "stale from")
	wantErr(t, s.Transition(c, tp.ID, store.Active, store.Degraded, ""), store.ErrConflict, "wrong from")
}

func testTransitionPath(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	tp := newTopology(t, s, "path")
	h, err := s.StatusHistory(c, tp.ID)
	must(t, err)
	if len(h) != 0 {
		t.Fatalf("fresh topology has history %+v", h)
	}
	_, err = s.StatusHistory(c, "nope")
	wantErr(t, err, store.ErrNotFound, "StatusHistory(missing)")
	path := []string{store.Deploying, store.Active, store.Degraded, store.TearingDown, store.TornDown, store.Deploying, store.Failed}
	before := now()
	cur := store.Pending
	for i, st := range path {
		must(t, s.Transition(c, tp.ID, cur, st, fmt.Sprint("step ", i)))
		cur = st
	}
	got, _ := s.Topology(c, tp.ID)
	if got.Status != store.Failed || got.Version != int64(1+len(path)) || got.UpdatedAt.Before(got.CreatedAt) {
		t.Fatalf("after path: %+v", got)
	}
	h, err = s.StatusHistory(c, tp.ID)
	must(t, err)
	if len(h) != len(path) {
		t.Fatalf("history has %d entries, want %d: %+v", len(h), len(path), h)
	}
	cur = store.Pending
	for i, e := range h {
		if e.From != cur || e.To != path[i] || e.Reason != fmt.Sprint("step ", i) || e.At.Before(before.Add(-time.Second)) {
			t.Fatalf("history[%d] = %+v, want %s -> %s", i, e, cur, path[i])
		}
		cur = path[i]
	}
}

func testTransitionRace(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	for round := range 5 {
		tp := newTopology(t, s, fmt.Sprint("race-", round))
		oneWinner(t, race(8, func(i int) error {
			return s.Transition(c, tp.ID, store.Pending, store.Deploying, fmt.Sprint("racer ", i))
		}))
		h, err := s.StatusHistory(c, tp.ID)
		must(t, err)
		if len(h) != 1 || h[0].From != store.Pending || h[0].To != store.Deploying {
			t.Fatalf("history after race: %+v", h)
		}
		got, _ := s.Topology(c, tp.ID)
		if got.Version != 2 || got.Status != store.Deploying {
			t.Fatalf("topology after race: %+v", got)
		}
	}
}

// SQLite opens a fresh SQLite store in a temporary directory for a test
// and closes it when the test ends.
func SQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "master.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
