package elasticsearch

import (
	"testing"
)

func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{`{"query":{"match_all":{}}}`, `{"query":{"match":{"level":{"query":"error"}}},"size":5,"from":1}`,
		`{"query":{"query_string":{"query":"*"}}}`, `[1,2]`, `{"size":"x"`} {
		f.Add("q=level:error&size=2", []byte(s))
	}
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		q, _ := parseSearch(map[string][]string{"q": {query}}, body)
		if q.size < 0 || q.size > 10000 || q.from < 0 || q.from > 10000 {
			t.Fatalf("unbounded %+v", q)
		}
	})
}

func FuzzClassify(f *testing.F) {
	f.Add("/_plugin/head/../../etc/passwd", "", `{}`)
	f.Add("/_search", "source=x", `{"script_fields":{"a":{"script":"Runtime.getRuntime().exec(\"id\")"}}}`)
	f.Add("/_snapshot/x/%252e%252e%252f", "", "")
	f.Fuzz(func(t *testing.T, path, query, body string) {
		_, _, _ = classify(path, query, body)
		_ = wildcard(path, query)
	})
}
