package storetest

import (
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
)

// testCanaryTokens covers canary tokens: unique slugs, lookups by id and
// slug, newest first, trigger counts and deletion.
func testCanaryTokens(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	a := &store.CanaryToken{ID: "0190a0a0-0000-7000-8000-000000000001", Kind: "http", Memo: "finance share", Slug: "aaaa", RuleID: "r1", CreatedBy: "admin"}
	b := &store.CanaryToken{ID: "0190a0a0-0000-7000-8000-000000000002", Kind: "dns", Memo: "vpn notes", Slug: "bbbb", RuleID: "r2", CreatedBy: "admin"}
	must(t, s.CreateCanaryToken(c, a))
	must(t, s.CreateCanaryToken(c, b))
	if a.CreatedAt.IsZero() {
		t.Fatal("CreateCanaryToken did not fill CreatedAt")
	}
	wantErr(t, s.CreateCanaryToken(c, &store.CanaryToken{ID: "x", Kind: "http", Slug: "aaaa", RuleID: "r"}), store.ErrConflict, "taken slug")
	got, err := s.CanaryTokenBySlug(c, "bbbb")
	must(t, err)
	if got.ID != b.ID || got.Memo != "vpn notes" || got.RuleID != "r2" || got.Triggers != 0 || got.LastTriggered != nil {
		t.Fatalf("CanaryTokenBySlug = %+v", got)
	}
	_, err = s.CanaryTokenBySlug(c, "nope")
	wantErr(t, err, store.ErrNotFound, "unknown slug")
	t1, t2 := now(), now().Add(-time.Minute)
	must(t, s.RecordCanaryTrigger(c, a.ID, t1))
	must(t, s.RecordCanaryTrigger(c, a.ID, t2)) // late: the last stays t1
	wantErr(t, s.RecordCanaryTrigger(c, "nope", t1), store.ErrNotFound, "trigger of an unknown token")
	got, err = s.CanaryToken(c, a.ID)
	must(t, err)
	if got.Triggers != 2 || got.LastTriggered == nil || !got.LastTriggered.Equal(t1) {
		t.Fatalf("after two triggers: %+v", got)
	}
	list, err := s.ListCanaryTokens(c)
	must(t, err)
	if len(list) != 2 || list[0].ID != b.ID {
		t.Fatalf("ListCanaryTokens = %+v", list)
	}
	must(t, s.DeleteCanaryToken(c, a.ID))
	wantErr(t, s.DeleteCanaryToken(c, a.ID), store.ErrNotFound, "second delete")
}

// testHoneyCredentials covers planted credentials: idempotent adds.
func testHoneyCredentials(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	creds := []store.HoneyCredential{
		{TopologyID: "t1", Decky: "gw-01", Service: "shell", Path: "/root/.bash_history", Kind: "password", Principal: "app", Secret: "s3cret!", Target: "mysql://10.0.0.5", PlacedAt: now()},
		{TopologyID: "t1", Decky: "files", Service: "smb", Path: "IT/passwords.txt", Kind: "password", Principal: "svc_backup", Secret: "pw2", PlacedAt: now()},
	}
	n, err := s.AddHoneyCredentials(c, creds)
	must(t, err)
	if n != 2 {
		t.Fatalf("AddHoneyCredentials = %d, want 2", n)
	}
	n, err = s.AddHoneyCredentials(c, creds)
	must(t, err)
	if n != 0 {
		t.Fatalf("again: %d new, want 0", n)
	}
	list, err := s.ListHoneyCredentials(c)
	must(t, err)
	if len(list) != 2 || list[0].Decky != "files" || list[1].Secret != "s3cret!" || list[1].Target != "mysql://10.0.0.5" || list[1].PlacedAt.IsZero() {
		t.Fatalf("ListHoneyCredentials = %+v", list)
	}
}
