package alert_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/intel/honey"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
)

// TestHoneyCredential: the built-in kind of rule raises on a honey
// password tried in clear (SSH) or as a MySQL scramble, names the decky
// it was planted on and the one it was tried on, and links the event in
// which the same source read the bait file; other credentials raise
// nothing.
func TestHoneyCredential(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := t.Context()
	planted := store.HoneyCredential{TopologyID: "t1", Decky: "gw-01", Service: "shell", Path: "/root/.bash_history", Kind: "password",
		Principal: "app_rw", Secret: "Harbor42#qz", Target: "mysql://10.0.0.4/app", PlacedAt: t0}
	if _, err := st.AddHoneyCredentials(ctx, []store.HoneyCredential{planted}); err != nil {
		t.Fatal(err)
	}
	r := alert.Rule{Name: "honey", Severity: event.High, Condition: alert.Condition{Kind: alert.HoneyCredential}}
	if err := r.Validate(true); err != nil {
		t.Fatal(err)
	}
	spec, _ := alert.SpecOf(&r)
	row := &store.AlertRuleRow{ID: event.NewID(), Name: r.Name, Enabled: true, Spec: spec}
	if err := st.CreateAlertRule(ctx, row); err != nil {
		t.Fatal(err)
	}
	pub := &published{}
	ev := alert.New(st, alert.Options{Publisher: pub, Honey: honey.New(st, nil)})

	read := event.Event{Schema: 1, ID: event.NewID(), Time: t0, Type: "ssh.command.input", Decky: "gw-01", Service: "ssh",
		Src: &event.Endpoint{IP: "203.0.113.9", Port: 50000}, Fields: map[string]any{"command_line": "cat /root/.bash_history"}}
	salt := []byte("0123456789abcdefghij")
	mysql := func(id string, secret string, at time.Duration) event.Event {
		c := event.NewCredential("mysql_native", "mysql_native_password", "app_rw", honey.MySQLNative(secret, salt), false)
		c.Challenge = hex.EncodeToString(salt)
		return event.Event{Schema: 1, ID: id, Time: t0.Add(at), Type: "mysql.login.failed", Decky: "db-01", Service: "mysql",
			Src: &event.Endpoint{IP: "203.0.113.9", Port: 50001}, Credential: c}
	}
	other := mysql(event.NewID(), "not-it", time.Second)
	tried := mysql(event.NewID(), "Harbor42#qz", 2*time.Second)
	if err := ev.Handle(ctx, []event.Event{read, other, tried}); err != nil {
		t.Fatal(err)
	}
	as := alerts(t, st, store.AlertFilter{})
	if len(as) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(as), as)
	}
	a := as[0]
	if a.Severity != event.High || !strings.Contains(a.Title, "db-01") || !strings.Contains(a.Title, "gw-01") || !strings.Contains(a.Title, read.ID) ||
		len(a.EventIDs) != 2 || a.EventIDs[0] != read.ID || a.EventIDs[1] != tried.ID {
		t.Fatalf("alert %+v", a)
	}
	// In clear over SSH, under another name, it joins the alert.
	ssh := event.Event{Schema: 1, ID: event.NewID(), Time: t0.Add(3 * time.Second), Type: "ssh.login.failed", Decky: "gw-01", Service: "ssh",
		Src: &event.Endpoint{IP: "203.0.113.9", Port: 50002}, Credential: event.NewCredential("plaintext", "password", "root", []byte("Harbor42#qz"), true)}
	if err := ev.Handle(ctx, []event.Event{ssh}); err != nil {
		t.Fatal(err)
	}
	if as = alerts(t, st, store.AlertFilter{}); len(as) != 1 || as[0].Count != 2 {
		t.Fatalf("after the ssh attempt: %+v", as)
	}
}
