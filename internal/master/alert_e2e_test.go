package master_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
)

// upClient talks to the API of a `decnet up` as admin.
type upClient struct {
	t    *testing.T
	api  string
	hc   *http.Client
	csrf string
}

func newUpClient(t *testing.T, api string) *upClient {
	jar, _ := cookiejar.New(nil)
	return &upClient{t: t, api: api, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
}

func (c *upClient) do(method, path string, body any, want int) []byte {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.api+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %s %s", method, path, resp.Status, out)
	}
	var v struct {
		CSRF string `json:"csrf_token"`
	}
	if json.Unmarshal(out, &v) == nil && v.CSRF != "" {
		c.csrf = v.CSRF
	}
	return out
}

// hook is a webhook receiver: what it got, and when.
type hook struct {
	mu     sync.Mutex
	raised []time.Time
	bodies []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	h.mu.Lock()
	h.bodies = append(h.bodies, string(b))
	for range strings.Count(string(b), `"type":"decnet.alert.raised"`) {
		h.raised = append(h.raised, time.Now())
	}
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.raised)
}

// upAdminPassword is the admin password upWithWebhook sets.
const upAdminPassword = "correct horse battery staple"

// upWithWebhook runs `decnet up`, signs in as admin (setting
// upAdminPassword) and adds a webhook output to a receiver the test
// reads.
func upWithWebhook(t *testing.T, bin string) (*testenv.Up, *upClient, *hook) {
	t.Helper()
	up := testenv.StartUp(t, bin)
	c := newUpClient(t, up.API)
	c.do("POST", "/auth/login", map[string]string{"username": "admin", "password": up.Password}, 200)
	c.do("POST", "/auth/password", map[string]string{"current_password": up.Password, "new_password": upAdminPassword}, 200)
	h := &hook{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c.do("POST", "/outputs", map[string]any{"name": "soc", "kind": "webhook", "url": srv.URL + "/decnet", "secret": "0123456789abcdef0123",
		"allow_private": true}, 201)
	return up, c, h
}

// TestAlertEndToEnd is the acceptance of the alert rules: on `decnet up`,
// a rule created through the API ("3 ssh.login.failed from one source
// within 60 s") fires on real ssh login failures against the demo's
// gateway, and the alert reaches a webhook output; a restart on the same
// data directory and `decnet intel rebuild` raise no second alert.
func TestAlertEndToEnd(t *testing.T) {
	testenv.RequireRoot(t)
	sshpass := testenv.RequireTool(t, "sshpass")
	bin := testenv.DecnetBinary(t)
	up, c, h := upWithWebhook(t, bin)
	c.do("POST", "/alert-rules", sshBruteForce, 201)

	fail := func(gw string) {
		t.Helper()
		cmd := exec.Command(sshpass, "-p", "not-the-password", "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "NumberOfPasswordPrompts=1", "-o", "PreferredAuthentications=password", "-o", "ConnectTimeout=10", "root@"+gw, "id")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "denied") {
			t.Fatalf("a wrong password was not refused: %v %s", err, out)
		}
	}
	var third time.Time
	for range 3 {
		third = time.Now()
		fail(up.Gateway)
	}
	testenv.Eventually(t, 30*time.Second, "the alert at the webhook", func() bool { return h.count() > 0 })
	got := h.raised[0]
	var list struct {
		Items []store.Alert `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/alerts", nil, 200), &list)
	if len(list.Items) != 1 {
		t.Fatalf("alerts: %+v", list.Items)
	}
	a := list.Items[0]
	if a.Count != 3 || len(a.EventIDs) != 3 || a.Status != store.AlertOpen || a.Source == "" || a.RuleName != "ssh brute force" {
		t.Fatalf("alert %+v", a)
	}
	for _, id := range a.EventIDs {
		var evs struct {
			Items []struct {
				ID, Type string
			} `json:"items"`
		}
		json.Unmarshal(c.do("GET", "/events?type=ssh.login.failed&limit=100", nil, 200), &evs)
		found := false
		for _, e := range evs.Items {
			found = found || (e.ID == id && e.Type == "ssh.login.failed")
		}
		if !found {
			t.Fatalf("evidence %s is not a stored ssh.login.failed event", id)
		}
	}
	h.mu.Lock()
	body := h.bodies[len(h.bodies)-1]
	h.mu.Unlock()
	if !strings.Contains(body, a.ID) || !strings.Contains(body, `"source":"`+a.Source+`"`) {
		t.Fatalf("webhook body lacks the alert: %.600s", body)
	}
	// The decoy refuses a password after about 2 s, as OpenSSH does; its
	// event is emitted as the attempt is read.
	t.Logf("alert %s raised from %d ssh.login.failed; at the webhook %v after it was raised, %v after the third ssh started",
		a.ID, a.Count, got.Sub(a.CreatedAt).Round(time.Millisecond), got.Sub(third).Round(time.Millisecond))
	has(t, "threat level", apiResp{code: 200, body: c.do("GET", "/threat-level", nil, 200)}, 200, `"level":"high"`)

	// A restart on the same data directory: the consumers resume; a
	// fourth failure joins the alert.
	if err := up.Stop(t); err != nil {
		t.Fatalf("decnet up did not stop: %v\n%s", err, up.Out.String())
	}
	up2 := testenv.StartUpIn(t, bin, up.Data)
	c = newUpClient(t, up2.API)
	c.do("POST", "/auth/login", map[string]string{"username": "admin", "password": upAdminPassword}, 200)
	fail(up2.Gateway)
	alertNow := func() store.Alert {
		json.Unmarshal(c.do("GET", "/alerts", nil, 200), &list)
		if len(list.Items) != 1 {
			t.Fatalf("%d alerts after the restart, want 1: %+v", len(list.Items), list.Items)
		}
		return list.Items[0]
	}
	testenv.Eventually(t, 30*time.Second, "the fourth failure in the alert", func() bool { return alertNow().Count == 4 })
	if err := up2.Stop(t); err != nil {
		t.Fatalf("decnet up did not stop: %v", err)
	}
	out, err := exec.Command(bin, "intel", "rebuild", "--data", up.Data, "--log-level", "error").CombinedOutput()
	if err != nil {
		t.Fatalf("decnet intel rebuild: %v %s", err, out)
	}
	up3 := testenv.StartUpIn(t, bin, up.Data)
	c = newUpClient(t, up3.API)
	c.do("POST", "/auth/login", map[string]string{"username": "admin", "password": upAdminPassword}, 200)
	if a := alertNow(); a.Count != 4 || len(a.EventIDs) != 4 {
		t.Fatalf("after the rebuild: %+v", a)
	}
	if n := h.count(); n != 1 {
		t.Fatalf("the webhook got %d raised alerts, want 1", n)
	}
	t.Logf("after a restart, a fourth failure and decnet intel rebuild: still one alert (count 4), raised once at the webhook; rebuild said %s",
		strings.TrimSpace(string(out)))
}
