package output

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/testenv"
)

var testSecret = []byte("0123456789abcdef-secret")

// hookReceiver is a webhook endpoint that verifies the timestamp and the
// signature, and answers 503 while down or for its first failFirst
// requests.
type hookReceiver struct {
	t         *testing.T
	secret    []byte
	got       *idSet
	failFirst atomic.Int64
	down      atomic.Bool
	requests  atomic.Int64
	accepted  atomic.Int64
	bad       atomic.Int64 // requests refused for their signature
	mu        sync.Mutex
	types     []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	ts := r.Header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		h.t.Errorf("webhook receiver: bad timestamp %q", ts)
		http.Error(w, "timestamp", http.StatusBadRequest)
		return
	}
	if !hmac.Equal([]byte(r.Header.Get(HeaderSignature)), []byte(Signature(h.secret, ts, body))) {
		h.bad.Add(1)
		http.Error(w, "signature", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		h.t.Errorf("webhook receiver: %s with content type %q", r.Method, r.Header.Get("Content-Type"))
	}
	if h.down.Load() || h.failFirst.Add(-1) >= 0 {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	var events []event.Event
	if err := json.Unmarshal(body, &events); err != nil || len(events) == 0 {
		h.t.Errorf("webhook receiver: body is not a JSON array of events: %v", err)
		http.Error(w, "body", http.StatusBadRequest)
		return
	}
	for _, e := range events {
		h.got.add(e.ID)
		h.mu.Lock()
		h.types = append(h.types, e.Type)
		h.mu.Unlock()
	}
	h.accepted.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func newHookReceiver(t *testing.T) (*hookReceiver, *httptest.Server) {
	t.Helper()
	h := &hookReceiver{t: t, secret: testSecret, got: newIDSet()}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

// fastHook are webhook options for tests: quick retries.
func fastHook(maxFailures int) WebhookOptions {
	return WebhookOptions{MaxFailures: maxFailures, Timeout: 5 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		AllowPrivate: true} // the receivers of these tests listen on loopback
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	t.Parallel()
	h, srv := newHookReceiver(t)
	h.failFirst.Store(2) // two 503s, then success within the same Deliver
	o, err := NewWebhook("soc", srv.URL+"/hook", testSecret, fastHook(0))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	events := makeEvents(50)
	if err := o.Deliver(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if n := h.got.missing(ids(events)); n != 0 {
		t.Fatalf("%d events missing", n)
	}
	if got := h.requests.Load(); got != 3 {
		t.Fatalf("%d requests, want 3", got)
	}
	if st := o.Status(); st.ConsecutiveFailures != 0 || st.Delivered != 50 || st.Disabled {
		t.Fatalf("status %+v", st)
	}
}

func TestWebhookFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("wrong secret is not retried", func(t *testing.T) {
		t.Parallel()
		h, srv := newHookReceiver(t)
		o, err := NewWebhook("soc", srv.URL, []byte("another-secret-of-16"), fastHook(0))
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		err = o.Deliver(ctx, makeEvents(3))
		var se *StatusError
		if !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
			t.Fatalf("err = %v, want HTTP 401", err)
		}
		if h.requests.Load() != 1 || h.bad.Load() != 1 {
			t.Fatalf("%d requests, %d refused; want 1 and 1", h.requests.Load(), h.bad.Load())
		}
	})
	t.Run("bounded retries", func(t *testing.T) {
		t.Parallel()
		h, srv := newHookReceiver(t)
		h.down.Store(true)
		opts := fastHook(0)
		opts.Attempts = 3
		o, err := NewWebhook("soc", srv.URL, testSecret, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if err := o.Deliver(ctx, makeEvents(3)); err == nil {
			t.Fatal("delivered to a receiver that is down")
		}
		if h.requests.Load() != 3 {
			t.Fatalf("%d requests, want 3", h.requests.Load())
		}
	})
	t.Run("no redirect to another host", func(t *testing.T) {
		t.Parallel()
		h, other := newHookReceiver(t)
		redirect := httptest.NewServer(http.RedirectHandler(other.URL+"/hook", http.StatusTemporaryRedirect))
		defer redirect.Close()
		o, err := NewWebhook("soc", redirect.URL, testSecret, fastHook(0))
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		var se *StatusError
		if err := o.Deliver(ctx, makeEvents(1)); !errors.As(err, &se) || se.Code != http.StatusTemporaryRedirect {
			t.Fatalf("err = %v, want the refused 307", err)
		}
		if h.requests.Load() != 0 {
			t.Fatal("the redirect to another host was followed")
		}
	})
	t.Run("redirect on the same host", func(t *testing.T) {
		t.Parallel()
		h := &hookReceiver{t: t, secret: testSecret, got: newIDSet()}
		mux := http.NewServeMux()
		mux.Handle("/old", http.RedirectHandler("/new", http.StatusPermanentRedirect))
		mux.Handle("/new", h)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		o, err := NewWebhook("soc", srv.URL+"/old", testSecret, fastHook(0))
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		events := makeEvents(2)
		if err := o.Deliver(ctx, events); err != nil {
			t.Fatal(err)
		}
		if h.got.missing(ids(events)) != 0 {
			t.Fatal("events lost across the redirect")
		}
	})
	t.Run("large response body is not read whole", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 1<<20)
			for range 64 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
		defer srv.Close()
		o, err := NewWebhook("soc", srv.URL, testSecret, fastHook(0))
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if err := o.Deliver(ctx, makeEvents(1)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		opts := fastHook(0)
		opts.Timeout, opts.Attempts = 100*time.Millisecond, 2
		o, err := NewWebhook("soc", srv.URL, testSecret, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if err := o.Deliver(ctx, makeEvents(1)); err == nil {
			t.Fatal("a receiver that never answers was a delivery")
		}
	})
}

func TestWebhookSplitsLargeBatches(t *testing.T) {
	t.Parallel()
	h, srv := newHookReceiver(t)
	opts := fastHook(0)
	opts.MaxBody = 8 << 10
	o, err := NewWebhook("soc", srv.URL, testSecret, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	events := makeEvents(100)
	if err := o.Deliver(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if h.got.missing(ids(events)) != 0 || h.accepted.Load() < 2 {
		t.Fatalf("%d requests accepted, %d events missing", h.accepted.Load(), h.got.missing(ids(events)))
	}
}

func TestWebhookTest(t *testing.T) {
	t.Parallel()
	h, srv := newHookReceiver(t)
	o, err := NewWebhook("soc", srv.URL, testSecret, fastHook(0))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	o.Disable()
	if err := o.Deliver(context.Background(), makeEvents(1)); !errors.Is(err, ErrDisabled) {
		t.Fatalf("Deliver while disabled: %v", err)
	}
	if err := o.Test(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.types) != 1 || h.types[0] != TestEventType {
		t.Fatalf("received types %v", h.types)
	}
}

// TestWebhookDisablesAndResumes: a receiver failing permanently disables
// the webhook after MaxFailures deliveries; Run stops consuming and keeps
// the position; once re-enabled the whole backlog arrives.
func TestWebhookDisablesAndResumes(t *testing.T) {
	t.Parallel()
	js := startBus(t)
	h, srv := newHookReceiver(t)
	h.down.Store(true)
	opts := fastHook(3)
	opts.Attempts = 2
	o, err := NewWebhook("soc", srv.URL, testSecret, opts)
	if err != nil {
		t.Fatal(err)
	}
	events := makeEvents(300)
	publish(t, js, events)
	runOutput(t, js, o, fastRetry...)

	testenv.Eventually(t, 20*time.Second, "the webhook to disable itself", func() bool { return o.Status().Disabled })
	st := o.Status()
	if st.ConsecutiveFailures != 3 || st.LastError == "" || st.Delivered != 0 {
		t.Fatalf("status when disabled %+v", st)
	}
	// Paused: the requests stop (each failed delivery made 2) and the
	// position has not moved.
	if got := h.requests.Load(); got != 6 {
		t.Fatalf("%d requests before disabling, want 6", got)
	}
	ctx := context.Background()
	cons, err := js.Consumer(ctx, bus.StreamName, DurablePrefix+"soc")
	if err != nil {
		t.Fatal(err)
	}
	waitAckFloor(t, cons, 0)
	if got := h.requests.Load(); got != 6 {
		t.Fatalf("%d requests while disabled, want 6", got)
	}

	h.down.Store(false)
	o.Enable()
	testenv.Eventually(t, 30*time.Second, "the backlog after re-enabling", func() bool { return h.got.missing(ids(events)) == 0 })
	waitAckFloor(t, cons, uint64(len(events)))
	if st := o.Status(); st.Disabled || st.ConsecutiveFailures != 0 || st.Delivered < uint64(len(events)) {
		t.Fatalf("status after re-enabling %+v", st)
	}
}

// waitAckFloor waits until the consumer has acknowledged exactly the
// stream up to seq (and, for seq > 0, has nothing in flight).
func waitAckFloor(t *testing.T, cons jetstream.Consumer, seq uint64) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, "consumer ack floor "+strconv.FormatUint(seq, 10), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream > seq {
			t.Fatalf("consumer acknowledged up to %d, want %d", info.AckFloor.Stream, seq)
		}
		// Batches given back (negatively acknowledged) stay counted as
		// ack pending until they are fetched again.
		return info.AckFloor.Stream == seq && (seq == 0 || info.NumAckPending == 0)
	})
}
