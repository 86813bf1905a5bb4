package master_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel"
	"github.com/decnet/decnet/internal/store"
)

// The tags the tagger stores show on events and attackers, filter both,
// and an attacker's techniques export as a Navigator layer.
func TestIntelRoutes(t *testing.T) {
	e := newRoutesEnv(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 2, 6, 0, 0, 0, time.UTC)
	evs := []event.Event{
		{Schema: 1, ID: event.NewID(), Time: at, Type: "ssh.login.failed", Decky: "web", Service: "ssh",
			Src: &event.Endpoint{IP: "203.0.113.5"}, Credential: event.NewCredential("plaintext", "password", "root", []byte("1234"), true)},
		{Schema: 1, ID: event.NewID(), Time: at.Add(time.Second), Type: "ssh.command.input", Decky: "web", Service: "ssh",
			Src: &event.Endpoint{IP: "203.0.113.5"}, Fields: map[string]any{"command_line": "crontab -e"}},
		{Schema: 1, ID: event.NewID(), Time: at.Add(2 * time.Second), Type: "http.request.received", Decky: "web", Service: "http",
			Src: &event.Endpoint{IP: "198.51.100.9"}, Fields: map[string]any{"path": "/"}},
	}
	if _, err := e.m.Store.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := intel.NewTagger(e.m.Attack, e.m.Store, nil).Handle(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Store.SetAttackerIntel(ctx, map[string]store.AttackerIntel{"203.0.113.5": {Country: "FR", ASN: 64500, UpdatedAt: at}}); err != nil {
		t.Fatal(err)
	}

	var page struct {
		Items []struct {
			ID   string   `json:"id"`
			Tags []string `json:"tags"`
		} `json:"items"`
	}
	r := e.viewer.do("GET", "/events?tag=T1053", nil)
	want(t, "events by tag", r, http.StatusOK, "")
	if err := json.Unmarshal(r.body, &page); err != nil || len(page.Items) != 1 || page.Items[0].ID != evs[1].ID {
		t.Fatalf("events?tag=T1053: %s", r.body)
	}
	if tags := page.Items[0].Tags; len(tags) != 2 || tags[0] != "T1053.003" || tags[1] != "T1059.004" {
		t.Errorf("tags of the crontab event: %v", tags)
	}
	r = e.viewer.do("GET", "/events/count?tag=T1110.001", nil)
	if r.obj()["count"] != 1.0 {
		t.Errorf("count by tag: %s", r.body)
	}
	want(t, "a bad tag", e.viewer.do("GET", "/events?tag=brute", nil), http.StatusBadRequest, "INVALID")

	for _, q := range []string{"tag=T1110", "country=fr", "asn=AS64500"} {
		r = e.viewer.do("GET", "/attackers?"+q, nil)
		want(t, "attackers by "+q, r, http.StatusOK, "")
		items, _ := r.obj()["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["ip"] != "203.0.113.5" {
			t.Errorf("attackers?%s: %s", q, r.body)
		}
	}
	want(t, "a bad country", e.viewer.do("GET", "/attackers?country=France", nil), http.StatusBadRequest, "INVALID")

	r = e.viewer.do("GET", "/attackers/203.0.113.5", nil)
	a := r.obj()
	if in, _ := a["intel"].(map[string]any); in["country"] != "FR" {
		t.Errorf("attacker intel: %s", r.body)
	}
	if ts, _ := a["techniques"].([]any); len(ts) != 3 {
		t.Errorf("attacker techniques: %s", r.body)
	}

	r = e.viewer.do("GET", "/attackers/203.0.113.5/attack-layer", nil)
	want(t, "layer", r, http.StatusOK, "")
	var layer struct {
		Versions   struct{ Layer string }
		Domain     string
		Techniques []struct {
			TechniqueID string
			Score       *int64
		}
	}
	if err := json.Unmarshal(r.body, &layer); err != nil || layer.Versions.Layer != "4.5" || layer.Domain != "enterprise-attack" {
		t.Fatalf("layer: %s", r.body)
	}
	scored := map[string]int64{}
	for _, x := range layer.Techniques {
		if x.Score != nil {
			scored[x.TechniqueID] = *x.Score
		}
	}
	if scored["T1110.001"] != 1 || scored["T1053.003"] != 1 || scored["T1059.004"] != 1 {
		t.Errorf("layer scores %v", scored)
	}
	want(t, "layer of an unknown attacker", e.viewer.do("GET", "/attackers/192.0.2.1/attack-layer", nil), http.StatusNotFound, "")
	r = e.viewer.do("GET", "/attack-layer?since=2026-05-02T06:00:01Z", nil)
	want(t, "fleet layer", r, http.StatusOK, "")
	layer.Techniques = nil
	if err := json.Unmarshal(r.body, &layer); err != nil {
		t.Fatal(err)
	}
	scored = map[string]int64{}
	for _, x := range layer.Techniques {
		if x.Score != nil {
			scored[x.TechniqueID] = *x.Score
		}
	}
	if len(scored) != 2 || scored["T1053.003"] != 1 || scored["T1059.004"] != 1 {
		t.Errorf("fleet layer since the second event: %v", scored)
	}
	want(t, "a bad range", e.viewer.do("GET", "/attack-layer?since=2026-05-03T00:00:00Z&until=2026-05-02T00:00:00Z", nil), http.StatusBadRequest, "INVALID")
	want(t, "an unknown parameter", e.viewer.do("GET", "/attack-layer?ip=1.2.3.4", nil), http.StatusBadRequest, "INVALID")
	r = e.viewer.do("GET", "/attack/rules", nil)
	want(t, "rules", r, http.StatusOK, "")
	if rules, _ := r.obj()["rules"].([]any); len(rules) < 15 {
		t.Errorf("rules: %d", len(rules))
	}
}
