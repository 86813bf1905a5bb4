package elasticsearch_test

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/elasticsearch"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func curl(t *testing.T, args ...string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "curl")
	out, err := exec.Command(bin, append([]string{"-s", "-S", "--max-time", "10"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestRootBanner(t *testing.T) {
	for _, tc := range []struct{ version, lucene, ctype string }{
		{"", "8.7.0", "application/json; charset=UTF-8"},
		{"7.17.6", "8.11.1", "application/json; charset=UTF-8"},
		{"8.15.0", "9.11.1", "application/json"},
	} {
		t.Run("v"+tc.version, func(t *testing.T) {
			t.Parallel()
			r := servicetest.Start(t, "elasticsearch", 9200, servicetest.Options{Hostname: "search-prod-02",
				Config: map[string]any{"version": tc.version, "cluster_name": "prod-logs"}})
			base := "http://" + r.HostPort(9200)
			out := curl(t, "-i", base+"/")
			head, body, _ := strings.Cut(out, "\r\n\r\n")
			if !strings.Contains(head, "content-type: "+tc.ctype+"\r\n") {
				t.Errorf("headers:\n%s", head)
			}
			product := strings.Contains(head, "X-elastic-product: Elasticsearch\r\n")
			if product != (tc.version != "") {
				t.Errorf("X-elastic-product presence = %v:\n%s", product, head)
			}
			if strings.Contains(strings.ToLower(head), "server:") || strings.Contains(head, "Date:") {
				t.Errorf("Netty sends no Server or Date:\n%s", head)
			}
			var doc struct {
				Name    string `json:"name"`
				Cluster string `json:"cluster_name"`
				UUID    string `json:"cluster_uuid"`
				Version struct {
					LuceneV string `json:"lucene_version"`
				}
				Tagline string
			}
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if doc.Name != "search-prod-02" || doc.Cluster != "prod-logs" || len(doc.UUID) != 22 || doc.Version.LuceneV != tc.lucene || doc.Tagline != "You Know, for Search" {
				t.Errorf("banner %+v\n%s", doc, body)
			}
			if !strings.HasPrefix(body, "{\n  \"name\" : \"search-prod-02\",\n") {
				t.Errorf("root is not pretty-printed as Jackson does:\n%s", body)
			}
		})
	}
}

func TestAPIs(t *testing.T) {
	r := servicetest.Start(t, "elasticsearch", 9200, servicetest.Options{Config: map[string]any{"version": "7.17.6", "cluster_name": "elasticsearch"}})
	base := "http://" + r.HostPort(9200)

	cat := curl(t, base+"/_cat/indices?v")
	lines := strings.Split(strings.TrimSpace(cat), "\n")
	if len(lines) != 4 || !regexp.MustCompile(`^health status index +uuid +pri rep docs.count docs.deleted store.size pri.store.size$`).MatchString(lines[0]) {
		t.Errorf("_cat/indices?v:\n%s", cat)
	}
	if !strings.Contains(cat, "yellow open   customers") {
		t.Errorf("_cat/indices lacks customers:\n%s", cat)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(curl(t, base+"/_cat/indices?format=json")), &rows); err != nil || len(rows) != 3 || rows[0]["health"] != "yellow" {
		t.Errorf("_cat/indices?format=json: %v %v", err, rows)
	}
	if h := curl(t, base+"/_cat/health"); !strings.Contains(h, " elasticsearch yellow 1 1 3 3 0 0 3 0 - 50.0%") {
		t.Errorf("_cat/health: %q", h)
	}
	if n := curl(t, base+"/_cat/nodes"); !strings.Contains(n, r.Addr.String()+" ") || !strings.Contains(n, "cdfhilmrstw *") {
		t.Errorf("_cat/nodes: %q", n)
	}
	if h := curl(t, base+"/_cluster/health"); !strings.Contains(h, `"status":"yellow"`) || !strings.Contains(h, `"active_shards_percent_as_number":50.0`) {
		t.Errorf("_cluster/health: %s", h)
	}
	if n := curl(t, base+"/_nodes"); !strings.Contains(n, `"path":{"logs":"/var/log/elasticsearch","home":"/usr/share/elasticsearch"`) {
		t.Errorf("_nodes: %s", n)
	}

	var sr struct {
		Hits struct {
			Total struct{ Value int }
			Hits  []struct {
				Index  string         `json:"_index"`
				Type   string         `json:"_type"`
				Source map[string]any `json:"_source"`
			}
		}
	}
	if err := json.Unmarshal([]byte(curl(t, base+"/customers/_search?size=3&from=2")), &sr); err != nil || sr.Hits.Total.Value != 60 || len(sr.Hits.Hits) != 3 || sr.Hits.Hits[0].Type != "_doc" || sr.Hits.Hits[0].Source["email"] == nil {
		t.Errorf("customers/_search: %v %+v", err, sr)
	}
	out := curl(t, "-H", "Content-Type: application/json", "-d", `{"query":{"match":{"level":"error"}},"size":5}`, base+"/logs-*/_search")
	if !strings.Contains(out, `"level":"ERROR"`) || strings.Contains(out, `"level":"INFO"`) {
		t.Errorf("match query: %s", out)
	}

	nf := curl(t, "-i", base+"/nosuch/_search")
	if !strings.HasPrefix(nf, "HTTP/1.1 404 Not Found\r\n") || !strings.Contains(nf, `{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [nosuch]","resource.type":"index_or_alias","resource.id":"nosuch","index_uuid":"_na_","index":"nosuch"}],"type":"index_not_found_exception","reason":"no such index [nosuch]","resource.type":"index_or_alias","resource.id":"nosuch","index_uuid":"_na_","index":"nosuch"},"status":404}`) {
		t.Errorf("index_not_found:\n%s", nf)
	}

	// A write, read back, then the ransom wipe.
	put := curl(t, "-i", "-X", "PUT", "-H", "Content-Type: application/json", "-d", `{"note":"send 0.1 BTC"}`, base+"/read_me/_doc/1")
	if !strings.HasPrefix(put, "HTTP/1.1 201 Created\r\nLocation: /read_me/_doc/1\r\n") || !strings.Contains(put, `"result":"created"`) {
		t.Errorf("PUT doc:\n%s", put)
	}
	if g := curl(t, base+"/read_me/_doc/1"); !strings.Contains(g, `"found":true,"_source":{"note":"send 0.1 BTC"}`) {
		t.Errorf("GET doc: %s", g)
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("elasticsearch.document.write"))
	if !ok || e.Fields["sha256"] == nil || e.Fields["index"] != "read_me" {
		t.Errorf("document.write event: %v %+v", ok, e.Fields)
	}
	if d := curl(t, "-X", "DELETE", base+"/customers"); d != `{"acknowledged":true}` {
		t.Errorf("DELETE index: %s", d)
	}
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("elasticsearch.index.delete")); !ok {
		t.Error("no index.delete event")
	}
	if nf := curl(t, base+"/customers/_doc/1"); !strings.Contains(nf, "index_not_found_exception") {
		t.Errorf("deleted index still there: %s", nf)
	}

	// Exploits.
	curl(t, "-H", "Content-Type: application/json", "-d", `{"size":1,"script_fields":{"x":{"script":"java.lang.Math.class.forName(\"java.lang.Runtime\").getRuntime().exec(\"id\")"}}}`, base+"/_search")
	e, ok = r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "elasticsearch.exploit.attempt" && e.Fields["vulnerability_id"] == "CVE-2015-1427"
	})
	if !ok || e.Fields["rule"] != "script_injection" || e.Fields["sha256"] == nil {
		t.Errorf("groovy exploit: %v %+v", ok, e.Fields)
	}
	curl(t, "--path-as-is", base+"/_plugin/head/../../../../../../etc/passwd")
	if _, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "elasticsearch.exploit.attempt" && e.Fields["vulnerability_id"] == "CVE-2015-3337"
	}); !ok {
		t.Error("no CVE-2015-3337 event")
	}
	if _, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "elasticsearch.request.received" && e.Fields["action"] == "search" && e.Fields["sha256"] != nil
	}); !ok {
		t.Error("no request.received with a body hash")
	}
	if nh := curl(t, base+"/_nothing/here"); nh != `{"error":"no handler found for uri [/_nothing/here] and method [GET]","status":400}` {
		t.Errorf("no handler: %s", nh)
	}
}

func TestNmap(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	nmap := testenv.RequireTool(t, "nmap")
	for _, tc := range []struct{ version, want string }{
		// nmap 7.93's signatures expect content-type right after the
		// status line: they name the releases before the 7.14 product
		// header exactly, and the later ones (like the real product) with no name (a port guess).
		{"", "Elasticsearch REST API 7.10.2 (name: es-node-7; cluster: elasticsearch; Lucene 8.7.0)"},
		{"7.17.6", "9200/tcp open"},
		{"8.15.0", "9200/tcp open"},
	} {
		t.Run("v"+tc.version, func(t *testing.T) {
			if tc.version != "" && testing.Short() {
				t.Skip("an unnamed service makes nmap run every probe (about 100 s)")
			}
			t.Parallel()
			r := servicetest.Start(t, "elasticsearch", 9200, servicetest.Options{Hostname: "es-node-7", Config: map[string]any{"version": tc.version, "cluster_name": "elasticsearch"}})
			out, err := exec.Command(nmap, "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", r.Port(9200), r.Addr.String()).CombinedOutput()
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			t.Logf("nmap:\n%s", out)
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("nmap does not say %q:\n%s", tc.want, out)
			}
			if strings.Contains(strings.ToLower(string(out)), "honeypot") {
				t.Error("nmap says honeypot")
			}
		})
	}
}
