package master_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/output"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
)

// outputsEnv is a routes environment whose master also runs its bus and
// its output manager (with the given command-line outputs).
type outputsEnv struct {
	*routesEnv
	pub *bus.Publisher
}

func newOutputsEnv(t *testing.T, flags ...output.Config) *outputsEnv {
	t.Helper()
	e := newRoutesEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.m.StartBus(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.m.Outputs.Run(ctx, e.m.JS, flags) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Outputs.Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Outputs.Run did not return after its context ended")
		}
	})
	testenv.Eventually(t, 5*time.Second, "the output manager", func() bool {
		r := e.admin.do("POST", "/outputs/nope/test", nil)
		return r.code == http.StatusNotFound // 503 until Run has loaded
	})
	pub, err := bus.NewPublisher(e.m.Bus.ClientURL(), "h1", bus.PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	return &outputsEnv{routesEnv: e, pub: pub}
}

func (e *outputsEnv) publish() event.Event {
	e.t.Helper()
	ev := event.Event{Schema: 1, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed", Decky: "d1", Service: "ssh",
		Src: &event.Endpoint{IP: "203.0.113.9", Port: 40000}}
	if err := e.pub.Publish(context.Background(), []event.Event{ev}); err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// outView is the part of an output view the tests read.
type outView struct {
	Name         string         `json:"name"`
	Kind         string         `json:"kind"`
	URL          string         `json:"url"`
	Path         string         `json:"path"`
	SecretSet    bool           `json:"secret_set"`
	ResolvedPath string         `json:"resolved_path"`
	Source       string         `json:"source"`
	Enabled      bool           `json:"enabled"`
	Running      bool           `json:"running"`
	Error        string         `json:"error"`
	Status       output.Status  `json:"status"`
	LastTest     *outputTestRes `json:"last_test"`
}

type outputTestRes struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

func (e *outputsEnv) view(name string) outView {
	e.t.Helper()
	r := e.admin.do("GET", "/outputs/"+name, nil)
	want(e.t, "get output "+name, r, http.StatusOK, "")
	return decode[outView](e.t, r)
}

// receiver is a webhook endpoint that checks signatures and records the
// events it accepts.
type receiver struct {
	t      *testing.T
	secret []byte
	srv    *httptest.Server
	status atomic.Int32

	mu     sync.Mutex
	events []event.Event
	bad    []string
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{t: t, secret: []byte(secret)}
	rc.status.Store(http.StatusOK)
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if code := int(rc.status.Load()); code != http.StatusOK {
			w.WriteHeader(code)
			return
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		ts := r.Header.Get(output.HeaderTimestamp)
		if got := r.Header.Get(output.HeaderSignature); got != output.Signature(rc.secret, ts, body) {
			rc.bad = append(rc.bad, "bad signature "+got)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var evs []event.Event
		if err := json.Unmarshal(body, &evs); err != nil {
			rc.bad = append(rc.bad, "bad body: "+err.Error())
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.events = append(rc.events, evs...)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) has(id string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		rc.t.Fatalf("receiver refused requests: %v", rc.bad)
	}
	for _, e := range rc.events {
		if e.ID == id {
			return true
		}
	}
	return false
}

func (rc *receiver) count(typ string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, e := range rc.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

const hookSecret = "0123456789abcdef-webhook-secret"

// TestOutputWebhookLifecycle drives an API webhook output through its
// life: signed delivery, test-fire, self-disable and re-enable, admin
// disable and enable (position kept), replace (secret kept), delete
// (durable consumer removed), with the secret never shown or stored in
// clear.
func TestOutputWebhookLifecycle(t *testing.T) {
	e := newOutputsEnv(t)
	ctx := context.Background()
	rc := newReceiver(t, hookSecret)

	r := e.admin.do("POST", "/outputs", map[string]any{"name": "siem", "kind": "webhook", "allow_private": true, "url": rc.srv.URL + "/in",
		"secret": hookSecret, "max_failures": 1})
	want(t, "create webhook", r, http.StatusCreated, "")
	if strings.Contains(string(r.body), hookSecret) || strings.Contains(string(r.body), `"secret"`) {
		t.Fatalf("create answer shows the secret: %s", r.body)
	}
	v := decode[outView](t, r)
	if v.Name != "siem" || v.Kind != "webhook" || !v.SecretSet || v.Source != master.OutputSourceAPI || !v.Enabled || !v.Running || v.Error != "" {
		t.Fatalf("created view %+v", v)
	}

	t.Run("secret at rest and in reads", func(t *testing.T) {
		for _, path := range []string{"/outputs", "/outputs/siem"} {
			r := e.admin.do("GET", path, nil)
			want(t, "GET "+path, r, http.StatusOK, "")
			if strings.Contains(string(r.body), hookSecret) || strings.Contains(string(r.body), `"secret"`) || !strings.Contains(string(r.body), `"secret_set":true`) {
				t.Fatalf("GET %s does not redact the secret: %s", path, r.body)
			}
		}
		row, err := e.m.Store.Output(ctx, "siem")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(row.Config), hookSecret) || strings.Contains(string(row.Config), hookSecret[:16]) || !strings.Contains(string(row.Config), `"secret":"enc:v1:`) {
			t.Fatalf("stored config holds the secret in clear: %s", row.Config)
		}
		fi, err := os.Stat(filepath.Join(e.m.Config.DataDir, "outputs.key"))
		if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
			t.Fatalf("outputs.key: %v %v", fi, err)
		}
	})

	e1 := e.publish()
	testenv.Eventually(t, 15*time.Second, "the first event, signed", func() bool { return rc.has(e1.ID) })

	t.Run("test-fire", func(t *testing.T) {
		r := e.admin.do("POST", "/outputs/siem/test", nil)
		want(t, "test ok", r, http.StatusOK, "")
		if res := decode[outputTestRes](t, r); !res.OK || res.Error != "" {
			t.Fatalf("test = %s", r.body)
		}
		if rc.count(output.TestEventType) != 1 {
			t.Fatal("the receiver did not get the test event")
		}
		rc.status.Store(http.StatusInternalServerError)
		r = e.admin.do("POST", "/outputs/siem/test", nil)
		want(t, "failed test", r, http.StatusOK, "")
		if res := decode[outputTestRes](t, r); res.OK || !strings.Contains(res.Error, "500") {
			t.Fatalf("failed test = %s", r.body)
		}
		if v := e.view("siem"); v.LastTest == nil || v.LastTest.OK || !strings.Contains(v.LastTest.Error, "500") {
			t.Fatalf("last_test after a failed test: %+v", v.LastTest)
		}
		want(t, "test unknown", e.admin.do("POST", "/outputs/nope/test", nil), http.StatusNotFound, api.CodeNotFound)
	})

	// A failing receiver: the delivery error shows, and with max_failures 1
	// the webhook disables itself; enable switches it back on and the
	// event held back arrives.
	e2 := e.publish()
	testenv.Eventually(t, 30*time.Second, "the webhook to disable itself", func() bool {
		v := e.view("siem")
		return v.Status.Disabled && strings.Contains(v.Status.LastError, "500")
	})
	rc.status.Store(http.StatusOK)
	r = e.admin.do("POST", "/outputs/siem/enable", nil)
	want(t, "re-enable", r, http.StatusOK, "")
	if v := decode[outView](t, r); v.Status.Disabled || !v.Running {
		t.Fatalf("after enable: %+v", v)
	}
	testenv.Eventually(t, 15*time.Second, "the held-back event after enable", func() bool { return rc.has(e2.ID) })

	// Admin disable: nothing is delivered, and enable resumes from the
	// position.
	r = e.admin.do("POST", "/outputs/siem/disable", nil)
	want(t, "disable", r, http.StatusOK, "")
	if v := decode[outView](t, r); v.Enabled || v.Running {
		t.Fatalf("after disable: %+v", v)
	}
	if row, _ := e.m.Store.Output(ctx, "siem"); row == nil || row.Enabled {
		t.Fatalf("disable not stored: %+v", row)
	}
	e3 := e.publish()
	time.Sleep(time.Second) // asserting an absence: give a running output the time it would need
	if rc.has(e3.ID) {
		t.Fatal("a disabled output delivered")
	}
	want(t, "enable", e.admin.do("POST", "/outputs/siem/enable", nil), http.StatusOK, "")
	testenv.Eventually(t, 15*time.Second, "the event published while disabled", func() bool { return rc.has(e3.ID) })

	// Replace: a new URL, the secret left empty keeps the old one.
	rc2 := newReceiver(t, hookSecret)
	want(t, "rename refused", e.admin.do("PUT", "/outputs/siem", map[string]any{"name": "other", "kind": "webhook", "allow_private": true, "url": rc2.srv.URL}),
		http.StatusBadRequest, api.CodeInvalid)
	r = e.admin.do("PUT", "/outputs/siem", map[string]any{"kind": "webhook", "allow_private": true, "url": rc2.srv.URL + "/v2"})
	want(t, "replace", r, http.StatusOK, "")
	if v := decode[outView](t, r); v.URL != rc2.srv.URL+"/v2" || !v.SecretSet || !v.Running || !v.Enabled {
		t.Fatalf("after replace: %+v", v)
	}
	e4 := e.publish()
	testenv.Eventually(t, 15*time.Second, "an event at the new URL, signed with the kept secret", func() bool { return rc2.has(e4.ID) })
	if rc2.has(e1.ID) || rc.has(e4.ID) {
		t.Fatal("the replaced output did not resume from its position")
	}

	// Delete: the durable consumer goes too.
	durable := output.DurablePrefix + "siem"
	if _, err := e.m.JS.Consumer(ctx, bus.StreamName, durable); err != nil {
		t.Fatalf("durable consumer before delete: %v", err)
	}
	want(t, "delete", e.admin.do("DELETE", "/outputs/siem", nil), http.StatusNoContent, "")
	if _, err := e.m.JS.Consumer(ctx, bus.StreamName, durable); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("durable consumer after delete: %v", err)
	}
	if _, err := e.m.Store.Output(ctx, "siem"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stored output after delete: %v", err)
	}
	want(t, "get deleted", e.admin.do("GET", "/outputs/siem", nil), http.StatusNotFound, api.CodeNotFound)
	want(t, "delete twice", e.admin.do("DELETE", "/outputs/siem", nil), http.StatusNotFound, api.CodeNotFound)
}

// fieldsOf lists the fields of a 400's details.
func fieldsOf(t *testing.T, r apiResp) []string {
	t.Helper()
	var body struct {
		Error struct {
			Details []master.OutputFieldError `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range body.Error.Details {
		out = append(out, d.Field)
	}
	return out
}

// TestOutputConfigChecks: field-level validation errors, file outputs
// confined to the data directory, no CA or certificate files through the
// API, names and files not shared, and admin only.
func TestOutputConfigChecks(t *testing.T) {
	e := newOutputsEnv(t)
	tests := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"webhook without url and secret", map[string]any{"name": "w", "kind": "webhook"}, []string{"url", "secret"}},
		{"bad name and kind", map[string]any{"name": "Bad Name", "kind": "carrier-pigeon"}, []string{"name", "kind"}},
		{"absolute path", map[string]any{"name": "f", "kind": "file", "path": "/etc/cron.d/x"}, []string{"path"}},
		{"parent directory", map[string]any{"name": "f", "kind": "file", "path": "../master.db"}, []string{"path"}},
		{"dot dot", map[string]any{"name": "f", "kind": "file", "path": ".."}, []string{"path"}},
		{"subdirectory", map[string]any{"name": "f", "kind": "file", "path": "sub/x.jsonl"}, []string{"path"}},
		{"CA file", map[string]any{"name": "s", "kind": "syslog", "address": "127.0.0.1:6514", "tls": true, "ca": "/etc/ssl/ca.pem"}, []string{"ca"}},
		{"webhook to the metadata address", map[string]any{"name": "w", "kind": "webhook", "url": "http://169.254.169.254/latest/", "secret": hookSecret}, []string{"url"}},
		{"webhook to loopback", map[string]any{"name": "w", "kind": "webhook", "url": "http://localhost:8443/api/v1/", "secret": hookSecret}, []string{"url"}},
		{"client certificate", map[string]any{"name": "w", "kind": "webhook", "url": "https://siem.example/in", "secret": hookSecret,
			"cert": "/tmp/c.pem", "key": "/tmp/k.pem"}, []string{"ca"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.admin.do("POST", "/outputs", tc.body)
			want(t, "create", r, http.StatusBadRequest, api.CodeInvalid)
			got := fieldsOf(t, r)
			for _, f := range tc.fields {
				if !strings.Contains(strings.Join(got, ","), f) {
					t.Errorf("details %v lack field %q: %s", got, f, r.body)
				}
			}
		})
	}
	want(t, "unknown field", e.admin.do("POST", "/outputs", map[string]any{"name": "x", "kind": "file", "path": "x", "colour": "red"}),
		http.StatusBadRequest, api.CodeInvalid)

	r := e.admin.do("POST", "/outputs", map[string]any{"name": "archive", "kind": "file", "path": "events.jsonl"})
	want(t, "create file output", r, http.StatusCreated, "")
	v := decode[outView](t, r)
	wantPath := filepath.Join(e.m.Config.DataDir, "outputs", "events.jsonl")
	if abs, _ := filepath.Abs(wantPath); v.ResolvedPath != abs || v.Path != "events.jsonl" || v.SecretSet {
		t.Fatalf("file output view %+v, want it at %s", v, wantPath)
	}
	ev := e.publish()
	testenv.Eventually(t, 15*time.Second, "the event in the file", func() bool {
		b, _ := os.ReadFile(wantPath)
		return strings.Contains(string(b), ev.ID)
	})
	r = e.admin.do("POST", "/outputs/archive/test", nil)
	want(t, "test file output", r, http.StatusOK, "")
	if b, _ := os.ReadFile(wantPath); !decode[outputTestRes](t, r).OK || !strings.Contains(string(b), output.TestEventType) {
		t.Fatalf("test of the file output: %s", r.body)
	}

	want(t, "duplicate name", e.admin.do("POST", "/outputs", map[string]any{"name": "archive", "kind": "file", "path": "other.jsonl"}),
		http.StatusConflict, api.CodeConflict)
	for _, p := range []string{"events.jsonl", "events.jsonl.1"} {
		want(t, "shared file "+p, e.admin.do("POST", "/outputs", map[string]any{"name": "copy", "kind": "file", "path": p}),
			http.StatusConflict, api.CodeConflict)
	}
	want(t, "replace with a path outside", e.admin.do("PUT", "/outputs/archive", map[string]any{"kind": "file", "path": "/var/log/x"}),
		http.StatusBadRequest, api.CodeInvalid)

	// Admin only, reads included.
	for _, c := range []struct{ method, path string }{{"GET", "/outputs"}, {"GET", "/outputs/archive"}, {"POST", "/outputs/archive/test"}, {"DELETE", "/outputs/archive"}} {
		want(t, "viewer "+c.method+" "+c.path, e.viewer.do(c.method, c.path, nil), http.StatusForbidden, api.CodeForbidden)
	}
	want(t, "viewer create", e.viewer.do("POST", "/outputs", map[string]any{"name": "v", "kind": "file", "path": "v.jsonl"}),
		http.StatusForbidden, api.CodeForbidden)
}

// TestFlagOutputs: outputs given on the command line are listed and
// test-fireable, but not editable, disableable or deletable, and their
// names are taken.
func TestFlagOutputs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flag.jsonl")
	e := newOutputsEnv(t, output.Config{Name: "file", Kind: output.KindFile, Path: path})
	r := e.admin.do("GET", "/outputs", nil)
	want(t, "list", r, http.StatusOK, "")
	list := decode[api.List[outView]](t, r)
	if len(list.Items) != 1 || list.Items[0].Source != master.OutputSourceFlag || !list.Items[0].Running || list.Items[0].Path != path {
		t.Fatalf("list = %s", r.body)
	}
	ev := e.publish()
	testenv.Eventually(t, 15*time.Second, "the event in the flag output's file", func() bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), ev.ID)
	})
	r = e.admin.do("POST", "/outputs/file/test", nil)
	want(t, "test", r, http.StatusOK, "")
	if !decode[outputTestRes](t, r).OK {
		t.Fatalf("test = %s", r.body)
	}
	want(t, "enable", e.admin.do("POST", "/outputs/file/enable", nil), http.StatusOK, "")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"DELETE", "/outputs/file", nil},
		{"PUT", "/outputs/file", map[string]any{"kind": "file", "path": "x.jsonl"}},
		{"POST", "/outputs/file/disable", nil},
		{"POST", "/outputs", map[string]any{"name": "file", "kind": "file", "path": "x.jsonl"}},
	} {
		r := e.admin.do(c.method, c.path, c.body)
		want(t, c.method+" "+c.path, r, http.StatusConflict, api.CodeConflict)
		if !strings.Contains(r.obj()["error"].(map[string]any)["message"].(string), "command-line flag") {
			t.Errorf("%s %s: message does not say why: %s", c.method, c.path, r.body)
		}
	}
	if v := e.view("file"); !v.Running || !v.Enabled {
		t.Fatalf("flag output after refused changes: %+v", v)
	}
}

// TestOutputsRestart: a second manager on the same store and data
// directory (a restarted master) opens the sealed secret and runs the
// stored outputs, disabled ones stopped; a key file others can read, or
// another key, is refused with a clear error.
func TestOutputsRestart(t *testing.T) {
	e := newOutputsEnv(t)
	rc := newReceiver(t, hookSecret)
	want(t, "create", e.admin.do("POST", "/outputs", map[string]any{"name": "siem", "kind": "webhook", "allow_private": true, "url": rc.srv.URL, "secret": hookSecret}),
		http.StatusCreated, "")
	want(t, "create disabled", e.admin.do("POST", "/outputs", map[string]any{"name": "off", "kind": "file", "path": "off.jsonl", "enabled": false}),
		http.StatusCreated, "")
	if v := e.view("off"); v.Enabled || v.Running {
		t.Fatalf("created disabled: %+v", v)
	}

	runManager := func(dataDir string) (*master.Outputs, func()) {
		o := master.NewOutputs(e.m.Store, dataDir, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx, e.m.JS, nil) }()
		return o, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	listed := func(o *master.Outputs) map[string]master.OutputView {
		vs, err := o.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]master.OutputView{}
		for _, v := range vs {
			out[v.Name] = v
		}
		return out
	}

	// Stop the first manager's webhook so the second one consumes alone.
	want(t, "disable in the first manager", e.admin.do("POST", "/outputs/siem/disable", nil), http.StatusOK, "")
	if err := e.m.Store.UpdateOutput(context.Background(), func() *store.OutputRow {
		row, err := e.m.Store.Output(context.Background(), "siem")
		if err != nil {
			t.Fatal(err)
		}
		row.Enabled = true
		return row
	}()); err != nil {
		t.Fatal(err)
	}
	o2, stop := runManager(e.m.Config.DataDir)
	testenv.Eventually(t, 5*time.Second, "the restarted manager", func() bool { return listed(o2)["siem"].Running })
	vs := listed(o2)
	if v := vs["siem"]; v.Error != "" || !v.SecretSet || v.Secret != "" {
		t.Fatalf("restarted webhook: %+v", v)
	}
	if v := vs["off"]; v.Running || v.Enabled {
		t.Fatalf("restarted disabled output: %+v", v)
	}
	ev := e.publish()
	testenv.Eventually(t, 15*time.Second, "delivery by the restarted manager", func() bool { return rc.has(ev.ID) })
	stop()

	// Another data directory has another key: the secret does not open,
	// and the view says why.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "outputs.key"), []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	o3, stop := runManager(other)
	testenv.Eventually(t, 5*time.Second, "the third manager", func() bool { return listed(o3)["siem"].Error != "" })
	if v := listed(o3)["siem"]; v.Running || !strings.Contains(v.Error, "decrypt the secret") {
		t.Fatalf("webhook under the wrong key: %+v", v)
	}
	stop()

	// A key file others may read is refused.
	if err := os.Chmod(filepath.Join(other, "outputs.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	o4, stop := runManager(other)
	defer stop()
	testenv.Eventually(t, 5*time.Second, "the fourth manager", func() bool { return listed(o4)["siem"].Error != "" })
	if v := listed(o4)["siem"]; v.Running || !strings.Contains(v.Error, "chmod 600") {
		t.Fatalf("webhook under a readable key: %+v", v)
	}
}
