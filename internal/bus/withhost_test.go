package bus

import (
	"encoding/json"
	"testing"
)

// FuzzWithHost: whatever object a spool line holds, the published document
// is valid JSON whose host is the publisher's.
func FuzzWithHost(f *testing.F) {
	for _, s := range []string{`{"id":"a"}`, `{}`, ` { "host" : "x" } `, `{"HOST":"x","id":"b"}`, `{"a":{"host":"y"}}`, `[1]`, `{`, `"x"`, `{"ho\u0073t":"z"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var obj map[string]any
		if json.Unmarshal(doc, &obj) != nil || obj == nil {
			return // the shipper sends only JSON objects
		}
		out, err := withHost(doc, "h1")
		if err != nil {
			t.Fatalf("withHost(%q): %v", doc, err)
		}
		var e struct {
			Host string `json:"host"`
		}
		if err := json.Unmarshal(out, &e); err != nil || e.Host != "h1" {
			t.Fatalf("withHost(%q) = %q: host %q, err %v", doc, out, e.Host, err)
		}
	})
}
