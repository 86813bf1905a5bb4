package master_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
)

// upWithAdmin starts `decnet up`, logs in as admin with a new password
// and adds a webhook output recording what it gets.
func upWithAdmin(t *testing.T) (*testenv.Up, *upClient, *hook) {
	t.Helper()
	testenv.RequireRoot(t)
	bin := testenv.DecnetBinary(t)
	up := testenv.StartUp(t, bin)
	c := newUpClient(t, up.API)
	c.do("POST", "/auth/login", map[string]string{"username": "admin", "password": up.Password}, 200)
	c.do("POST", "/auth/password", map[string]string{"current_password": up.Password, "new_password": "correct horse battery staple"}, 200)
	h := &hook{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c.do("POST", "/outputs", map[string]any{"name": "soc", "kind": "webhook", "url": srv.URL + "/decnet", "secret": "0123456789abcdef0123",
		"allow_private": true}, 201)
	return up, c, h
}

// arrival waits for an alert of rule at the webhook and returns when it
// arrived and the body that carried it.
func (h *hook) arrival(t *testing.T, rule string, within time.Duration) (time.Time, string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for i, b := range h.bodies {
			if strings.Contains(b, `"decnet.alert.raised"`) && strings.Contains(b, `"rule_id":"`+rule+`"`) {
				at := h.at[i]
				h.mu.Unlock()
				return at, b
			}
		}
		h.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no alert of rule %s at the webhook within %v", rule, within)
	return time.Time{}, ""
}

// TestCanaryTokensEndToEnd is the acceptance of the canary tokens: on
// `decnet up`, a token of every kind is made through the API and used by
// a real client (curl, dig, git, LibreOffice, poppler and MuPDF where they
// call home, the URL embedded in the file where they do not); each
// firing reaches the webhook output as an alert through the token's own
// rule. The time from the client's start to the alert's arrival is
// logged, not asserted.
func TestCanaryTokensEndToEnd(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	dig := testenv.RequireTool(t, "dig")
	up, c, h := upWithAdmin(t)
	m := regexp.MustCompile(`Canary tokens call home to (\S+) and DNS (\S+):(\d+) \(zone (\S+)\)`).FindStringSubmatch(up.Out.String())
	if m == nil {
		t.Fatalf("the banner names no canary listeners:\n%s", up.Out.String())
	}
	dnsHost, dnsPort := m[2], m[3]
	dir := t.TempDir()

	create := func(kind, memo string) master.CanaryToken {
		var tok master.CanaryToken
		if err := json.Unmarshal(c.do("POST", "/canary-tokens", map[string]any{"kind": kind, "memo": memo}, 201), &tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	download := func(tok master.CanaryToken) string {
		p := filepath.Join(dir, tok.Kind+"-"+tok.Document)
		if err := os.WriteFile(p, c.do("GET", "/canary-tokens/"+tok.ID+"/document", nil, 200), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Logf("%s %v: %v", name, args, err)
		}
		return string(out)
	}
	resolve := func(host string) {
		t.Helper()
		if out := run(dig, "@"+dnsHost, "-p", dnsPort, "+short", "+tries=1", "+time=3", host, "A"); strings.TrimSpace(out) != "127.0.0.1" {
			t.Fatalf("dig %s: %q, want 127.0.0.1", host, out)
		}
	}
	fetch := func(url string) {
		t.Helper()
		run(curl, "-s", "-o", "/dev/null", "-A", "Mozilla/5.0 (X11; Linux x86_64) token-test", "-H", "X-Forwarded-For: 198.51.100.7", url)
	}
	// fired waits a little for a renderer's own fetch.
	fired := func(tok master.CanaryToken, within time.Duration) bool {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			var got master.CanaryToken
			_ = json.Unmarshal(c.do("GET", "/canary-tokens/"+tok.ID, nil, 200), &got)
			if got.Triggers > 0 {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	check := func(tok master.CanaryToken, started time.Time, how string) {
		t.Helper()
		at, body := h.arrival(t, tok.RuleID, 15*time.Second)
		if !strings.Contains(body, tok.Memo) {
			t.Errorf("%s: the alert lacks the memo: %.800s", tok.Kind, body)
		}
		var trig struct {
			Items []struct {
				Time   time.Time      `json:"ts"`
				Fields map[string]any `json:"fields"`
			} `json:"items"`
		}
		testenv.Eventually(t, 10*time.Second, tok.Kind+" trigger event stored", func() bool {
			json.Unmarshal(c.do("GET", "/canary-tokens/"+tok.ID+"/triggers", nil, 200), &trig)
			return len(trig.Items) > 0
		})
		first := trig.Items[len(trig.Items)-1]
		t.Logf("%-16s %-48s alert at the webhook %4dms after the trigger event, %5dms after the client started",
			tok.Kind, how, at.Sub(first.Time).Milliseconds(), at.Sub(started).Milliseconds())
	}

	tok := create("http", "URL in the finance wiki")
	if tok.URL == "" {
		t.Fatalf("http token without a URL: %+v", tok)
	}
	start := time.Now()
	fetch(tok.URL)
	check(tok, start, "curl")
	var trig struct {
		Items []struct {
			Src    struct{ IP string } `json:"src"`
			Fields map[string]any      `json:"fields"`
		} `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/canary-tokens/"+tok.ID+"/triggers", nil, 200), &trig)
	if f := trig.Items[0].Fields; trig.Items[0].Src.IP != "127.0.0.1" || !strings.Contains(f["user_agent"].(string), "token-test") ||
		!strings.Contains(strings.Join(toStrings(f["headers"]), "\n"), "X-Forwarded-For: 198.51.100.7") {
		t.Fatalf("http trigger evidence: %+v", trig.Items[0])
	}

	tok = create("dns", "hostname in the VPN runbook")
	start = time.Now()
	resolve(tok.Hostname)
	check(tok, start, "dig")

	tok = create("docx", "salary review on the HR share")
	p := download(tok)
	start = time.Now()
	how := "LibreOffice opened it (soffice --convert-to pdf)"
	if soffice := testenv.OptionalTool(t, "soffice"); soffice != "" {
		run(soffice, "--headless", "-env:UserInstallation=file://"+filepath.Join(dir, "lo-profile"), "--convert-to", "pdf", "--outdir", filepath.Join(dir, "out"), p)
	}
	if !fired(tok, 5*time.Second) {
		how = "URL from word/_rels/document.xml.rels, curl"
		start = time.Now()
		fetch(docxURL(t, p))
	}
	check(tok, start, how)

	tok = create("pdf", "network diagram in the IT share")
	p = download(tok)
	start = time.Now()
	how = "pdftoppm and mutool rendered it"
	if pdftoppm := testenv.OptionalTool(t, "pdftoppm"); pdftoppm != "" {
		run(pdftoppm, "-png", "-r", "20", p, filepath.Join(dir, "page"))
	}
	if mutool := testenv.OptionalTool(t, "mutool"); mutool != "" {
		run(mutool, "draw", "-o", filepath.Join(dir, "page-%d.png"), "-r", "20", p)
	}
	if !fired(tok, 2*time.Second) {
		how = "neither fetches: /URI from the PDF, curl"
		b, _ := os.ReadFile(p)
		u := regexp.MustCompile(`/URI \((http[^)]+)\)`).FindSubmatch(b)
		if u == nil {
			t.Fatal("the PDF carries no /URI")
		}
		start = time.Now()
		fetch(string(u[1]))
	}
	check(tok, start, how)

	tok = create("env", ".env of the billing app on web-01")
	b, _ := os.ReadFile(download(tok))
	u := regexp.MustCompile(`(?m)^PAYMENT_WEBHOOK_URL=(\S+)$`).FindSubmatch(b)
	hst := regexp.MustCompile(`(?m)^DB_HOST=(\S+)$`).FindSubmatch(b)
	if u == nil || hst == nil || string(hst[1]) != tok.Hostname {
		t.Fatalf(".env lacks the token URL or host:\n%s", b)
	}
	start = time.Now()
	fetch(string(u[1]))
	check(tok, start, "PAYMENT_WEBHOOK_URL, curl")
	start = time.Now()
	resolve(string(hst[1])) // the same token by DNS: joins its alert
	testenv.Eventually(t, 10*time.Second, "the .env's DNS trigger", func() bool {
		var got master.CanaryToken
		_ = json.Unmarshal(c.do("GET", "/canary-tokens/"+tok.ID, nil, 200), &got)
		return got.Triggers == 2
	})
	t.Logf("%-16s %-48s counted as the token's second trigger %dms after dig started", "env", "DB_HOST, dig", time.Since(start).Milliseconds())

	tok = create("git_config", ".git/config of the infra repo")
	b, _ = os.ReadFile(download(tok))
	if !strings.Contains(string(b), "url = "+tok.URL) {
		t.Fatalf("git config lacks the URL:\n%s", b)
	}
	start = time.Now()
	how = "git ls-remote origin"
	if git := testenv.OptionalTool(t, "git"); git != "" {
		repo := filepath.Join(dir, "repo")
		os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
		run(git, "init", "-q", repo)
		os.WriteFile(filepath.Join(repo, ".git", "config"), b, 0o644)
		cmd := exec.Command(git, "-C", repo, "ls-remote", "origin")
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
		cmd.Run()
	} else {
		how = "git absent: curl the origin URL"
		fetch(tok.URL)
	}
	check(tok, start, how)

	tok = create("aws_credentials", "~/.aws/credentials of the backup user")
	b, _ = os.ReadFile(download(tok))
	e := regexp.MustCompile(`endpoint_url = https://(\S+)`).FindSubmatch(b)
	if e == nil || string(e[1]) != tok.Hostname {
		t.Fatalf("credentials lack the token host:\n%s", b)
	}
	start = time.Now()
	resolve(string(e[1]))
	check(tok, start, "endpoint_url host, dig")

	// An unknown slug in the same shape answers the same and fires nothing.
	var list struct {
		Items []store.Alert `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/alerts", nil, 200), &list)
	before := len(list.Items)
	fetch(strings.Replace(tok.URL, "/docs/", "/docs/aaaaaaaaaaaaaaaa", 1))
	time.Sleep(500 * time.Millisecond)
	json.Unmarshal(c.do("GET", "/alerts", nil, 200), &list)
	if len(list.Items) != before {
		t.Fatalf("an unknown slug raised an alert")
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// docxURL is the external image target of a docx.
func docxURL(t *testing.T, p string) string {
	t.Helper()
	b, _ := os.ReadFile(p)
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := z.Open("word/_rels/document.xml.rels")
	if err != nil {
		t.Fatal(err)
	}
	rels, _ := io.ReadAll(f)
	u := regexp.MustCompile(`Target="(http[^"]+)" TargetMode="External"`).FindSubmatch(rels)
	if u == nil {
		t.Fatalf("no external target in %s", rels)
	}
	return string(u[1])
}
