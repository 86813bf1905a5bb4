package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// TestAlertPages renders the alerts and rules pages from the store: the
// threat level (also on the overview), the status filter, escaped text
// and the rule editor.
func TestAlertPages(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	c := t.Context()
	spec := `{"description":"<b>guessing</b>","severity":3,"match":{"types":["ssh.login.failed"],"min_severity":2},"condition":{"kind":"threshold","count":3,"window":"1m0s"}}`
	if err := f.st.CreateAlertRule(c, &store.AlertRuleRow{ID: "r1", Name: "ssh brute force", Enabled: true, Spec: json.RawMessage(spec)}); err != nil {
		t.Fatal(err)
	}
	at := f.now.Add(-time.Minute)
	for i, src := range []string{"203.0.113.7", "198.51.100.9"} {
		a := &store.Alert{Key: "k" + src, RuleID: "r1", RuleName: "ssh brute force", Severity: event.High, Source: src,
			Title: "ssh brute force: <script>x</script>", Count: int64(3 + i), EventIDs: []string{event.NewID()}, First: at, Last: at}
		if _, err := f.st.OpenAlert(c, a); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if _, err := f.st.SetAlertStatus(c, a.ID, []string{store.AlertOpen}, store.AlertClosed, "alice", f.now); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		path string
		want []string
		not  []string
	}{
		{"/alerts", []string{`data-level="high"`, "1 active alert;", `<a href="/attackers/203.0.113.7">`, `data-status="closed"`, "closed by alice",
			`data-action="ack"`, "&lt;script&gt;x&lt;/script&gt;"}, []string{"<script>x"}},
		{"/alerts?status=open", []string{`data-status="open"`, `aria-current="page">open</a>`}, []string{`data-status="closed"`}},
		{"/alert-rules", []string{"ssh brute force", "type ssh.login.failed; severity ≥ medium", "3 from one source within 1m0s", `id="rule-form"`,
			"&lt;b&gt;guessing&lt;/b&gt;"}, []string{"<b>guessing"}},
		{"/", []string{`id="threat" data-level="high"`, `<a href="/alerts?status=open">1 active alert</a>`}, nil},
	} {
		resp, body := f.get(tc.path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s\n%s", tc.path, resp.Status, body)
		}
		contains(t, tc.path, body, tc.want, tc.not)
	}
	if resp, _ := f.get("/alerts?status=gone"); resp.StatusCode != 400 {
		t.Errorf("a bad status: %s", resp.Status)
	}
}

// contains checks that a page has every text of want and none of not.
func contains(t *testing.T, path, body string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("GET %s lacks %q", path, w)
		}
	}
	for _, w := range not {
		if strings.Contains(body, w) {
			t.Errorf("GET %s has %q", path, w)
		}
	}
}
