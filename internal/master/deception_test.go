package master_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

type deception struct {
	Services []string          `json:"services"`
	Ports    []uint16          `json:"ports"`
	Tarpits  []topology.Tarpit `json:"tarpits"`
	Files    []struct {
		Path, Mode, Owner, SHA256 string
		Size                      int
	} `json:"files"`
	Rotation *struct {
		Pool    []string `json:"pool"`
		Count   int      `json:"count"`
		Every   string   `json:"every"`
		Enabled bool     `json:"enabled"`
	} `json:"rotation"`
	History []store.RotationRecord `json:"rotation_history"`
}

// TestDeceptionRoutes drives the live controls through the API: what
// each refuses and why, that a change is a spec change (new hash,
// audited) that keeps the seed, and that rotation keeps the services
// outside the pool and the pool's settings across rotations.
func TestDeceptionRoutes(t *testing.T) {
	e := newRoutesEnv(t)
	doc := specDoc("live", "", "", "ssh", "ftp")
	doc["deckies"].([]any)[0].(map[string]any)["service_config"] = map[string]any{"ftp": map[string]any{"anonymous": true}}
	tp := e.create(map[string]any{"spec": doc, "host": "sensor-1"})
	base := "/topologies/" + tp.ID + "/deckies/web-01/deception"

	for _, tc := range []struct {
		name, method, path string
		body               any
		code               int
		msg                string
	}{
		{"port not served", "POST", "/tarpits", map[string]any{"port": 80}, 400, "port 80 is not a TCP port of decky web-01 (its ports: 21, 22)"},
		{"bad source", "POST", "/tarpits", map[string]any{"port": 22, "source": "nope"}, 400, "neither an IP address nor a CIDR prefix"},
		{"unknown field", "POST", "/tarpits", map[string]any{"port": 22, "speed": 3}, 400, "speed"},
		{"relative path", "POST", "/files", map[string]any{"path": "etc/x", "content": "x"}, 400, "absolute and clean"},
		{"bad mode", "POST", "/files", map[string]any{"path": "/x", "content": "x", "mode": "rwx"}, 400, "not octal"},
		{"two contents", "POST", "/files", map[string]any{"path": "/x", "content": "x", "content_base64": "eA=="}, 400, "one of content"},
		{"no such tarpit", "DELETE", "/tarpits?port=22", nil, 404, "no tarpit"},
		{"pool too small", "PUT", "/rotation", map[string]any{"pool": []string{"ftp"}, "count": 1, "every": "1h"}, 400, "at least two"},
		{"count", "PUT", "/rotation", map[string]any{"pool": []string{"ftp", "redis"}, "count": 2, "every": "1h"}, 400, "count must be 1-1"},
		{"windows service", "PUT", "/rotation", map[string]any{"pool": []string{"ftp", "mssql"}, "count": 1, "every": "1h"}, 400, "does not run on the decky's persona"},
		{"too often", "PUT", "/rotation", map[string]any{"pool": []string{"ftp", "redis"}, "count": 1, "every": "1s"}, 400, "at least 10s"},
		{"rotate without schedule", "POST", "/rotation/rotate", nil, 400, "no rotation schedule"},
		{"unknown decky", "GET", "/../../../topologies/" + tp.ID + "/deckies/nope/deception", nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := base + tc.path
			if strings.HasPrefix(tc.path, "/../") {
				path = "/topologies/" + tp.ID + "/deckies/nope/deception"
			}
			r := e.admin.do(tc.method, path, tc.body)
			if r.code != tc.code || !strings.Contains(string(r.body), tc.msg) {
				t.Fatalf("%s %s: %d %s, want %d %q", tc.method, tc.path, r.code, r.body, tc.code, tc.msg)
			}
		})
	}
	if r := e.viewer.do("POST", base+"/tarpits", map[string]any{"port": 22}); r.code != http.StatusForbidden {
		t.Fatalf("a viewer set a tarpit: %d", r.code)
	}

	r := e.admin.do("POST", base+"/tarpits", map[string]any{"port": 22, "source": "203.0.113.0/24", "rate": 8})
	want(t, "tarpit", r, 200, "")
	r = e.admin.do("POST", base+"/files", map[string]any{"path": "/root/vpn.txt", "content": "user=ops\n", "mode": "0600"})
	want(t, "drop", r, 200, "")
	v := decode[deception](t, r)
	if len(v.Tarpits) != 1 || v.Tarpits[0].Rate != 8 || len(v.Files) != 1 || v.Files[0].Mode != "0600" || v.Files[0].Size != 9 || v.Files[0].Owner != "root" {
		t.Fatalf("view after tarpit and drop: %+v", v)
	}
	after := e.get(tp.ID)
	if after.Hash == tp.Hash || after.Spec.Seed != tp.Spec.Seed {
		t.Fatalf("a live change must change the hash and keep the seed: %s %s", after.Hash, after.Spec.Seed)
	}
	spec := specOf(t, e, tp.ID)
	if d := spec.Decky("web-01"); d.Live == nil || len(d.Live.Files) != 1 || d.Live.Files[0].Data != base64.StdEncoding.EncodeToString([]byte("user=ops\n")) {
		t.Fatalf("the drop is not in the desired state: %+v", d.Live)
	}
	audit, _ := e.m.Store.ListAudit(context.Background(), 0, 20)
	var seen []string
	for _, a := range audit {
		seen = append(seen, a.Target+" "+a.Detail)
	}
	if !slices.Contains(seen, `decky/live/web-01 status=200 drop path="/root/vpn.txt" mode=0600 owner=""`) ||
		!slices.Contains(seen, `decky/live/web-01 status=200 tarpit port=22 source="203.0.113.0/24" rate=8`) {
		t.Fatalf("live changes are not audited: %q", seen)
	}
	want(t, "untarpit", e.admin.do("DELETE", base+"/tarpits?port=22&source=203.0.113.0/24", nil), 200, "")
	want(t, "withdraw", e.admin.do("DELETE", base+"/files?path=/root/vpn.txt", nil), 200, "")
	if d := specOf(t, e, tp.ID).Decky("web-01"); d.Live != nil {
		t.Fatalf("lifting every control leaves %+v", d.Live)
	}

	// Rotation: ssh stays, ftp and redis take turns, ftp's settings wait
	// in the schedule while it is out.
	r = e.admin.do("PUT", base+"/rotation", map[string]any{"pool": []string{"ftp", "redis"}, "count": 1, "every": "1h"})
	want(t, "schedule", r, 200, "")
	for i, wantSvc := range []string{"redis", "ftp", "redis"} {
		r = e.admin.do("POST", base+"/rotation/rotate", nil)
		want(t, "rotate", r, 200, "")
		v = decode[deception](t, r)
		if !slices.Equal(v.Services, []string{"ssh", wantSvc}) || len(v.History) != i+1 || v.History[0].By != "admin" {
			t.Fatalf("rotation %d: services %v, history %+v", i, v.Services, v.History)
		}
		d := specOf(t, e, tp.ID).Decky("web-01")
		if _, ok := d.ServiceConfig["ftp"]; ok != (wantSvc == "ftp") {
			t.Fatalf("rotation %d: ftp settings in the spec: %v", i, d.ServiceConfig)
		}
		if wantSvc == "ftp" && d.ServiceConfig["ftp"]["anonymous"] != true {
			t.Fatalf("ftp's settings did not come back: %v", d.ServiceConfig)
		}
	}
	// The schedule's own time.
	rot, err := e.m.Store.Rotation(context.Background(), tp.ID, "web-01")
	if err != nil {
		t.Fatal(err)
	}
	e.m.RotateDue(context.Background(), rot.NextAt.Add(-time.Second))
	e.m.RotateDue(context.Background(), rot.NextAt.Add(time.Second))
	v = decode[deception](t, e.viewer.do("GET", base, nil))
	if len(v.History) != 4 || v.History[0].By != "schedule" || !slices.Equal(v.Services, []string{"ssh", "ftp"}) {
		t.Fatalf("scheduled rotation: %+v", v)
	}
}

func specOf(t *testing.T, e *routesEnv, id string) *topology.Spec {
	t.Helper()
	v := decode[struct {
		Spec topology.Spec `json:"spec"`
	}](t, e.viewer.do("GET", "/topologies/"+id+"/spec", nil))
	return &v.Spec
}

func TestNextServices(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cur := []string{"ssh", "ftp", "http"}
	pool := []string{"ftp", "http", "redis", "mysql", "smtp"}
	for range 50 {
		next := master.NextServices(cur, pool, 2, r)
		if len(next) != 3 || next[0] != "ssh" {
			t.Fatalf("%v -> %v: ssh must stay and two of the pool be exposed", cur, next)
		}
		for _, s := range next[1:] {
			if slices.Contains(cur, s) {
				t.Fatalf("%v -> %v: three fresh services were there, yet %s stayed", cur, next, s)
			}
		}
		cur = next
	}
}
