package output

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/bus/bustest"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/testenv"
)

// hostile strings an attacker controls: newlines, a forged syslog frame,
// SD metacharacters, a JSON breaker, an ANSI escape, invalid UTF-8 made
// text, a line separator.
var hostile = []string{
	"root\n<13>1 2026-01-01T00:00:00Z forged decnet - ssh.login.success - forged",
	"a\r\nb\x00c",
	`x"] [evil@1 k="v"] \`,
	"\"}, {\"id\": \"forged\"",
	"\x1b[31mred\x1b[0m",
	event.Text([]byte{0xff, 0xfe, '\n'}, 64),
	"\u2028\u2029\u0085",
	"12 <13>1 split",
}

// makeEvents returns n events with hostile strings in the principal, the
// fields and the session.
func makeEvents(n int) []event.Event {
	out := make([]event.Event, n)
	for i := range out {
		h := hostile[i%len(hostile)]
		out[i] = event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed",
			Severity: 2, Outcome: "failure", Host: "host-1", Decky: "decky-1", Service: "ssh", Session: h,
			Src:        &event.Endpoint{IP: "192.0.2.7", Port: 40000 + i%20000},
			Dst:        &event.Endpoint{IP: "198.51.100.2", Port: 22},
			Credential: event.NewCredential("plaintext", "password", h, []byte(h), true),
			Fields:     map[string]any{"n": i, "input": h}}
	}
	return out
}

func ids(events []event.Event) []string {
	out := make([]string, len(events))
	for i := range events {
		out[i] = events[i].ID
	}
	return out
}

// idSet is a concurrency-safe set of received event ids that also counts
// duplicates.
type idSet struct {
	mu   sync.Mutex
	seen map[string]int
}

func newIDSet() *idSet { return &idSet{seen: map[string]int{}} }

func (s *idSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[id]++
}

func (s *idSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// missing returns how many of want were not received.
func (s *idSet) missing(want []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range want {
		if s.seen[id] == 0 {
			n++
		}
	}
	return n
}

// startBus starts an embedded bus and returns a JetStream client with the
// master's rights.
func startBus(t testing.TB) jetstream.JetStream {
	t.Helper()
	_, js := bustest.Start(t)
	return js
}

// publish stores events in the stream as an agent would (message id =
// event id).
func publish(t testing.TB, js jetstream.JetStream, events []event.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var acks []jetstream.PubAckFuture
	for i := range events {
		line, err := event.JSONLine(&events[i])
		if err != nil {
			t.Fatal(err)
		}
		f, err := js.PublishAsync(bus.SubjectPrefix+"host-1", line, jetstream.WithMsgID(events[i].ID))
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, f)
	}
	for i, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("publish %d: %v", i, err)
		case <-ctx.Done():
			t.Fatalf("publish %d: %v", i, ctx.Err())
		}
	}
}

// runOutput runs o until the test ends, and fails the test if Run
// returns an error.
func runOutput(t *testing.T, js jetstream.JetStream, o Output, opts ...bus.ConsumeOption) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, js, o, testenv.Logger(t, slog.LevelInfo), opts...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run %s: %v", o.Name(), err)
		}
		_ = o.Close()
	})
}

// fastRetry makes the bus redeliver failed batches quickly.
var fastRetry = []bus.ConsumeOption{bus.WithBackoff(20*time.Millisecond, 100*time.Millisecond), bus.WithBatch(100, 200*time.Millisecond)}
