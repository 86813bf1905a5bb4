package output

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/decnet/decnet/internal/event"
)

// Kinds of the SIEM-native HTTP outputs.
const (
	KindElasticsearch = "elasticsearch"
	KindSplunkHEC     = "splunk_hec"
)

// endpoint returns base with path when base names no path of its own.
func endpoint(base, path string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = path
	}
	return u.String(), nil
}

// NewSplunkHEC returns an output sending to a Splunk HTTP Event Collector:
// rawURL is the collector (https://splunk:8088, which posts to
// /services/collector/event, or a full endpoint URL), token its HEC token,
// index the Splunk index ("" for the token's default). Each event is one
// HEC event of sourcetype decnet:event whose "event" is the event
// document; Splunk answers {"code":0} for a delivered batch.
func NewSplunkHEC(name, rawURL, token, index string, opts WebhookOptions) (*Webhook, error) {
	if token == "" {
		return nil, errors.New("output: splunk_hec needs the HEC token")
	}
	u, err := endpoint(rawURL, "/services/collector/event")
	if err != nil {
		return nil, fmt.Errorf("output: splunk_hec URL: %w", err)
	}
	return newHTTPOutput(name, KindSplunkHEC, u, splunkHEC{token: token, index: index}, opts)
}

type splunkHEC struct{ token, index string }

func (splunkHEC) prepare(context.Context, *Webhook) error { return nil }

func (p splunkHEC) encode(events []event.Event, maxBody int) ([][]byte, error) {
	return splitBodies(events, maxBody, nil, []byte{'\n'}, nil, func(e *event.Event) ([]byte, error) {
		doc, err := event.JSONLine(e)
		if err != nil {
			return nil, err
		}
		h := map[string]any{"time": float64(e.Time.UnixMicro()) / 1e6, "host": e.Decky, "source": "decnet:" + e.Service,
			"sourcetype": "decnet:event", "event": json.RawMessage(bytes.TrimSuffix(doc, []byte{'\n'}))}
		if p.index != "" {
			h["index"] = p.index
		}
		return json.Marshal(h)
	})
}

func (p splunkHEC) request(req *http.Request, _ []byte) {
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "decnet-hec/1")
	req.Header.Set("Authorization", "Splunk "+p.token)
}

func (splunkHEC) accept(body []byte) error {
	var r struct {
		Code *int   `json:"code"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Code == nil {
		return fmt.Errorf("HEC answered %q, not a status", truncate(body, 200))
	}
	if *r.Code != 0 {
		return fmt.Errorf("HEC code %d: %s", *r.Code, r.Text)
	}
	return nil
}

// NewElasticsearch returns an output indexing into Elasticsearch or
// OpenSearch through the _bulk API: rawURL is the cluster
// (https://es:9200), apiKey an API key ("" for none), prefix the index
// prefix (default "decnet-events"; one index a day, prefix-YYYY.MM.DD).
// Documents follow ECS (ECSDocument) and are created with the event id as
// _id, so a redelivered event is a 409 the output counts as delivered:
// nothing is indexed twice. Before the first batch it installs an index
// template for prefix-*.
func NewElasticsearch(name, rawURL, apiKey, prefix string, opts WebhookOptions) (*Webhook, error) {
	if prefix == "" {
		prefix = "decnet-events"
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("output: elasticsearch URL: %w", err)
	}
	// The cluster may sit under a path (a proxy); /_bulk may be given.
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/_bulk")
	base := u.String()
	return newHTTPOutput(name, KindElasticsearch, base+"/_bulk", &esBulk{apiKey: apiKey, prefix: prefix,
		template: base + "/_index_template/" + prefix}, opts)
}

type esBulk struct {
	apiKey, prefix, template string

	mu        sync.Mutex
	installed bool
}

// prepare installs the index template once (again after a failure).
func (p *esBulk) prepare(ctx context.Context, o *Webhook) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.installed {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.template, bytes.NewReader(indexTemplate(p.prefix)))
	if err != nil {
		return err
	}
	p.auth(req)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("index template: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("index template: HTTP %d: %s", resp.StatusCode, truncate(body, 200))
	}
	p.installed = true
	return nil
}

func (p *esBulk) encode(events []event.Event, maxBody int) ([][]byte, error) {
	return splitBodies(events, maxBody, nil, nil, nil, func(e *event.Event) ([]byte, error) {
		action, err := json.Marshal(map[string]any{"create": map[string]string{
			"_index": p.prefix + "-" + e.Time.UTC().Format("2006.01.02"), "_id": e.ID}})
		if err != nil {
			return nil, err
		}
		doc, err := json.Marshal(ECSDocument(e))
		if err != nil {
			return nil, err
		}
		return append(append(append(action, '\n'), doc...), '\n'), nil
	})
}

func (p *esBulk) auth(req *http.Request) {
	if p.apiKey != "" {
		req.Header.Set("Authorization", "ApiKey "+p.apiKey)
	}
}

func (p *esBulk) request(req *http.Request, _ []byte) {
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("User-Agent", "decnet-bulk/1")
	p.auth(req)
}

// accept reads the bulk answer: every item created (201) or already there
// (409, a redelivery) is delivered; a 429 or 5xx item makes the batch
// worth another attempt (the items already created then answer 409);
// anything else fails it.
func (*esBulk) accept(body []byte) error {
	var r struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		// The answer is read up to 64 KiB: a long clean one is cut, but
		// says "errors":false in its first bytes.
		if bytes.Contains(truncate(body, 100), []byte(`"errors":false`)) {
			return nil
		}
		return retryable{fmt.Errorf("bulk answer unreadable: %w", err)}
	}
	if !r.Errors {
		return nil
	}
	var again, failed int
	var first string
	for _, it := range r.Items {
		for _, res := range it {
			switch {
			case res.Status == 200 || res.Status == 201 || res.Status == 409:
			case res.Status == 429 || res.Status >= 500:
				again++
			default:
				failed++
				if first == "" {
					first = strconv.Itoa(res.Status) + " " + string(truncate(res.Error, 200))
				}
			}
		}
	}
	switch {
	case failed > 0:
		return fmt.Errorf("bulk: %d items refused, first: %s", failed, first)
	case again > 0:
		return retryable{fmt.Errorf("bulk: %d items to retry (429/5xx)", again)}
	}
	return nil
}

// indexTemplate maps the ECS fields ECSDocument writes; decnet.fields is
// one flattened field, so attacker-chosen keys never grow the mapping.
func indexTemplate(prefix string) []byte {
	kw := map[string]any{"type": "keyword"}
	ip := map[string]any{"type": "ip"}
	long := map[string]any{"type": "long"}
	obj := func(props map[string]any) map[string]any { return map[string]any{"properties": props} }
	t := map[string]any{
		"index_patterns": []string{prefix + "-*"},
		"priority":       200,
		"template": map[string]any{
			"settings": map[string]any{"index": map[string]any{"mapping": map[string]any{"total_fields": map[string]any{"limit": 2000}}}},
			"mappings": map[string]any{
				"dynamic": "false",
				"properties": map[string]any{
					"@timestamp":  map[string]any{"type": "date_nanos"},
					"ecs":         obj(map[string]any{"version": kw}),
					"event":       obj(map[string]any{"id": kw, "kind": kw, "category": kw, "type": kw, "action": kw, "outcome": kw, "severity": long, "module": kw, "dataset": kw}),
					"host":        obj(map[string]any{"name": kw}),
					"service":     obj(map[string]any{"name": kw}),
					"observer":    obj(map[string]any{"hostname": kw, "type": kw, "vendor": kw, "product": kw}),
					"source":      obj(map[string]any{"ip": ip, "port": long}),
					"destination": obj(map[string]any{"ip": ip, "port": long}),
					"network":     obj(map[string]any{"transport": kw}),
					"user":        obj(map[string]any{"name": kw}),
					"decnet": obj(map[string]any{"schema": long, "topology_id": kw, "session_id": kw, "seq": long,
						"fields": map[string]any{"type": "flattened"}, "truncated": kw,
						"credential": map[string]any{"type": "object", "dynamic": "true"}}),
				},
			},
		},
		"_meta": map[string]any{"description": "DECNET events in ECS " + ECSVersion},
	}
	b, _ := json.Marshal(t)
	return b
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
