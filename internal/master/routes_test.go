package master_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// routesEnv is a master with its operator API and the topology and host
// routes mounted, served over TLS (the session cookie is Secure).
type routesEnv struct {
	t      *testing.T
	m      *master.Master
	srv    *api.Server
	ts     *httptest.Server
	admin  *apiClient
	viewer *apiClient
}

type apiClient struct {
	e    *routesEnv
	hc   *http.Client
	csrf string
}

type apiResp struct {
	code int
	body []byte
}

func (r apiResp) obj() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return m
}

func (r apiResp) errCode() string {
	if e, ok := r.obj()["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (c *apiClient) do(method, path string, body any) apiResp {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.e.ts.URL+api.Prefix+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(api.CSRFHeader, c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResp{code: resp.StatusCode, body: b}
}

func (e *routesEnv) client() *apiClient {
	jar, _ := cookiejar.New(nil)
	hc := *e.ts.Client() // a copy: each caller has its own cookies
	hc.Jar = jar
	return &apiClient{e: e, hc: &hc}
}

// login logs in and, when the password must change, changes it.
func (e *routesEnv) login(name, password string) *apiClient {
	e.t.Helper()
	c := e.client()
	r := c.do("POST", "/auth/login", map[string]string{"username": name, "password": password})
	want(e.t, "login "+name, r, http.StatusOK, "")
	c.csrf = r.obj()["csrf_token"].(string)
	if u := r.obj()["user"].(map[string]any); u["must_change_password"] == true {
		r = c.do("POST", "/auth/password", map[string]string{"current_password": password, "new_password": password + "-changed"})
		want(e.t, "change password of "+name, r, http.StatusOK, "")
		c.csrf = r.obj()["csrf_token"].(string)
	}
	return c
}

func want(t *testing.T, what string, r apiResp, code int, errCode string) {
	t.Helper()
	if r.code != code || (errCode != "" && r.errCode() != errCode) {
		t.Fatalf("%s: got %d %s, want %d %s", what, r.code, r.body, code, errCode)
	}
}

func newRoutesEnv(t *testing.T) *routesEnv {
	t.Helper()
	ctx := context.Background()
	m, err := master.Open(ctx, master.Config{DataDir: t.TempDir(), AgentListen: ":7946", Addresses: []string{"master.example"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	srv, err := m.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(m.Routes()...)
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })
	e := &routesEnv{t: t, m: m, srv: srv, ts: ts}
	pw, created, err := api.Bootstrap(ctx, m.Store)
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	e.admin = e.login(api.BootstrapUser, pw)
	r := e.admin.do("POST", "/users", map[string]string{"name": "eve", "role": "viewer", "password": "viewer-password-123"})
	want(t, "create viewer", r, http.StatusCreated, "")
	e.viewer = e.login("eve", "viewer-password-123")
	return e
}

// addHost enrolls a host directly in the store.
func (e *routesEnv) addHost(id string) {
	e.t.Helper()
	if err := e.m.Store.CreateHost(context.Background(), &store.Host{ID: id, Name: id, CertSerial: "serial-" + id}); err != nil {
		e.t.Fatal(err)
	}
}

func specDoc(name, host, subnet string, services ...string) map[string]any {
	if len(services) == 0 {
		services = []string{"ssh"}
	}
	lan := map[string]any{"name": "dmz", "dmz": true}
	if subnet != "" {
		lan["subnet"] = subnet
	}
	s := map[string]any{
		"name": name, "seed": "seed-" + name,
		"lans": []any{lan},
		"deckies": []any{map[string]any{"name": "web-01", "persona": map[string]any{"os": "linux", "distro": "debian"},
			"addresses": []any{map[string]any{"lan": "dmz"}}, "services": services}},
	}
	if host != "" {
		s["host"] = host
	}
	return s
}

// topo is the part of a topology view the tests read.
type topo struct {
	ID          string               `json:"id"`
	Name        string               `json:"name"`
	HostID      string               `json:"host_id"`
	Status      string               `json:"status"`
	Hash        string               `json:"version_hash"`
	Version     int64                `json:"version"`
	NeedsResync bool                 `json:"needs_resync"`
	History     []store.StatusChange `json:"status_history"`
	Spec        struct {
		ID   string `json:"id"`
		Host string `json:"host"`
		Seed string `json:"seed"`
		LANs []struct {
			Name, Subnet, Gateway string
		} `json:"lans"`
		Deckies []struct {
			Name      string `json:"name"`
			Addresses []struct{ LAN, IP string }
		} `json:"deckies"`
	} `json:"spec"`
}

func decode[T any](t *testing.T, r apiResp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

func (e *routesEnv) create(body map[string]any) topo {
	e.t.Helper()
	r := e.admin.do("POST", "/topologies", body)
	want(e.t, "create", r, http.StatusCreated, "")
	return decode[topo](e.t, r)
}

func (e *routesEnv) get(id string) topo {
	e.t.Helper()
	r := e.viewer.do("GET", "/topologies/"+id, nil)
	want(e.t, "get "+id, r, http.StatusOK, "")
	return decode[topo](e.t, r)
}

func issueCodes(t *testing.T, r apiResp) []string {
	t.Helper()
	var body struct {
		Error struct {
			Details []struct {
				Code string `json:"code"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range body.Error.Details {
		out = append(out, d.Code)
	}
	return out
}

func TestCreateTopology(t *testing.T) {
	e := newRoutesEnv(t)

	// From a spec: allocations written into the stored spec, whose id is
	// the stored id, and the hash covers it.
	a := e.create(map[string]any{"spec": specDoc("lab", "", ""), "host": "sensor-1"})
	if a.Status != store.Pending || a.HostID != "sensor-1" || a.Spec.ID != a.ID || a.Spec.Host != "sensor-1" || a.Version != 1 {
		t.Fatalf("created %+v", a)
	}
	if a.Spec.LANs[0].Subnet == "" || a.Spec.LANs[0].Gateway == "" || a.Spec.Deckies[0].Addresses[0].IP == "" {
		t.Fatalf("allocations not stored: %+v", a.Spec)
	}
	// The same host's subnets are reserved: the next allocation differs.
	b := e.create(map[string]any{"spec": specDoc("lab2", "sensor-1", "")})
	if b.Spec.LANs[0].Subnet == a.Spec.LANs[0].Subnet {
		t.Fatalf("both topologies on sensor-1 got %s", a.Spec.LANs[0].Subnet)
	}
	// An explicit overlap on the same host is refused with its code.
	r := e.admin.do("POST", "/topologies", map[string]any{"spec": specDoc("lab3", "sensor-1", a.Spec.LANs[0].Subnet)})
	want(t, "overlap", r, http.StatusBadRequest, api.CodeInvalid)
	if c := issueCodes(t, r); len(c) == 0 || c[0] != "SUBNET_OVERLAP" {
		t.Fatalf("overlap codes %v", c)
	}

	// Duplicate name.
	r = e.admin.do("POST", "/topologies", map[string]any{"spec": specDoc("lab", "", "10.77.0.0/24")})
	want(t, "duplicate name", r, http.StatusConflict, api.CodeConflict)

	// From the original INI format, with the seed kept.
	ini := e.create(map[string]any{"ini": "[general]\nnet = 10.61.0.0/24\n\n[web]\nservices = ssh, http\n", "name": "from-ini", "seed": "ini-seed", "host": "sensor-2"})
	if ini.Name != "from-ini" || ini.Spec.Seed != "ini-seed" || ini.Spec.LANs[0].Subnet != "10.61.0.0/24" || ini.Spec.ID != ini.ID {
		t.Fatalf("ini %+v", ini)
	}
	// INI errors carry their line and code.
	r = e.admin.do("POST", "/topologies", map[string]any{"ini": "[a]\nservices = gopher\n", "name": "bad-ini"})
	want(t, "bad ini", r, http.StatusBadRequest, api.CodeInvalid)
	if !strings.Contains(string(r.body), "UNKNOWN_SERVICE") || !strings.Contains(string(r.body), `"line":2`) {
		t.Fatalf("bad ini: %s", r.body)
	}

	// From the generator: reproducible with a seed.
	gen := e.create(map[string]any{"generate": map[string]any{"name": "maze", "depth": 1, "branching": 2, "deckies_min": 1, "deckies_max": 2, "seed": 7, "services": []string{"ssh"}}})
	if gen.Name != "maze" || len(gen.Spec.LANs) < 2 || gen.Spec.ID != gen.ID {
		t.Fatalf("generated %+v", gen)
	}
	// The generator avoids the subnets of the host's other topologies.
	genH := e.create(map[string]any{"generate": map[string]any{"name": "maze-h", "depth": 0, "seed": 7, "services": []string{"ssh"}}, "host": "sensor-1"})
	if genH.HostID != "sensor-1" || genH.Spec.LANs[0].Subnet == a.Spec.LANs[0].Subnet || genH.Spec.LANs[0].Subnet == b.Spec.LANs[0].Subnet {
		t.Fatalf("generated on sensor-1: %+v", genH)
	}
	r = e.admin.do("POST", "/topologies", map[string]any{"generate": map[string]any{"name": "maze2", "depth": 99}})
	want(t, "bad generator", r, http.StatusBadRequest, api.CodeInvalid)

	// Validation: every issue, with codes.
	bad := specDoc("broken", "", "10.0.0.0/33")
	bad["deckies"] = append(bad["deckies"].([]any), map[string]any{"name": "web-01", "persona": map[string]any{"os": "linux"},
		"addresses": []any{map[string]any{"lan": "nowhere"}}, "services": []string{"gopher"}})
	r = e.admin.do("POST", "/topologies", map[string]any{"spec": bad})
	want(t, "invalid spec", r, http.StatusBadRequest, api.CodeInvalid)
	codes := strings.Join(issueCodes(t, r), ",")
	for _, c := range []string{"SUBNET_MALFORMED", "DECKY_NAME_DUP", "IP_UNKNOWN_LAN", "UNKNOWN_SERVICE"} {
		if !strings.Contains(codes, c) {
			t.Errorf("codes %s lack %s", codes, c)
		}
	}
	// Unknown fields of the spec are refused with their line.
	r = e.admin.do("POST", "/topologies", map[string]any{"spec": map[string]any{"name": "x", "colour": "red"}})
	want(t, "unknown spec key", r, http.StatusBadRequest, api.CodeInvalid)
	// Services this build does not implement are refused.
	servicetest.RegisterPlaceholder()
	r = e.admin.do("POST", "/topologies", map[string]any{"ini": "[box]\nservices = ssh, " + servicetest.Placeholder + "\n", "name": "placeholder"})
	want(t, "unimplemented", r, http.StatusBadRequest, api.CodeInvalid)
	if c := issueCodes(t, r); len(c) != 1 || c[0] != "SERVICE_NOT_IMPLEMENTED" {
		t.Fatalf("unimplemented codes %v: %s", c, r.body)
	}
	// Exactly one source.
	r = e.admin.do("POST", "/topologies", map[string]any{"spec": specDoc("two", "", ""), "ini": "[a]\nservices = ssh\n"})
	want(t, "two sources", r, http.StatusBadRequest, api.CodeInvalid)
	r = e.admin.do("POST", "/topologies", map[string]any{"spec": specDoc("badhost", "", ""), "host": "Bad Host"})
	want(t, "bad host", r, http.StatusBadRequest, api.CodeInvalid)

	// Validate stores nothing.
	r = e.viewer.do("POST", "/topologies/validate", map[string]any{"spec": specDoc("dry", "", "")})
	want(t, "validate", r, http.StatusOK, "")
	if v := r.obj(); v["valid"] != true || len(v["hash"].(string)) != 64 {
		t.Fatalf("validate: %s", r.body)
	}
	r = e.viewer.do("POST", "/topologies/validate", map[string]any{"spec": bad})
	want(t, "validate invalid", r, http.StatusOK, "")
	if v := r.obj(); v["valid"] != false || len(v["issues"].([]any)) < 4 {
		t.Fatalf("validate invalid: %s", r.body)
	}
	r = e.viewer.do("POST", "/topologies/validate", map[string]any{"ini": "[a]\nservices ssh\n"})
	if v := r.obj(); r.code != http.StatusOK || v["valid"] != false || !strings.Contains(string(r.body), "INI_SYNTAX") {
		t.Fatalf("validate bad ini: %d %s", r.code, r.body)
	}

	// List: by name, with filters and pages.
	r = e.viewer.do("GET", "/topologies", nil)
	want(t, "list", r, http.StatusOK, "")
	list := decode[api.List[topo]](t, r)
	if len(list.Items) != 5 || list.Items[0].Name != "from-ini" || list.Items[0].Hash == "" {
		t.Fatalf("list %+v", list)
	}
	r = e.viewer.do("GET", "/topologies?host=sensor-1&limit=1", nil)
	list = decode[api.List[topo]](t, r)
	if len(list.Items) != 1 || list.Items[0].Name != "lab" || list.NextCursor == "" {
		t.Fatalf("page 1 %s", r.body)
	}
	r = e.viewer.do("GET", "/topologies?host=sensor-1&limit=1&cursor="+list.NextCursor, nil)
	list = decode[api.List[topo]](t, r)
	if len(list.Items) != 1 || list.Items[0].Name != "lab2" || list.NextCursor == "" {
		t.Fatalf("page 2 %s", r.body)
	}
	want(t, "bad param", e.viewer.do("GET", "/topologies?colour=red", nil), http.StatusBadRequest, api.CodeInvalid)

	// Get by id and by name; spec.
	if g := e.get("lab"); g.ID != a.ID || g.History == nil {
		t.Fatalf("by name: %+v", g)
	}
	r = e.viewer.do("GET", "/topologies/"+a.ID+"/spec", nil)
	want(t, "spec", r, http.StatusOK, "")
	if v := r.obj(); v["version"] != float64(1) || v["spec"].(map[string]any)["id"] != a.ID {
		t.Fatalf("spec %s", r.body)
	}
	want(t, "missing", e.viewer.do("GET", "/topologies/nope", nil), http.StatusNotFound, api.CodeNotFound)
}

func TestDeployTeardownLifecycle(t *testing.T) {
	e := newRoutesEnv(t)
	ctx := context.Background()
	noHost := e.create(map[string]any{"spec": specDoc("nohost", "", "")})
	want(t, "deploy without host", e.admin.do("POST", "/topologies/"+noHost.ID+"/deploy", nil), http.StatusBadRequest, api.CodeInvalid)
	top := e.create(map[string]any{"spec": specDoc("lab", "sensor-1", "")})
	want(t, "deploy to unknown host", e.admin.do("POST", "/topologies/lab/deploy", nil), http.StatusNotFound, api.CodeNotFound)
	e.addHost("sensor-1")

	// Two concurrent deploys: exactly one wins, and the move is recorded
	// before the 202.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Go(func() { codes[i] = e.admin.do("POST", "/topologies/"+top.ID+"/deploy", nil).code })
	}
	wg.Wait()
	if !(codes[0] == 202 && codes[1] == 409) && !(codes[0] == 409 && codes[1] == 202) {
		t.Fatalf("concurrent deploys answered %v", codes)
	}
	got := e.get(top.ID)
	if got.Status != store.Deploying || len(got.History) != 1 || got.History[0].From != store.Pending || !got.NeedsResync {
		t.Fatalf("after deploy %+v", got)
	}
	// Deploying again, or deleting a live topology, conflicts.
	want(t, "redeploy", e.admin.do("POST", "/topologies/lab/deploy", nil), http.StatusConflict, api.CodeConflict)
	want(t, "delete live", e.admin.do("DELETE", "/topologies/lab", nil), http.StatusConflict, api.CodeConflict)
	// A second topology cannot go live on the same host (one per agent).
	e.create(map[string]any{"spec": specDoc("other", "sensor-1", "")})
	want(t, "second on host", e.admin.do("POST", "/topologies/other/deploy", nil), http.StatusConflict, api.CodeConflict)

	// The agent reports the hash: no resync needed.
	if err := e.m.Store.RecordHeartbeat(ctx, "sensor-1", time.Now(), top.ID, top.Hash, "", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.get(top.ID); got.NeedsResync {
		t.Fatalf("needs resync with the applied hash: %+v", got)
	}
	if err := e.m.Store.Transition(ctx, top.ID, store.Deploying, store.Active, "test: applied"); err != nil {
		t.Fatal(err)
	}

	// Teardown: two racing requests, one wins; then the reconciler's
	// job. A torn_down topology can be deleted or deployed again.
	for i := range codes {
		wg.Go(func() { codes[i] = e.admin.do("POST", "/topologies/lab/teardown", nil).code })
	}
	wg.Wait()
	if !(codes[0] == 202 && codes[1] == 409) && !(codes[0] == 409 && codes[1] == 202) {
		t.Fatalf("concurrent teardowns answered %v", codes)
	}
	if got := e.get(top.ID); got.Status != store.TearingDown || got.NeedsResync {
		t.Fatalf("after teardown %+v", got)
	}
	want(t, "delete tearing_down", e.admin.do("DELETE", "/topologies/lab", nil), http.StatusConflict, api.CodeConflict)
	want(t, "deploy tearing_down", e.admin.do("POST", "/topologies/lab/deploy", nil), http.StatusConflict, api.CodeConflict)
	if err := e.m.Store.Transition(ctx, top.ID, store.TearingDown, store.TornDown, "test: torn down"); err != nil {
		t.Fatal(err)
	}
	want(t, "teardown torn_down", e.admin.do("POST", "/topologies/lab/teardown", nil), http.StatusConflict, api.CodeConflict)
	got = e.get(top.ID)
	var moves []string
	for _, h := range got.History {
		moves = append(moves, h.From+">"+h.To)
	}
	if strings.Join(moves, " ") != "pending>deploying deploying>active active>tearing_down tearing_down>torn_down" {
		t.Fatalf("history %v", moves)
	}
	if !strings.Contains(got.History[0].Reason, "admin") {
		t.Fatalf("reason %q names no actor", got.History[0].Reason)
	}
	want(t, "redeploy torn_down", e.admin.do("POST", "/topologies/lab/deploy", nil), http.StatusAccepted, "")

	// Teardown of a pending topology is immediate.
	r := e.admin.do("POST", "/topologies/other/teardown", nil)
	want(t, "teardown pending", r, http.StatusOK, "")
	if s := decode[topo](t, r).Status; s != store.TornDown {
		t.Fatalf("pending teardown left %s", s)
	}
	// Delete: pending and torn_down go; failed goes unless its host still
	// reports it applied.
	want(t, "delete torn_down", e.admin.do("DELETE", "/topologies/other", nil), http.StatusNoContent, "")
	want(t, "delete pending", e.admin.do("DELETE", "/topologies/"+noHost.ID, nil), http.StatusNoContent, "")
	want(t, "deleted", e.viewer.do("GET", "/topologies/other", nil), http.StatusNotFound, api.CodeNotFound)
	if err := e.m.Store.Transition(ctx, top.ID, store.Deploying, store.Failed, "test: apply failed"); err != nil {
		t.Fatal(err)
	}
	want(t, "delete failed but applied", e.admin.do("DELETE", "/topologies/lab", nil), http.StatusConflict, api.CodeConflict)
	if err := e.m.Store.RecordHeartbeat(ctx, "sensor-1", time.Now(), "", "", "apply failed", nil); err != nil {
		t.Fatal(err)
	}
	want(t, "delete failed", e.admin.do("DELETE", "/topologies/lab", nil), http.StatusNoContent, "")

	// The audit log names the target.
	audit, err := e.m.Store.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range audit {
		if a.Action == "POST /topologies/{id}/deploy" && a.Target == "topology/lab" && a.Actor == "admin" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no deploy audit entry in %+v", audit)
	}
}

func TestReplaceSpec(t *testing.T) {
	e := newRoutesEnv(t)
	ctx := context.Background()
	e.addHost("sensor-1")
	top := e.create(map[string]any{"spec": specDoc("lab", "sensor-1", "10.70.0.0/24")})

	r := e.viewer.do("GET", "/topologies/lab/spec", nil)
	sv := decode[struct {
		Version int64          `json:"version"`
		Spec    map[string]any `json:"spec"`
	}](t, r)
	sv.Spec["deckies"].([]any)[0].(map[string]any)["services"] = []string{"ssh", "http"}
	// A pending topology: new spec and hash, status unchanged.
	r = e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": sv.Spec, "version": sv.Version})
	want(t, "put", r, http.StatusOK, "")
	p := decode[topo](t, r)
	if p.Hash == top.Hash || p.Status != store.Pending || p.Version != sv.Version+1 || p.Spec.ID != top.ID {
		t.Fatalf("after put %+v", p)
	}
	// The same version again is stale.
	r = e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": sv.Spec, "version": sv.Version})
	want(t, "stale put", r, http.StatusConflict, api.CodeConflict)
	// Invalid specs, renames and host moves are refused.
	bad := specDoc("lab", "sensor-1", "10.70.0.0/33")
	want(t, "invalid put", e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": bad, "version": p.Version}), http.StatusBadRequest, api.CodeInvalid)
	want(t, "rename", e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": specDoc("lab9", "", ""), "version": p.Version}), http.StatusBadRequest, api.CodeInvalid)
	want(t, "move", e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": specDoc("lab", "sensor-2", ""), "version": p.Version}), http.StatusBadRequest, api.CodeInvalid)
	want(t, "no version", e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": sv.Spec}), http.StatusBadRequest, api.CodeInvalid)

	// Deploy, converge, then replace the spec of the active topology: it
	// goes back to deploying with the new hash, and needs a resync.
	want(t, "deploy", e.admin.do("POST", "/topologies/lab/deploy", nil), http.StatusAccepted, "")
	cur := e.get("lab")
	if err := e.m.Store.RecordHeartbeat(ctx, "sensor-1", time.Now(), cur.ID, cur.Hash, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Store.Transition(ctx, cur.ID, store.Deploying, store.Active, "test: applied"); err != nil {
		t.Fatal(err)
	}
	cur = e.get("lab")
	if cur.Status != store.Active || cur.NeedsResync {
		t.Fatalf("active %+v", cur)
	}
	want(t, "put while stale", e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": sv.Spec, "version": p.Version}), http.StatusConflict, api.CodeConflict)
	sv.Spec["deckies"].([]any)[0].(map[string]any)["services"] = []string{"ssh", "telnet"}
	r = e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": sv.Spec, "version": cur.Version})
	want(t, "put active", r, http.StatusOK, "")
	n := decode[topo](t, r)
	if n.Status != store.Deploying || n.Hash == cur.Hash || !n.NeedsResync {
		t.Fatalf("after put on active %+v", n)
	}
	if last := n.History[len(n.History)-1]; last.From != store.Active || last.To != store.Deploying {
		t.Fatalf("history %+v", n.History)
	}
	// While deploying, a replacement waits.
	want(t, "put deploying", e.admin.do("PUT", "/topologies/lab/spec", map[string]any{"spec": sv.Spec, "version": n.Version}), http.StatusConflict, api.CodeConflict)
	// The reconciler sees what the heartbeat reply will carry.
	st, _ := e.m.Store.Topology(ctx, n.ID)
	if st.Hash != n.Hash {
		t.Fatalf("stored hash %s, view %s", st.Hash, n.Hash)
	}
}

func TestHosts(t *testing.T) {
	e := newRoutesEnv(t)
	ctx := context.Background()
	e.addHost("alive-1")
	e.addHost("stale-1")
	e.addHost("never-1")
	if err := e.m.Store.RecordHeartbeat(ctx, "alive-1", time.Now().Add(-5*time.Second), "t1", "h1", "", json.RawMessage(`{"containers":[]}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Store.RecordHeartbeat(ctx, "stale-1", time.Now().Add(-5*time.Minute), "", "", "engine unreachable", nil); err != nil {
		t.Fatal(err)
	}
	r := e.viewer.do("GET", "/hosts", nil)
	want(t, "hosts", r, http.StatusOK, "")
	hosts := decode[api.List[master.HostView]](t, r)
	live := map[string]master.HostView{}
	for _, h := range hosts.Items {
		live[h.ID] = h
	}
	if live["alive-1"].Liveness != master.LivenessAlive || live["alive-1"].AppliedHash != "h1" ||
		live["stale-1"].Liveness != master.LivenessStale || live["stale-1"].LastError != "engine unreachable" ||
		live["never-1"].Liveness != master.LivenessNeverSeen || len(hosts.Items) != 3 {
		t.Fatalf("hosts %s", r.body)
	}
	r = e.viewer.do("GET", "/hosts/alive-1", nil)
	want(t, "host", r, http.StatusOK, "")
	if h := decode[master.HostDetail](t, r); string(h.Observed) != `{"containers":[]}` || h.Topologies == nil {
		t.Fatalf("host %s", r.body)
	}
	want(t, "no host", e.viewer.do("GET", "/hosts/nope", nil), http.StatusNotFound, api.CodeNotFound)

	// Join token: the command carries the master address, token and CA hash.
	r = e.admin.do("POST", "/hosts/join-token", map[string]any{"name": "sensor-9", "ttl_seconds": 600})
	want(t, "join token", r, http.StatusCreated, "")
	jt := decode[master.JoinTokenResponse](t, r)
	if jt.Token == "" || jt.CAHash != e.m.CA.Hash() || jt.Master != "master.example:7946" ||
		jt.Command != "decnet agent join --master master.example:7946 --token "+jt.Token+" --ca-hash "+jt.CAHash+" --dir /var/lib/decnet/agent" ||
		time.Until(jt.ExpiresAt) > 601*time.Second {
		t.Fatalf("join token %+v", jt)
	}
	// The token enrolls once.
	if _, err := e.m.Authority.Enroll(ctx, master.EnrollRequest{Token: jt.Token, CSR: "not a csr"}); err == nil {
		t.Fatal("enrolled with a bad CSR")
	}
	want(t, "bad name", e.admin.do("POST", "/hosts/join-token", map[string]any{"name": "Bad Name"}), http.StatusBadRequest, api.CodeInvalid)
	want(t, "the master's own name", e.admin.do("POST", "/hosts/join-token", map[string]any{"name": "master"}), http.StatusBadRequest, api.CodeInvalid)
	want(t, "bad ttl", e.admin.do("POST", "/hosts/join-token", map[string]any{"name": "x1", "ttl_seconds": 1}), http.StatusBadRequest, api.CodeInvalid)
	want(t, "taken name", e.admin.do("POST", "/hosts/join-token", map[string]any{"name": "alive-1"}), http.StatusConflict, api.CodeConflict)
	audit, _ := e.m.Store.ListAudit(ctx, 0, 100)
	for _, a := range audit {
		if strings.Contains(a.Target+a.Detail, jt.Token) {
			t.Fatalf("token in the audit log: %+v", a)
		}
	}

	// Decommission: refused while a topology is live, unless forced; the
	// certificate serial is revoked.
	top := e.create(map[string]any{"spec": specDoc("lab", "alive-1", "")})
	want(t, "deploy", e.admin.do("POST", "/topologies/lab/deploy", nil), http.StatusAccepted, "")
	want(t, "decommission live", e.admin.do("POST", "/hosts/alive-1/decommission", nil), http.StatusConflict, api.CodeConflict)
	r = e.admin.do("POST", "/hosts/alive-1/decommission", map[string]any{"wipe": true})
	want(t, "wipe an agent that never said where it listens", r, http.StatusServiceUnavailable, api.CodeUnavailable)
	if !strings.Contains(string(r.body), "decommission without wipe") {
		t.Fatalf("the refusal does not say what to do: %s", r.body)
	}
	r = e.admin.do("POST", "/hosts/alive-1/decommission", map[string]any{"force": true})
	want(t, "decommission forced", r, http.StatusOK, "")
	if h := decode[master.HostDetail](t, r); !h.Decommissioned {
		t.Fatalf("decommissioned %s", r.body)
	}
	if rev, err := e.m.Store.Revoked(ctx, "serial-alive-1"); err != nil || !rev {
		t.Fatalf("serial not revoked: %v %v", rev, err)
	}
	if got := e.get(top.ID); got.Status != store.TornDown {
		t.Fatalf("topology on a decommissioned host: %+v", got)
	}
	want(t, "deploy to decommissioned", e.admin.do("POST", "/topologies/lab/deploy", nil), http.StatusNotFound, api.CodeNotFound)
	want(t, "decommission never-1", e.admin.do("POST", "/hosts/never-1/decommission", nil), http.StatusOK, "")
	want(t, "decommission unknown", e.admin.do("POST", "/hosts/nope/decommission", nil), http.StatusNotFound, api.CodeNotFound)
}

// TestRoutesAreGuarded walks every mounted route: anonymous callers get
// 401, a viewer gets 403 on every admin route, a session without the CSRF
// header is refused on every mutating route, and every route is in the
// OpenAPI document.
func TestRoutesAreGuarded(t *testing.T) {
	e := newRoutesEnv(t)
	e.addHost("sensor-1")
	e.create(map[string]any{"spec": specDoc("lab", "sensor-1", "")})
	anon := e.client()
	noCSRF := *e.admin
	noCSRF.csrf = ""
	r := e.viewer.do("GET", "/openapi.json", nil)
	want(t, "openapi", r, http.StatusOK, "")
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range e.m.Routes() {
		path := strings.NewReplacer("{id}", "lab").Replace(rt.Pattern)
		if strings.HasPrefix(rt.Pattern, "/hosts/{id}") {
			path = strings.NewReplacer("{id}", "sensor-1").Replace(rt.Pattern)
		}
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			if _, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]; !ok {
				t.Errorf("not in the OpenAPI document")
			}
			var body any
			if rt.Method == http.MethodPost || rt.Method == http.MethodPut {
				body = map[string]any{}
			}
			want(t, "anonymous", anon.do(rt.Method, path, body), http.StatusUnauthorized, api.CodeUnauthenticated)
			if rt.Role == store.Admin {
				want(t, "viewer", e.viewer.do(rt.Method, path, body), http.StatusForbidden, api.CodeForbidden)
			} else if rt.Role != store.Viewer {
				t.Fatalf("role %q", rt.Role)
			}
			if rt.Method != http.MethodGet {
				want(t, "no CSRF", noCSRF.do(rt.Method, path, body), http.StatusForbidden, api.CodeCSRF)
			}
		})
	}
	// Nothing changed.
	if got := e.get("lab"); got.Status != store.Pending || len(got.History) != 0 {
		t.Fatalf("guarded routes changed %+v", got)
	}
	if h, _ := e.m.Store.Host(context.Background(), "sensor-1"); h.Decommissioned {
		t.Fatal("a refused request decommissioned the host")
	}
}

// TestViewersReadNoSecrets: a secret service setting is in the spec an
// admin reads, and redacted in what a viewer reads.
func TestViewersReadNoSecrets(t *testing.T) {
	e := newRoutesEnv(t)
	doc := specDoc("vault", "", "10.71.0.0/24", "redis")
	doc["deckies"].([]any)[0].(map[string]any)["service_config"] = map[string]any{
		"redis": map[string]any{"password": "s3cret-requirepass", "version": "7.0.15"}}
	e.create(map[string]any{"spec": doc})
	for _, path := range []string{"/topologies/vault", "/topologies/vault/spec"} {
		admin := e.admin.do("GET", path, nil)
		viewer := e.viewer.do("GET", path, nil)
		want(t, "admin "+path, admin, http.StatusOK, "")
		want(t, "viewer "+path, viewer, http.StatusOK, "")
		if !strings.Contains(string(admin.body), "s3cret-requirepass") {
			t.Errorf("admin %s lacks the secret", path)
		}
		if strings.Contains(string(viewer.body), "s3cret-requirepass") || !strings.Contains(string(viewer.body), master.Redacted) ||
			!strings.Contains(string(viewer.body), "7.0.15") {
			t.Errorf("viewer %s: %s", path, viewer.body)
		}
	}
}

// TestCLIRefusesAsTheAPI deploys through `decnet deploy --data` what the
// API refuses, and checks that the CLI refuses it with the same error code:
// both go through the master's lifecycle core.
func TestCLIRefusesAsTheAPI(t *testing.T) {
	bin := testenv.DecnetBinary(t)
	e := newRoutesEnv(t)
	e.addHost("h1")
	// The API first: h1 runs topology "live".
	live := e.create(map[string]any{"spec": specDoc("live", "h1", "10.91.0.0/24")})
	want(t, "deploy live", e.admin.do("POST", "/topologies/"+live.ID+"/deploy", nil), http.StatusAccepted, "")

	big := specDoc("big", "h1", "10.93.0.0/24")
	big["deckies"].([]any)[0].(map[string]any)["service_config"] = map[string]any{"ssh": map[string]any{"motd": strings.Repeat("<", 1<<20)}}
	bigCLI := specDoc("big-cli", "h1", "10.96.0.0/24")
	bigCLI["deckies"] = big["deckies"]
	// Each case has a spec for the API and one for the CLI (another name
	// and subnet: what the API stored must not be what the CLI trips on).
	cases := []struct {
		name     string
		api, cli map[string]any
		code     string
	}{
		{"unenrolled host", specDoc("ghost", "ghost", "10.92.0.0/24"), specDoc("ghost-cli", "ghost", "10.95.0.0/24"), api.CodeNotFound},
		{"second live topology", specDoc("second", "h1", "10.94.0.0/24"), specDoc("second-cli", "h1", "10.97.0.0/24"), api.CodeConflict},
		// JSON escapes '<' as \u003c: one MiB of them is over the 4 MiB cap
		// once stored, though the document itself is under it.
		{"over the size cap", big, bigCLI, api.CodeInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.admin.do("POST", "/topologies", map[string]any{"spec": c.api})
			if r.code == http.StatusCreated {
				r = e.admin.do("POST", "/topologies/"+decode[topo](t, r).ID+"/deploy", nil)
			}
			if r.errCode() != c.code {
				t.Fatalf("API: %d %s, want %s", r.code, r.body, c.code)
			}
			var doc bytes.Buffer
			enc := json.NewEncoder(&doc)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(c.cli); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "spec.json")
			if err := os.WriteFile(file, doc.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "deploy", "--data", e.m.Config.DataDir, "--config", file).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "decnet: "+c.code+": ") {
				t.Fatalf("CLI: %v\n%s\nwant the refusal coded %s", err, out, c.code)
			}
			t.Logf("API %s; CLI: %s", r.errCode(), strings.TrimSpace(string(out)))
		})
	}
	// Nothing the CLI refused was stored.
	tops, err := e.m.Store.ListTopologies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range tops {
		if strings.HasSuffix(tp.Name, "-cli") {
			t.Errorf("refused topology %s stored (%s)", tp.Name, tp.Status)
		}
	}
}

// A host whose agent said its driver is the host driver gets no topology
// it could not build: a LAN off the host's networks is refused at once,
// with its code, as the agent would refuse it at apply.
func TestCreateRefusesWhatTheHostCannotBuild(t *testing.T) {
	e := newRoutesEnv(t)
	e.m.Reconciler.Observe("lab-host", &wire.Heartbeat{Capabilities: &topology.HostCapabilities{
		Driver: "host", LANDrivers: []topology.Driver{topology.Bridge}, LocalSubnets: []string{"127.0.0.0/8"}}})
	r := e.admin.do("POST", "/topologies", map[string]any{"spec": specDoc("far", "lab-host", "10.88.0.0/24")})
	want(t, "off-host subnet", r, http.StatusBadRequest, api.CodeInvalid)
	if c := issueCodes(t, r); len(c) != 1 || c[0] != string(topology.HostSubnetNotLocal) {
		t.Fatalf("codes %v: %s", c, r.body)
	}
	if a := e.create(map[string]any{"spec": specDoc("near", "lab-host", "127.88.0.0/24")}); a.HostID != "lab-host" {
		t.Fatalf("created %+v", a)
	}
}
