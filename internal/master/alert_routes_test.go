package master_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// sshBruteForce is the acceptance rule: 3 ssh.login.failed from one
// source within 60 s.
var sshBruteForce = map[string]any{"name": "ssh brute force", "severity": 3,
	"match":     map[string]any{"types": []string{"ssh.login.failed"}},
	"condition": map[string]any{"kind": "threshold", "count": 3, "window": "60s"}}

// addAlert stores a rule with the given id and an open alert of it.
func (e *routesEnv) addAlert(ruleID, alertID string) {
	e.t.Helper()
	ctx := context.Background()
	spec := `{"severity":3,"match":{"types":["ssh.login.failed"]},"condition":{"kind":"each"}}`
	if err := e.m.Store.CreateAlertRule(ctx, &store.AlertRuleRow{ID: ruleID, Name: "seeded " + ruleID, Enabled: true, Spec: json.RawMessage(spec)}); err != nil {
		e.t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Minute)
	a := &store.Alert{ID: alertID, Key: ruleID + "|192.0.2.7|" + alertID, RuleID: ruleID, RuleName: "seeded " + ruleID, Severity: event.High,
		Source: "192.0.2.7", Title: "seeded", Count: 1, EventIDs: []string{event.NewID()}, First: at, Last: at}
	if created, err := e.m.Store.OpenAlert(ctx, a); err != nil || !created {
		e.t.Fatalf("seed alert: %v %v", created, err)
	}
}

// has checks an answer's status and that its body contains text.
func has(t *testing.T, what string, r apiResp, code int, text string) {
	t.Helper()
	if r.code != code || !strings.Contains(string(r.body), text) {
		t.Fatalf("%s: got %d %s, want %d with %s", what, r.code, r.body, code, text)
	}
}

func TestAlertRoutes(t *testing.T) {
	e := newRoutesEnv(t)
	r := e.admin.do("GET", "/threat-level", nil)
	has(t, "threat level, nothing active", r, http.StatusOK, `"level":"none"`)

	has(t, "viewer creates a rule", e.viewer.do("POST", "/alert-rules", sshBruteForce), http.StatusForbidden, "")
	for _, bad := range []map[string]any{
		{"name": "x", "condition": map[string]any{"kind": "threshold"}},
		{"name": "x", "match": map[string]any{"tags": []string{"brute"}}},
		{"name": "x", "condition": map[string]any{"kind": "honey_credential", "count": 3}},
		{"name": "x", "severity": 9},
	} {
		has(t, "invalid rule", e.admin.do("POST", "/alert-rules", bad), http.StatusBadRequest, "invalid alert rule")
	}
	r = e.admin.do("POST", "/alert-rules", sshBruteForce)
	has(t, "create rule", r, http.StatusCreated, `"window":"1m0s"`)
	var rule struct {
		ID      string `json:"id"`
		Enabled bool   `json:"enabled"`
	}
	json.Unmarshal(r.body, &rule)
	if !rule.Enabled || rule.ID == "" {
		t.Fatalf("created rule %s", r.body)
	}
	has(t, "duplicate name", e.admin.do("POST", "/alert-rules", sshBruteForce), http.StatusConflict, "")
	has(t, "viewer lists rules", e.viewer.do("GET", "/alert-rules", nil), http.StatusOK, `"name":"ssh brute force"`)
	disabled := map[string]any{"name": "ssh brute force", "enabled": false, "severity": 3, "match": sshBruteForce["match"], "condition": sshBruteForce["condition"]}
	has(t, "disable rule", e.admin.do("PUT", "/alert-rules/"+rule.ID, disabled), http.StatusOK, `"enabled":false`)
	has(t, "missing rule", e.admin.do("GET", "/alert-rules/nope", nil), http.StatusNotFound, "")

	e.addAlert("rule-x", "alert-x")
	has(t, "threat level, one high alert", e.viewer.do("GET", "/threat-level", nil), http.StatusOK, `"level":"high"`)
	has(t, "list open alerts", e.viewer.do("GET", "/alerts?status=open&source=192.0.2.7", nil), http.StatusOK, `"id":"alert-x"`)
	has(t, "bad status", e.viewer.do("GET", "/alerts?status=gone", nil), http.StatusBadRequest, "")
	has(t, "bad source", e.viewer.do("GET", "/alerts?source=nope", nil), http.StatusBadRequest, "")
	has(t, "viewer acknowledges", e.viewer.do("POST", "/alerts/alert-x/ack", nil), http.StatusOK, `"acknowledged_by":"eve"`)
	has(t, "acknowledge twice", e.admin.do("POST", "/alerts/alert-x/ack", nil), http.StatusConflict, "is acknowledged")
	has(t, "close", e.admin.do("POST", "/alerts/alert-x/close", nil), http.StatusOK, `"status":"closed"`)
	has(t, "close twice", e.admin.do("POST", "/alerts/alert-x/close", nil), http.StatusConflict, "")
	has(t, "missing alert", e.admin.do("POST", "/alerts/nope/close", nil), http.StatusNotFound, "")
	has(t, "threat level after close", e.viewer.do("GET", "/threat-level", nil), http.StatusOK, `"level":"none"`)
	has(t, "closed alerts", e.viewer.do("GET", "/alerts?status=closed", nil), http.StatusOK, `"closed_by":"admin"`)

	// Every write is in the audit log, viewers' acknowledgements too.
	r = e.admin.do("GET", "/audit?limit=50", nil)
	for _, s := range []string{`"target":"alert/alert-x"`, `"detail":"status=200 to=acknowledged"`, `"actor":"eve"`, `"detail":"status=200 to=closed"`, `"target":"alert-rule/` + rule.ID} {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("audit log lacks %s:\n%s", s, r.body)
		}
	}
	has(t, "delete rule", e.admin.do("DELETE", "/alert-rules/"+rule.ID, nil), http.StatusNoContent, "")
	has(t, "delete rule twice", e.admin.do("DELETE", "/alert-rules/"+rule.ID, nil), http.StatusNotFound, "")
}
