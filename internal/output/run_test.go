package output

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/testenv"
)

// TestRunIndependentPositions: 2,000 events in the stream; the file output
// gets all of them while the webhook's receiver is down, then the webhook
// catches up with all of them once it is back. Each output keeps its own
// position and nothing is lost.
func TestRunIndependentPositions(t *testing.T) {
	t.Parallel()
	js := startBus(t)
	events := makeEvents(2000)
	publish(t, js, events)
	want := ids(events)

	// The webhook receiver's address, with nothing listening yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	hook, err := NewWebhook("soc", "http://"+addr+"/hook", testSecret, WebhookOptions{MaxFailures: 1 << 20,
		Attempts: 2, Timeout: 5 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	file, err := New(Config{Name: "jsonl", Kind: KindFile, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	runOutput(t, js, hook, fastRetry...)
	runOutput(t, js, file, fastRetry...)

	lines := func() int {
		if _, err := os.Stat(path); err != nil {
			return 0
		}
		return len(readLines(t, path))
	}
	testenv.Eventually(t, 30*time.Second, "all events in the file", func() bool { return lines() >= len(want) })
	got := newIDSet()
	for _, id := range readLines(t, path) {
		got.add(id)
	}
	if n := got.missing(want); n != 0 {
		t.Fatalf("%d events missing from the file", n)
	}
	st := hook.Status()
	if st.Delivered != 0 || st.ConsecutiveFailures == 0 {
		t.Fatalf("webhook status while its receiver is down: %+v", st)
	}
	t.Logf("file complete; webhook has failed %d deliveries in a row", st.ConsecutiveFailures)

	// The receiver comes up on its address.
	h := &hookReceiver{t: t, secret: testSecret, got: newIDSet()}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	testenv.Eventually(t, 60*time.Second, "the webhook to catch up", func() bool { return h.got.missing(want) == 0 })

	ctx := context.Background()
	for _, name := range []string{"soc", "jsonl"} {
		cons, err := js.Consumer(ctx, bus.StreamName, DurablePrefix+name)
		if err != nil {
			t.Fatal(err)
		}
		waitAckFloor(t, cons, uint64(len(want)))
	}
	if st := hook.Status(); st.ConsecutiveFailures != 0 || st.Delivered < uint64(len(want)) {
		t.Fatalf("webhook status after catching up: %+v", st)
	}
}
