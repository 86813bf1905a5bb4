package master_test

import (
	"net/http"
	"testing"
)

// TestCanaryRoutesRefusals: tokens need their listener, a memo and a
// known kind; viewers make none. The made tokens are covered end to end
// (TestCanaryTokensEndToEnd).
func TestCanaryRoutesRefusals(t *testing.T) {
	e := newRoutesEnv(t)
	has(t, "no token yet", e.viewer.do("GET", "/canary-tokens", nil), http.StatusOK, `"items":[]`)
	has(t, "viewer makes a token", e.viewer.do("POST", "/canary-tokens", map[string]any{"kind": "http", "memo": "m"}), http.StatusForbidden, "")
	for _, tc := range []struct {
		body map[string]any
		text string
	}{
		{map[string]any{"kind": "http", "memo": "wiki"}, "canary HTTP listener"},
		{map[string]any{"kind": "dns", "memo": "wiki"}, "canary DNS listener"},
		{map[string]any{"kind": "xls", "memo": "wiki"}, "kind must be one of"},
		{map[string]any{"kind": "http", "memo": " "}, "memo"},
		{map[string]any{"kind": "http", "memo": "wiki", "severity": 7}, "severity"},
	} {
		has(t, "refused token", e.admin.do("POST", "/canary-tokens", tc.body), http.StatusBadRequest, tc.text)
	}
	has(t, "missing token", e.viewer.do("GET", "/canary-tokens/nope", nil), http.StatusNotFound, "")
	has(t, "missing document", e.viewer.do("GET", "/canary-tokens/nope/document", nil), http.StatusNotFound, "")
}
