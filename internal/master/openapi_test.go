package master_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestResponsesMatchOpenAPI walks every operation of the OpenAPI document
// as an admin, over a master holding a host, a topology and an output,
// and validates each answer against the document: a 2xx body against the
// operation's response schema, anything else against the Error schema.
// Every JSON operation must declare its response type.
func TestResponsesMatchOpenAPI(t *testing.T) {
	e := newRoutesEnv(t)
	e.addHost("sensor-1")
	e.create(map[string]any{"spec": specDoc("lab", "sensor-1", "")})
	e.addAlert("rule-1", "alert-1")
	r := e.admin.do("GET", "/openapi.json", nil)
	want(t, "openapi", r, http.StatusOK, "")
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v", doc["openapi"])
	}
	c := jsonschema.NewCompiler()
	raw, _ := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err := c.AddResource("mem://api/openapi.json", raw); err != nil {
		t.Fatal(err)
	}
	compile := func(ptr string) *jsonschema.Schema {
		t.Helper()
		s, err := c.Compile("mem://api/openapi.json#" + ptr)
		if err != nil {
			t.Fatalf("compile %s: %v", ptr, err)
		}
		return s
	}
	errSchema := compile("/components/schemas/Error")
	esc := strings.NewReplacer("~", "~0", "/", "~1")

	paths := doc["paths"].(map[string]any)
	type op struct{ path, method string }
	var ops []op
	for p, ms := range paths {
		for m := range ms.(map[string]any) {
			ops = append(ops, op{p, strings.ToUpper(m)})
		}
	}
	// Reads first, then writes, deletes last, so each sees the state.
	rank := map[string]int{"GET": 0, "POST": 1, "PUT": 1, "DELETE": 2}
	sort.Slice(ops, func(i, j int) bool {
		if rank[ops[i].method] != rank[ops[j].method] {
			return rank[ops[i].method] < rank[ops[j].method]
		}
		return ops[i].path+ops[i].method < ops[j].path+ops[j].method
	})
	fill := strings.NewReplacer("/topologies/{id}", "/topologies/lab", "/hosts/{id}", "/hosts/sensor-1", "{name}", "siem",
		"{ip}", "192.0.2.7", "{sha}", strings.Repeat("ab", 32), "/users/{id}", "/users/999", "/tokens/{id}", "/tokens/999",
		"/alert-rules/{id}", "/alert-rules/rule-1", "/alerts/{id}", "/alerts/alert-1")
	bodies := map[string]any{
		"POST /outputs":             map[string]any{"name": "siem", "kind": "file", "path": "siem.jsonl"},
		"PUT /outputs/{name}":       map[string]any{"kind": "file", "path": "siem2.jsonl"},
		"POST /topologies":          map[string]any{"spec": specDoc("lab2", "sensor-1", "")},
		"POST /topologies/validate": map[string]any{"spec": specDoc("lab3", "sensor-1", "")},
		"POST /hosts/join-token":    map[string]any{"name": "sensor-9"},
		"POST /tokens":              map[string]any{"name": "ci"},
		"POST /alert-rules":         sshBruteForce,
		"PUT /alert-rules/{id}":     map[string]any{"name": "renamed", "severity": 2, "match": map[string]any{"deckies": []string{"db-01"}}, "condition": map[string]any{"kind": "first_touch"}},
	}
	ok, failed := 0, 0
	for _, o := range ops {
		opDoc := paths[o.path].(map[string]any)[strings.ToLower(o.method)].(map[string]any)
		resp := opDoc["responses"].(map[string]any)["2XX"].(map[string]any)
		content, _ := resp["content"].(map[string]any)
		_, isJSON := content["application/json"]
		if content == nil && o.method != "DELETE" && o.path != "/auth/logout" && o.path != "/events/stream" {
			t.Errorf("%s %s declares no response", o.method, o.path)
		}
		if o.path == "/events/stream" || o.path == "/auth/logout" {
			continue // a stream that does not end; logging out ends the walk's session
		}
		var body any
		if b, ok := bodies[o.method+" "+o.path]; ok {
			body = b
		} else if o.method == "POST" || o.method == "PUT" {
			body = map[string]any{}
		}
		got := e.admin.do(o.method, fill.Replace(o.path), body)
		var v any
		if len(got.body) > 0 {
			if got.code/100 == 2 && !isJSON {
				continue
			}
			if err := json.Unmarshal(got.body, &v); err != nil {
				t.Errorf("%s %s: %d, not JSON: %.200s", o.method, o.path, got.code, got.body)
				continue
			}
		}
		schema, what := errSchema, "Error"
		if got.code/100 == 2 {
			if got.code == http.StatusNoContent {
				continue
			}
			schema, what = compile("/paths/"+esc.Replace(o.path)+"/"+strings.ToLower(o.method)+"/responses/2XX/content/application~1json/schema"), "its response"
			ok++
		} else {
			failed++
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s %s: %d does not match %s: %v\n%.400s", o.method, o.path, got.code, what, err, got.body)
		}
	}
	t.Logf("%d operations: %d 2xx answers and %d errors validated against the document", len(ops), ok, failed)
}
