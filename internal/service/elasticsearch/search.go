package elasticsearch

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/decnet/decnet/internal/service/httpapi"
)

// query is the part of a search request the decoy honours: match_all,
// match / match_phrase / term on one field (or any field), from and size.
type query struct {
	field, text string // empty text: match_all
	from, size  int
}

// parseSearch reads the URI parameters and the JSON body of a search. It
// returns an Elasticsearch-style error reason for a body it cannot read.
func parseSearch(params map[string][]string, body []byte) (query, string) {
	q := query{size: 10}
	get := func(k string) string {
		if v := params[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if v := get("q"); v != "" {
		if f, t, ok := strings.Cut(v, ":"); ok && !strings.ContainsAny(f, " ") {
			q.field, q.text = f, t
		} else {
			q.text = v
		}
		if q.text == "*" {
			q.field, q.text = "", ""
		}
	}
	if n, err := strconv.Atoi(get("size")); err == nil {
		q.size = n
	}
	if n, err := strconv.Atoi(get("from")); err == nil {
		q.from = n
	}
	if len(bytes.TrimSpace(body)) > 0 {
		v, err := httpapi.Parse(body)
		if err != nil {
			return q, "Unexpected character: failed to parse search source"
		}
		root, ok := v.(httpapi.Obj)
		if !ok {
			return q, "Expected [START_OBJECT] but found [" + tokenName(v) + "]"
		}
		if n, ok := intOf(root, "size"); ok {
			q.size = n
		}
		if n, ok := intOf(root, "from"); ok {
			q.from = n
		}
		if qv, ok := root.Get("query"); ok {
			qo, _ := qv.(httpapi.Obj)
			for _, kv := range qo {
				switch kv.K {
				case "match", "match_phrase", "term", "match_phrase_prefix", "prefix", "wildcard":
					fo, _ := kv.V.(httpapi.Obj)
					for _, f := range fo {
						q.field = f.K
						switch t := f.V.(type) {
						case httpapi.Obj:
							for _, k := range []string{"query", "value"} {
								if x, ok := t.Get(k); ok {
									q.text = scalar(x)
								}
							}
						default:
							q.text = scalar(t)
						}
						break
					}
				case "query_string", "simple_query_string":
					if fo, ok := kv.V.(httpapi.Obj); ok {
						if x, ok := fo.Get("query"); ok {
							q.text = scalar(x)
							if q.text == "*" {
								q.text = ""
							}
						}
					}
				case "multi_match":
					if fo, ok := kv.V.(httpapi.Obj); ok {
						if x, ok := fo.Get("query"); ok {
							q.text = scalar(x)
						}
					}
				}
			}
		}
	}
	q.size = max(0, min(q.size, 10000))
	q.from = max(0, min(q.from, 10000))
	return q, ""
}

func tokenName(v any) string {
	switch v.(type) {
	case []any:
		return "START_ARRAY"
	case string:
		return "VALUE_STRING"
	case json.Number:
		return "VALUE_NUMBER"
	case bool:
		return "VALUE_BOOLEAN"
	}
	return "VALUE_NULL"
}

func intOf(o httpapi.Obj, k string) (int, bool) {
	v, ok := o.Get(k)
	if !ok {
		return 0, false
	}
	switch t := v.(type) {
	case json.Number:
		n, err := strconv.Atoi(t.String())
		return n, err == nil
	case string:
		n, err := strconv.Atoi(t)
		return n, err == nil
	}
	return 0, false
}

func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// fieldText is the text of one field (or every field) of a document.
func fieldText(src httpapi.Obj, field string) string {
	var parts []string
	for _, kv := range src {
		name := kv.K
		if field == "" || name == field || name+".keyword" == field {
			parts = append(parts, scalar(kv.V))
		}
	}
	return strings.Join(parts, " ")
}

type hit struct {
	index, id string
	score     float64
	src       any
}

func (s *Server) search(rc *reqCtx, expr string, count bool) response {
	q, perr := parseSearch(rc.q, rc.req.Body)
	if perr != "" {
		return s.errorResp(rc, 400, "parsing_exception", perr)
	}
	s.mu.Lock()
	names, missing := s.resolve(expr)
	if missing != "" {
		s.mu.Unlock()
		return s.indexNotFound(rc, missing)
	}
	var hits []hit
	total := 0
	terms := tokens(q.text)
	for _, n := range names {
		ix := s.indices[n]
		if q.text == "" {
			total += ix.count()
		}
		// document frequency for a BM25-like score
		var matched []hit
		for _, id := range ix.order {
			d := ix.docs[id]
			v, err := httpapi.Parse(d.source)
			if err != nil {
				continue
			}
			o, _ := v.(httpapi.Obj)
			if q.text == "" {
				if len(hits) < q.from+q.size {
					hits = append(hits, hit{index: n, id: id, score: 1, src: v})
				}
				continue
			}
			ft := tokens(fieldText(o, q.field))
			tf := 0
			for _, t := range terms {
				for _, w := range ft {
					if w == t {
						tf++
					}
				}
			}
			if tf > 0 {
				matched = append(matched, hit{index: n, id: id, score: float64(tf) / float64(len(ft)+1), src: v})
			}
		}
		if q.text != "" {
			idf := math.Log(1 + (float64(len(ix.docs))-float64(len(matched))+0.5)/(float64(len(matched))+0.5))
			for i := range matched {
				tfn := matched[i].score * 4
				matched[i].score = float64(float32(idf * tfn * 2.2 / (tfn + 1.2)))
			}
			total += len(matched)
			hits = append(hits, matched...)
		}
	}
	shardsN := len(names)
	s.mu.Unlock()
	shards := httpapi.O("total", shardsN, "successful", shardsN, "skipped", 0, "failed", 0)
	if count {
		return s.json(rc, 200, httpapi.O("count", total, "_shards", shards))
	}
	if q.text != "" {
		sortHits(hits)
	}
	maxScore := any(nil)
	if len(hits) > 0 {
		m := 0.0
		for _, h := range hits {
			m = math.Max(m, h.score)
		}
		maxScore = httpapi.JFloat(m)
	}
	page := []any{}
	for i := q.from; i < len(hits) && i < q.from+q.size; i++ {
		h := hits[i]
		o := s.docHead(h.index, h.id)
		o = append(o, httpapi.KV{K: "_score", V: httpapi.JFloat(h.score)}, httpapi.KV{K: "_source", V: h.src})
		page = append(page, o)
	}
	var totalV any = httpapi.O("value", total, "relation", "eq")
	if s.build.major() < 7 {
		totalV = total
	}
	took := 1 + len(hits)/40
	return s.json(rc, 200, httpapi.O("took", took, "timed_out", false, "_shards", shards,
		"hits", httpapi.O("total", totalV, "max_score", maxScore, "hits", page)))
}

func sortHits(h []hit) {
	sort.SliceStable(h, func(i, j int) bool { return h[i].score > h[j].score })
}
