package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// storeSpec stores spec as a pending topology and returns its id.
func (f *fixture) storeSpec(spec *topology.Spec) string {
	f.t.Helper()
	spec.ID = event.NewID()
	b, err := json.Marshal(spec)
	if err != nil {
		f.t.Fatal(err)
	}
	t := &store.Topology{ID: spec.ID, Name: spec.Name, HostID: spec.Host, Spec: b, Hash: spec.Hash()}
	if err := f.st.CreateTopology(context.Background(), t); err != nil {
		f.t.Fatal(err)
	}
	return spec.ID
}

func generated(t *testing.T) *topology.Spec {
	t.Helper()
	c := topology.DefaultGenConfig
	c.Name, c.Host, c.Depth, c.Branching, c.DeckiesMin, c.DeckiesMax, c.Seed = "gen", "local", 2, 2, 1, 2, 42
	c.CrossEdge = 0.5
	s, err := topology.Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTopologiesPages(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	spec := generated(t)
	id := f.storeSpec(spec)
	ctx := context.Background()
	if err := f.st.Transition(ctx, id, store.Pending, store.Deploying, "deploy by admin"); err != nil {
		t.Fatal(err)
	}

	resp, body := f.get("/topologies")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %s", resp.Status)
	}
	for _, want := range []string{`href="/topologies/` + id + `"`, ">gen</a>", "<td>local</td>", `state-deploying`,
		`id="gen-form"`, `data-action="deploy"`, `data-action="teardown"`, `data-action="delete" hidden`, `name="deckies_max"`, `name="seed"`} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	if !strings.Contains(body, "<code>"+shortHash(spec.Hash())+"</code>") {
		t.Error("list lacks the hash prefix")
	}

	resp, body = f.get("/topologies/" + id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("detail: %s", resp.Status)
	}
	if n := strings.Count(body, `<g class="node decky`); n != len(spec.Deckies) {
		t.Errorf("%d decky groups, want %d", n, len(spec.Deckies))
	}
	links, bridges := 0, 0
	for _, d := range spec.Deckies {
		links += len(d.Addresses) - 1
		if d.IsBridge() {
			bridges++
			if !strings.Contains(body, `<line class="link" data-decky="`+d.Name+`"`) {
				t.Errorf("no line from bridge %s", d.Name)
			}
		}
	}
	if bridges == 0 {
		t.Fatal("the generated topology has no bridge")
	}
	if n := strings.Count(body, `<line class="link"`); n != links {
		t.Errorf("%d lines, want %d", n, links)
	}
	if n := strings.Count(body, `<g class="node decky bridge"`); n != bridges {
		t.Errorf("%d bridge groups, want %d", n, bridges)
	}
	if n := strings.Count(body, `<g class="lan`); n != len(spec.LANs) {
		t.Errorf("%d LAN boxes, want %d", n, len(spec.LANs))
	}
	for _, want := range []string{`<g class="lan dmz"`, " · DMZ", `aria-labelledby="netmap-title netmap-desc"`, `<title id="netmap-title">`,
		`<desc id="netmap-desc">`, `data-state="deploying"`, `id="topo-status"`, ">deploy by admin<", `data-id="` + id + `"`,
		spec.Deckies[0].Addresses[0].IP, spec.Deckies[0].Services[0]} {
		if !strings.Contains(body, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	if strings.Contains(body, "style=") {
		t.Error("inline style on the map page")
	}

	// Unknown and malformed ids.
	if resp, _ := f.get("/topologies/0000aaaa-0000-0000-0000-000000000000"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown id: %s", resp.Status)
	}
	if resp, _ := f.get("/topologies/%3Cx%3E"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("malformed id: %s", resp.Status)
	}
}

// Names reach the map from a stored spec, which need not have passed
// validation (an older master, a hand-edited database): they are escaped.
func TestTopologyMapEscapes(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	evil := `<script>alert(1)</script>"&`
	spec := &topology.Spec{Name: "esc", Host: "local", Seed: "s",
		LANs: []topology.LAN{{Name: "dmz" + evil, Subnet: "10.9.0.0/24", DMZ: true}, {Name: "lan-b", Subnet: "10.9.1.0/24"}},
		Deckies: []topology.Decky{
			{Name: "gw" + evil, Addresses: []topology.Address{{LAN: "dmz" + evil, IP: "10.9.0.10"}, {LAN: "lan-b", IP: "10.9.1.10"}}, Services: []string{"ssh" + evil}},
			{Name: "inner", Addresses: []topology.Address{{LAN: "lan-b", IP: "10.9.1.11"}}, Services: []string{"http"}},
		}}
	id := f.storeSpec(spec)
	_, body := f.get("/topologies/" + id)
	if strings.Contains(body, "<script>alert") {
		t.Fatal("a name reached the page unescaped")
	}
	if !strings.Contains(body, "gw&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the escaped decky name is missing")
	}
	if n := strings.Count(body, `<g class="node decky`); n != 2 {
		t.Errorf("%d decky groups, want 2", n)
	}
	if n := strings.Count(body, `<line class="link"`); n != 1 {
		t.Errorf("%d lines, want 1", n)
	}
	_, list := f.get("/topologies")
	if !strings.Contains(list, ">esc</a>") || !strings.Contains(list, `<td class="num">2</td>`) {
		t.Error("the list lacks the topology or its decky count")
	}
}

func TestTopologiesViewerHasNoForms(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	id := f.storeSpec(generated(t))
	pw := f.post("/users", map[string]string{"name": "eve", "role": "viewer"})["password"].(string)
	jar, _ := cookiejar.New(nil)
	f.c.Jar = jar
	f.csrf = f.post("/auth/login", map[string]string{"username": "eve", "password": pw})["csrf_token"].(string)
	f.csrf = f.post("/auth/password", map[string]string{"current_password": pw, "new_password": "another long passphrase"})["csrf_token"].(string)
	for _, p := range []string{"/topologies", "/topologies/" + id} {
		resp, body := f.get(p)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, "gen-form") || strings.Contains(body, "data-action=") {
			t.Errorf("a viewer on %s: %s, admin controls shown", p, resp.Status)
		}
	}
}

// TestPreviewMarksObjects: a checked spec is drawn with each issue on the
// LAN or decky it names; issues of no drawn object are listed apart.
func TestPreviewMarksObjects(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	spec := generated(t)
	spec.Deckies[0].Name = `<img src=x onerror=alert(1)>`
	lan, decky := spec.LANs[1].Name, spec.Deckies[1].Name
	issues := []topology.Issue{
		{Severity: topology.Error, Code: "SUBNET_OVERLAP", Message: "overlaps <b>", Object: topology.Ref{Kind: "lan", Name: lan}},
		{Severity: topology.Warning, Code: "SERVICES_EMPTY", Message: "no service", Object: topology.Ref{Kind: "service", Decky: decky, Name: "ssh"}},
		{Severity: topology.Error, Code: "NAME_INVALID", Message: "bad name", Object: topology.Ref{Kind: "topology", Name: "gen"}},
	}
	post := func(csrf string, body any) (int, string) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/topologies/preview", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := f.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := new(strings.Builder)
		_, _ = io.Copy(out, resp.Body)
		return resp.StatusCode, out.String()
	}
	code, frag := post(f.csrf, map[string]any{"spec": spec, "issues": issues})
	if code != http.StatusOK {
		t.Fatalf("preview: %d %s", code, frag)
	}
	for _, want := range []string{
		`class="lan issue-error" data-lan="` + lan + `"`,
		`issue-warning" data-decky="` + decky + `"`,
		"error SUBNET_OVERLAP: overlaps &lt;b&gt;",
		"warning SERVICES_EMPTY: no service",
		"&lt;img src=x onerror=alert(1)&gt;",
	} {
		if !strings.Contains(frag, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(frag, "<img") || strings.Contains(frag, "<script") {
		t.Error("preview carries live markup from the spec")
	}
	if code, _ := post("", map[string]any{"spec": spec}); code != http.StatusForbidden {
		t.Errorf("preview without the CSRF header: %d", code)
	}
	if code, _ := post(f.csrf, map[string]any{"spec": "lans: ["}); code != http.StatusBadRequest {
		t.Errorf("preview of a non-object: %d", code)
	}
	// The page itself is for admins.
	resp, body := f.get("/topologies/new")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="src-form"`) {
		t.Fatalf("new topology page: %s", resp.Status)
	}
}

// TestMapDeckyStates: on a running topology, each decky takes the state
// its host last reported (running or missing).
func TestMapDeckyStates(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	ctx := context.Background()
	spec := generated(t)
	id := f.storeSpec(spec)
	if err := f.st.CreateHost(ctx, &store.Host{ID: "local", Name: "local", CertSerial: "s1"}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{store.Deploying, store.Active} {
		from := map[string]string{store.Deploying: store.Pending, store.Active: store.Deploying}[to]
		if err := f.st.Transition(ctx, id, from, to, "test"); err != nil {
			t.Fatal(err)
		}
	}
	up, down := spec.Deckies[0].Name, spec.Deckies[1].Name
	obs, _ := json.Marshal(wire.Observed{Containers: []string{"decnet-x-" + up},
		Deckies: []wire.ObservedDecky{{Topology: id, Name: up, Running: true, State: "running"}}})
	if err := f.st.RecordHeartbeat(ctx, "local", f.now, id, spec.Hash(), "", obs); err != nil {
		t.Fatal(err)
	}
	_, body := f.get("/topologies/" + id)
	for _, want := range []string{`data-decky="` + up + `" data-state="running"`, `data-decky="` + down + `" data-state="missing"`} {
		if !strings.Contains(body, want) {
			t.Errorf("map lacks %q", want)
		}
	}
	// The hosts page: local runs what it should, but one decky is missing;
	// a second host reports an older hash of nothing it should run.
	if err := f.st.CreateHost(ctx, &store.Host{ID: "edge", Name: "edge", CertSerial: "s2"}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.RecordHeartbeat(ctx, "edge", f.now, id, "sha256:old", "", nil); err != nil {
		t.Fatal(err)
	}
	_, body = f.get("/hosts")
	for _, want := range []string{
		`data-role="sync">synced</span>; <span class="sync-drift">not running: ` + down,
		`data-role="sync">leftover</span>`,
		`data-action="decommission"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("hosts page lacks %q", want)
		}
	}
}
