package honey_test

import (
	"encoding/hex"
	"testing"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/honey"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
	"github.com/decnet/decnet/internal/topology"
)

// TestSyncAndLookup: a stored topology's bait becomes honey credentials
// (each planted on its decky, the history's naming the database decky),
// found again by clear text or MySQL scramble, under any principal, the
// planted principal first; other secrets are not honey.
func TestSyncAndLookup(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := t.Context()
	spec := topology.Demo("0123456789abcdef0123456789abcdef", "10.77.0.0/24")
	for i := range spec.Deckies {
		spec.Deckies[i].Addresses[0].IP = []string{"10.77.0.2", "10.77.0.3", "10.77.0.4", "10.77.0.5"}[i]
	}
	raw, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	top := &store.Topology{ID: "t1", Name: "demo", HostID: "local", Spec: raw, Hash: spec.Hash()}
	if err := st.CreateTopology(ctx, top); err != nil {
		t.Fatal(err)
	}
	r := honey.New(st, nil)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	creds, err := st.ListHoneyCredentials(ctx)
	if err != nil || len(creds) == 0 {
		t.Fatalf("no honey credentials: %v", err)
	}
	var hist store.HoneyCredential
	for _, c := range creds {
		if c.Decky == "gw-01" && c.Path == "/root/.bash_history" {
			hist = c
		}
	}
	if hist.Secret == "" || hist.Target == "" || hist.Target[:len("mysql://10.77.0.4")] != "mysql://10.77.0.4" {
		t.Fatalf("history credential %+v", hist)
	}
	if got, _ := r.Planted(ctx, "gw-01"); len(got) != 3 {
		t.Fatalf("gw-01 has %d planted credentials, want 3", len(got))
	}
	clear := event.NewCredential("plaintext", "password", "someone-else", []byte(hist.Secret), true)
	if got, _ := r.Lookup(ctx, clear); len(got) != 1 || got[0].Path != hist.Path {
		t.Fatalf("clear text lookup: %+v", got)
	}
	salt := []byte("abcdefghij0123456789")
	scr := event.NewCredential("mysql_native", "mysql_native_password", hist.Principal, honey.MySQLNative(hist.Secret, salt), false)
	scr.Challenge = hex.EncodeToString(salt)
	if got, _ := r.Lookup(ctx, scr); len(got) != 1 || got[0].Principal != hist.Principal {
		t.Fatalf("scramble lookup: %+v", got)
	}
	wrong := event.NewCredential("plaintext", "password", hist.Principal, []byte("toor"), true)
	if got, _ := r.Lookup(ctx, wrong); len(got) != 0 {
		t.Fatalf("toor is honey: %+v", got)
	}
}
