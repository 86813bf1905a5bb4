package bus

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/testenv"
)

// startServer starts an embedded server on dir, shut down at cleanup.
func startServer(t testing.TB, dir string, opts ServerOptions) *Server {
	t.Helper()
	opts.DataDir = dir
	if opts.Logger == nil {
		opts.Logger = testenv.Logger(t, slog.LevelWarn)
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// masterJS connects in process with the master's permissions.
func masterJS(t testing.TB, s *Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect("", s.InProcessOption())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func newPublisher(t testing.TB, s *Server, host string) *Publisher {
	t.Helper()
	p, err := NewPublisher(s.ClientURL(), host, PublisherOptions{Logger: testenv.Logger(t, slog.LevelWarn), AckTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func makeEvents(n int) []event.Event {
	out := make([]event.Event, n)
	for i := range out {
		out[i] = event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed",
			Severity: 2, Decky: "decky-1", Service: "ssh", Src: &event.Endpoint{IP: "192.0.2.7", Port: 40000 + i%20000},
			Fields: map[string]any{"n": i}}
	}
	return out
}

func publishAll(t testing.TB, p *Publisher, events []event.Event, batch int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < len(events); i += batch {
		if err := p.Publish(ctx, events[i:min(i+batch, len(events))]); err != nil {
			t.Fatalf("publish batch at %d: %v", i, err)
		}
	}
}

func streamMsgs(t testing.TB, js jetstream.JetStream) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// collector records what a consumer handler receives.
type collector struct {
	mu    sync.Mutex
	total int
	ids   map[string]int
	fail  int // fail the next fail calls
	calls int
}

func newCollector() *collector { return &collector{ids: map[string]int{}} }

func (c *collector) handle(_ context.Context, events []event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.fail > 0 {
		c.fail--
		return errors.New("sink down")
	}
	for _, e := range events {
		c.total++
		c.ids[e.ID]++
	}
	return nil
}

func (c *collector) counts() (total, unique int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, len(c.ids)
}

// runConsumer runs Consume in the background until the test ends.
func runConsumer(t testing.TB, js jetstream.JetStream, durable string, h Handler, opts ...ConsumeOption) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts = append([]ConsumeOption{WithLogger(testenv.Logger(t, slog.LevelWarn)), WithBatch(500, 200*time.Millisecond), WithBackoff(50*time.Millisecond, 200*time.Millisecond)}, opts...)
	go func() { done <- Consume(ctx, js, durable, h, opts...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume %s: %v", durable, err)
		}
	})
}

// settle waits until the collector's total has not changed for half a
// second, so that a duplicate delivery arriving late would be counted.
func settle(c *collector) {
	last, _ := c.counts()
	for stable := 0; stable < 5; {
		time.Sleep(100 * time.Millisecond)
		if now, _ := c.counts(); now == last {
			stable++
		} else {
			stable, last = 0, now
		}
	}
}

func TestPublishConsumeTenThousand(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), ServerOptions{})
	_, js := masterJS(t, s)
	p := newPublisher(t, s, "h1")
	const n = 10000
	events := makeEvents(n)
	publishAll(t, p, events, 500)
	if got := streamMsgs(t, js); got != n {
		t.Fatalf("stream holds %d messages, want %d", got, n)
	}
	c := newCollector()
	runConsumer(t, js, "ingest", c.handle)
	testenv.Eventually(t, 30*time.Second, "10000 events consumed", func() bool { _, u := c.counts(); return u == n })
	settle(c)
	total, unique := c.counts()
	if total != n || unique != n {
		t.Fatalf("consumed %d events (%d unique), want %d once each", total, unique, n)
	}
	for _, e := range events {
		if c.ids[e.ID] != 1 {
			t.Fatalf("event %s consumed %d times", e.ID, c.ids[e.ID])
		}
	}
}

func TestRetriedBatchStoredOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), ServerOptions{})
	_, js := masterJS(t, s)
	p := newPublisher(t, s, "h1")
	events := makeEvents(500)
	publishAll(t, p, events, 500)
	publishAll(t, p, events, 500)      // the shipper's retry of an acknowledged batch
	publishAll(t, p, events[100:], 70) // and in other slices
	if got := streamMsgs(t, js); got != 500 {
		t.Fatalf("stream holds %d messages after publishing the batch twice, want 500", got)
	}
	// The stored document carries the publisher's host, whatever the
	// spool said.
	m, err := jsGetLast(js, SubjectPrefix+"h1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m), `"host":"h1"`) {
		t.Errorf("stored event %s lacks host h1", m)
	}
}

func jsGetLast(js jetstream.JetStream, subject string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		return nil, err
	}
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

func TestFailingHandlerGetsBatchAgain(t *testing.T) {
	t.Parallel()
	c := consumeWithFailures(t, 2000, 3, 30*time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls < 4 {
		t.Errorf("handler called %d times, want the failed batches retried", c.calls)
	}
}

// The ingester's consumer fetches ahead: failed batches still come back
// and nothing is handled twice.
func TestPrefetchingConsumerRetriesFailedBatches(t *testing.T) {
	t.Parallel()
	consumeWithFailures(t, 3000, 2, 90*time.Second, WithPrefetch())
}

// consumeWithFailures publishes n events and consumes them with a handler
// whose first fail calls fail, and checks that each is handled once.
func consumeWithFailures(t *testing.T, n, fail int, within time.Duration, opts ...ConsumeOption) *collector {
	s := startServer(t, t.TempDir(), ServerOptions{})
	_, js := masterJS(t, s)
	p := newPublisher(t, s, "h1")
	publishAll(t, p, makeEvents(n), 500)
	c := newCollector()
	c.fail = fail
	runConsumer(t, js, "flaky", c.handle, opts...)
	testenv.Eventually(t, within, "every event after failures", func() bool { _, u := c.counts(); return u == n })
	settle(c)
	if total, unique := c.counts(); unique != n || total != n {
		t.Fatalf("handled %d events (%d unique), want %d once each", total, unique, n)
	}
	return c
}

func TestDurableConsumersAreIndependent(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), ServerOptions{})
	_, js := masterJS(t, s)
	p := newPublisher(t, s, "h1")
	const n = 3000
	publishAll(t, p, makeEvents(n), 500)
	db, siem := newCollector(), newCollector()
	siem.fail = 2 // one output lagging does not hold the other back
	runConsumer(t, js, "db", db.handle)
	runConsumer(t, js, "siem", siem.handle)
	for _, c := range []*collector{db, siem} {
		testenv.Eventually(t, 30*time.Second, "each durable sees everything", func() bool { _, u := c.counts(); return u == n })
	}
	// More events after both caught up reach both again.
	publishAll(t, p, makeEvents(500), 500)
	for _, c := range []*collector{db, siem} {
		testenv.Eventually(t, 30*time.Second, "new events reach each durable", func() bool { _, u := c.counts(); return u == n+500 })
		settle(c)
		if total, _ := c.counts(); total != n+500 {
			t.Errorf("durable handled %d events, want %d", total, n+500)
		}
	}
}

func TestServerRestartKeepsStreamAndPositions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir, ServerOptions{})
	_, js := masterJS(t, s)
	p := newPublisher(t, s, "h1")
	publishAll(t, p, makeEvents(1000), 500)
	first := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Consume(ctx, js, "ingest", first.handle, WithBatch(500, 100*time.Millisecond), WithLogger(testenv.Logger(t, slog.LevelWarn)))
	}()
	testenv.Eventually(t, 30*time.Second, "first 1000 consumed", func() bool { _, u := first.counts(); return u == 1000 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.Close()
	s.Shutdown()

	s2 := startServer(t, dir, ServerOptions{})
	_, js2 := masterJS(t, s2)
	if got := streamMsgs(t, js2); got != 1000 {
		t.Fatalf("restarted server holds %d messages, want 1000", got)
	}
	p2 := newPublisher(t, s2, "h1")
	later := makeEvents(200)
	publishAll(t, p2, later, 200)
	second := newCollector()
	runConsumer(t, js2, "ingest", second.handle)
	testenv.Eventually(t, 30*time.Second, "the 200 new events", func() bool { _, u := second.counts(); return u == 200 })
	settle(second)
	if total, _ := second.counts(); total != 200 {
		t.Fatalf("durable resumed with %d events, want only the 200 new ones", total)
	}
	for _, e := range later {
		if second.ids[e.ID] != 1 {
			t.Fatalf("new event %s seen %d times", e.ID, second.ids[e.ID])
		}
	}
}

func TestSubscribeLive(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), ServerOptions{})
	nc, js := masterJS(t, s)
	p := newPublisher(t, s, "h1")
	publishAll(t, p, makeEvents(50), 50) // before the subscription: not delivered
	var mu sync.Mutex
	var got []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Subscribe(ctx, nc, func(e event.Event) { mu.Lock(); got = append(got, e.ID); mu.Unlock() })
	}()
	// The ordered consumer exists once the stream reports it.
	testenv.Eventually(t, 10*time.Second, "the live consumer", func() bool {
		st, err := js.Stream(context.Background(), StreamName)
		if err != nil {
			return false
		}
		info, err := st.Info(context.Background())
		return err == nil && info.State.Consumers > 0
	})
	live := makeEvents(300)
	publishAll(t, p, live, 100)
	testenv.Eventually(t, 10*time.Second, "300 live events", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 300 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, e := range live {
		if got[i] != e.ID {
			t.Fatalf("live event %d is %s, want %s (in order, only new ones)", i, got[i], e.ID)
		}
	}
	if len(got) != 300 {
		t.Errorf("live subscription saw %d events, want 300", len(got))
	}
}

func TestPublisherInvalidHost(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"", "Host.Example", "a.b", "x>", "*"} {
		if _, err := NewPublisher("nats://127.0.0.1:1", host, PublisherOptions{}); !errors.Is(err, ErrInvalidHost) {
			t.Errorf("host %q: err %v, want ErrInvalidHost", host, err)
		}
	}
}

func TestPublishFailsWithoutServer(t *testing.T) {
	t.Parallel()
	p, err := NewPublisher("nats://127.0.0.1:1", "h1", PublisherOptions{AckTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Publish(context.Background(), makeEvents(3)); err == nil {
		t.Fatal("publish without a server acknowledged")
	}
}

// An agent cannot forge the master's own events: one of the "decnet."
// namespace published under an agent's subject is dropped, the master's
// own subject keeps them, and the agent's other events pass.
func TestAgentCannotForgeMasterEvents(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), ServerOptions{})
	_, js := masterJS(t, s)
	agentEvents := makeEvents(3)
	forged := agentEvents[1]
	forged.Type = "decnet.alert.raised"
	agentEvents[1] = forged
	publishAll(t, newPublisher(t, s, "h1"), agentEvents, 10)
	own := makeEvents(1)
	own[0].Type = "decnet.alert.raised"
	publishAll(t, newPublisher(t, s, MasterHost), own, 10)
	c := newCollector()
	runConsumer(t, js, "ingest", c.handle)
	testenv.Eventually(t, 30*time.Second, "three events consumed", func() bool { _, u := c.counts(); return u == 3 })
	settle(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids[forged.ID] != 0 || c.ids[own[0].ID] != 1 || c.ids[agentEvents[0].ID] != 1 || c.ids[agentEvents[2].ID] != 1 {
		t.Fatalf("consumed %v; the forged alert %s must be dropped, the master's %s kept", c.ids, forged.ID, own[0].ID)
	}
}

// Raw documents get the publisher's host as their last key: a "host" the
// decky wrote, in any case, does not survive.
func TestPublishRawSetsHost(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), ServerOptions{})
	_, js := masterJS(t, s)
	p := newPublisher(t, s, "h1")
	docs := [][]byte{
		[]byte(`{"schema":1,"id":"r1","type":"x.y","decky":"d","service":"s"}`),
		[]byte(`{"schema":1,"id":"r2","type":"x.y","decky":"d","service":"s","host":"h2"}`),
		[]byte(` {"schema":1,"id":"r3","HOST":"h2","type":"x.y","decky":"d","service":"s"} `),
	}
	wait, err := p.PublishRawAsync(context.Background(), []string{"r1", "r2", "r3"}, docs)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PublishRawAsync(context.Background(), []string{"r4"}, [][]byte{[]byte(`[1]`)}); err == nil {
		t.Fatal("a document that is not an object was published")
	}
	var mu sync.Mutex
	hosts := map[string]string{}
	runConsumer(t, js, "raw", func(_ context.Context, events []event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			hosts[e.ID] = e.Host
		}
		return nil
	})
	testenv.Eventually(t, 30*time.Second, "3 events consumed", func() bool { mu.Lock(); defer mu.Unlock(); return len(hosts) == 3 })
	for id, h := range hosts {
		if h != "h1" {
			t.Fatalf("event %s has host %q, want the publisher's h1", id, h)
		}
	}
}
