package output

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/testenv"
)

// hecReceiver is a Splunk HTTP Event Collector as far as DECNET uses it:
// it checks the method, the path, the token and every event's envelope,
// and records event ids.
type hecReceiver struct {
	t    *testing.T
	got  *idSet
	bad  atomic.Int32
	reqs atomic.Int32
}

func (h *hecReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.reqs.Add(1)
	fail := func(code int, text string, hec int) {
		h.bad.Add(1)
		h.t.Errorf("HEC request refused: %s", text)
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"text": text, "code": hec})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/services/collector/event" {
		fail(http.StatusNotFound, "bad method or path "+r.Method+" "+r.URL.Path, 404)
		return
	}
	if r.Header.Get("Authorization") != "Splunk 11111111-2222-3333-4444-555555555555" {
		fail(http.StatusUnauthorized, "Invalid token", 4)
		return
	}
	dec := json.NewDecoder(r.Body)
	var ids []string
	for {
		var env struct {
			Time       float64         `json:"time"`
			Host       string          `json:"host"`
			Source     string          `json:"source"`
			Sourcetype string          `json:"sourcetype"`
			Index      string          `json:"index"`
			Event      json.RawMessage `json:"event"`
		}
		if err := dec.Decode(&env); err == io.EOF {
			break
		} else if err != nil {
			fail(http.StatusBadRequest, "Invalid data format: "+err.Error(), 6)
			return
		}
		var e event.Event
		if err := json.Unmarshal(env.Event, &e); err != nil || e.ID == "" || env.Sourcetype != "decnet:event" ||
			env.Index != "deception" || env.Time == 0 || env.Host != e.Decky || env.Source != "decnet:"+e.Service {
			fail(http.StatusBadRequest, "Invalid data format: envelope", 6)
			return
		}
		ids = append(ids, e.ID)
	}
	for _, id := range ids {
		h.got.add(id)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"text":"Success","code":0}`))
}

// esReceiver is the part of Elasticsearch's API the output uses: index
// templates, and _bulk with create semantics (a second create of an _id is
// a 409), over an in-memory index.
type esReceiver struct {
	t         *testing.T
	mu        sync.Mutex
	docs      map[string]map[string]any // _id → ECS document
	conflicts int
	templates map[string][]byte
}

func newESReceiver(t *testing.T) *esReceiver {
	return &esReceiver{t: t, docs: map[string]map[string]any{}, templates: map[string][]byte{}}
}

func (s *esReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/_index_template/"):
		if !json.Valid(body) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.templates[strings.TrimPrefix(r.URL.Path, "/_index_template/")] = body
		w.Write([]byte(`{"acknowledged":true}`))
	case r.Method == http.MethodPost && r.URL.Path == "/_bulk":
		if r.Header.Get("Content-Type") != "application/x-ndjson" || len(s.templates) == 0 {
			s.t.Errorf("bulk before the template or without x-ndjson")
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var items []map[string]any
		errors := false
		for sc.Scan() {
			var action struct {
				Create struct {
					Index string `json:"_index"`
					ID    string `json:"_id"`
				} `json:"create"`
			}
			if err := json.Unmarshal(sc.Bytes(), &action); err != nil || action.Create.ID == "" || !sc.Scan() {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			var doc map[string]any
			if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			status := 201
			if _, dup := s.docs[action.Create.ID]; dup {
				status, errors = 409, true
				s.conflicts++
			} else {
				s.docs[action.Create.ID] = doc
			}
			items = append(items, map[string]any{"create": map[string]any{"_index": action.Create.Index, "_id": action.Create.ID, "status": status}})
		}
		json.NewEncoder(w).Encode(map[string]any{"took": 3, "errors": errors, "items": items})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (s *esReceiver) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.docs)
}

// burst publishes 10,000 events, runs the output built by newOut over
// them, and on the way restarts the receiver (an HTTP server down for a
// second on the same address) and the output (a new one on the same
// durable consumer, as a master restart does); it returns when received
// reports them all.
func burst(t *testing.T, handler http.Handler, newOut func(url string) Output, received func() int) []string {
	t.Helper()
	// A receiver that takes its time, so the restarts fall mid-burst.
	slow := handler
	handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		slow.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serve := func(ln net.Listener) *httptest.Server {
		srv := httptest.NewUnstartedServer(handler)
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		return srv
	}
	srv := serve(ln)
	defer func() { srv.Close() }()
	outage := func(down bool) {
		if down {
			srv.Close()
			return
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		srv = serve(ln)
	}
	return burstThrough(t, func() Output { return newOut("http://" + addr) }, outage, received)
}

// burstThrough is burst for any receiver: outage(true) takes it down,
// outage(false) brings it back.
func burstThrough(t *testing.T, newOut func() Output, outage func(down bool), received func() int) []string {
	t.Helper()
	js := startBus(t)
	events := makeEvents(10000)
	publish(t, js, events)
	run := func() (context.CancelFunc, chan error, Output) {
		o := newOut()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Run(ctx, js, o, testenv.Logger(t, slog.LevelError), fastRetry...) }()
		return cancel, done, o
	}
	cancel, done, o := run()
	testenv.Eventually(t, 60*time.Second, "a third delivered", func() bool { return received() >= 3000 })
	outage(true) // the receiver restarts
	if n := received(); n >= len(events) {
		t.Fatalf("all %d delivered before the receiver restarted: the test restarts nothing", n)
	}
	time.Sleep(time.Second)
	outage(false)
	testenv.Eventually(t, 60*time.Second, "two thirds delivered", func() bool { return received() >= 6000 })
	cancel() // the master restarts
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := received(); n >= len(events) {
		t.Fatalf("all %d delivered before the output restarted", n)
	}
	t.Logf("%d delivered when the output restarted", received())
	o.Close()
	cancel, done, o = run()
	defer func() {
		cancel()
		<-done
		o.Close()
	}()
	testenv.Eventually(t, 90*time.Second, "all 10,000 delivered", func() bool { return received() >= len(events) })
	cons, err := js.Consumer(context.Background(), bus.StreamName, DurablePrefix+o.Name())
	if err != nil {
		t.Fatal(err)
	}
	waitAckFloor(t, cons, uint64(len(events)))
	return ids(events)
}

func TestSplunkHECBurstAcrossRestarts(t *testing.T) {
	h := &hecReceiver{t: t, got: newIDSet()}
	want := burst(t, h, func(url string) Output {
		o, err := NewSplunkHEC("splunk", url, "11111111-2222-3333-4444-555555555555", "deception", fastHook(1000))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}, h.got.len)
	if n := h.got.missing(want); n != 0 {
		t.Fatalf("%d events lost", n)
	}
	dups := 0
	h.got.mu.Lock()
	for _, n := range h.got.seen {
		dups += n - 1
	}
	h.got.mu.Unlock()
	// HEC cannot refuse a duplicate, so none may be sent: the restarts
	// are graceful (a crash can still resend the batch in flight; each
	// event carries its id).
	if dups != 0 {
		t.Fatalf("%d events received twice", dups)
	}
	t.Logf("HEC: 10000 events in %d requests, none lost, none twice", h.reqs.Load())
}

func TestElasticsearchBurstAcrossRestarts(t *testing.T) {
	es := newESReceiver(t)
	want := burst(t, es, func(url string) Output {
		o, err := NewElasticsearch("elastic", url, "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==", "", fastHook(1000))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}, es.count)
	es.mu.Lock()
	defer es.mu.Unlock()
	if len(es.docs) != len(want) {
		t.Fatalf("%d documents indexed, want %d", len(es.docs), len(want))
	}
	for _, id := range want {
		doc := es.docs[id]
		if doc == nil {
			t.Fatalf("event %s not indexed", id)
		}
	}
	if _, ok := es.templates["decnet-events"]; !ok {
		t.Fatalf("no index template installed: %v", es.templates)
	}
	doc := es.docs[want[0]]
	ev, _ := doc["event"].(map[string]any)
	src, _ := doc["source"].(map[string]any)
	if doc["@timestamp"] == nil || ev["id"] != want[0] || ev["action"] != "ssh.login.failed" || src["ip"] != "192.0.2.7" ||
		doc["user"] == nil {
		t.Fatalf("not an ECS document: %v", doc)
	}
	t.Logf("Elasticsearch: 10000 documents, none twice; %d redelivered creates answered 409", es.conflicts)
}

// A bulk answer with item failures: 429 items retry the batch, mapping
// errors fail it.
func TestElasticsearchBulkAnswers(t *testing.T) {
	p := &esBulk{}
	for _, c := range []struct {
		body  string
		retry bool
		ok    bool
	}{
		{`{"took":1,"errors":false,"items":[]}`, false, true},
		{`{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409}}]}`, false, true},
		{`{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":429}}]}`, true, false},
		{`{"errors":true,"items":[{"create":{"status":400,"error":{"type":"mapper_parsing_exception"}}}]}`, false, false},
		{`{"took":1,"errors":false,"items":[{"create":` + strings.Repeat(" ", 70000), false, true}, // cut at 64 KiB
		{`<html>proxy error</html>`, true, false},
	} {
		err := p.accept([]byte(c.body))
		var r retryable
		if (err == nil) != c.ok || (err != nil && (errorsAs(err, &r) != c.retry)) {
			t.Errorf("%.60s: %v (retryable %v)", c.body, err, errorsAs(err, &r))
		}
	}
}

func errorsAs(err error, r *retryable) bool {
	if err == nil {
		return false
	}
	_, ok := err.(retryable)
	return ok
}
