package output

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// Output delivers batches of events to one SIEM destination. Run calls
// Deliver from one goroutine; Status and Test (where implemented) may be
// called concurrently with it.
type Output interface {
	// Name identifies the output; its durable consumer is
	// DurablePrefix + Name.
	Name() string
	// Deliver returns nil only when the whole batch is durably handed
	// over; an error makes the bus redeliver the batch after a backoff,
	// so a receiver may see an event twice and should deduplicate on its
	// id. An error matching ErrDisabled is permanent until the output is
	// re-enabled.
	Deliver(ctx context.Context, events []event.Event) error
	// Close releases connections and files. Deliver fails after it.
	Close() error
}

// Reporter is implemented by outputs that report their delivery state
// (every output of this package does); the dashboard reads it.
type Reporter interface {
	Status() Status
}

// Tester is implemented by outputs that can send a sample event on demand
// (every output of this package does).
type Tester interface {
	Test(ctx context.Context) error
}

// Switch is implemented by outputs that can disable themselves (Webhook).
// Run pauses consumption while the output is disabled and resumes when
// the channel returned by Enabled is closed.
type Switch interface {
	// Enabled returns a channel that is closed once the output is enabled
	// (already closed when it is).
	Enabled() <-chan struct{}
}

var (
	// ErrDisabled is returned by Deliver of an output that disabled
	// itself after too many consecutive failures. It is permanent: Run
	// stops consuming, keeping the output's position in the stream,
	// until the output is enabled again.
	ErrDisabled = errors.New("output disabled")
	// ErrClosed is returned by Deliver after Close.
	ErrClosed = errors.New("output closed")
)

// Kinds of output.
const (
	KindFile    = "file"
	KindSyslog  = "syslog"
	KindWebhook = "webhook"
)

// Status is an output's delivery state, safe to copy and to encode for
// the dashboard. Counters cover the life of the process.
type Status struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// LastDelivery is when the last batch was delivered.
	LastDelivery time.Time `json:"last_delivery,omitzero"`
	// Delivered counts events delivered (redeliveries included).
	Delivered uint64 `json:"delivered"`
	// LastError is the last delivery error, kept after later successes;
	// LastErrorAt tells whether it is older than LastDelivery.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// ConsecutiveFailures counts failed deliveries since the last
	// success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Disabled is set when the output switched itself off.
	Disabled bool `json:"disabled"`
}

// health records an output's Status; its methods are safe for concurrent
// use.
type health struct {
	mu sync.Mutex
	st Status
}

func newHealth(name, kind string) *health {
	return &health{st: Status{Name: name, Kind: kind}}
}

// delivered records a delivered batch of n events.
func (h *health) delivered(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.st.LastDelivery = time.Now().UTC()
	h.st.Delivered += uint64(n)
	h.st.ConsecutiveFailures = 0
}

// failed records a failed delivery and returns the consecutive failures.
func (h *health) failed(err error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.st.LastError = err.Error()
	h.st.LastErrorAt = time.Now().UTC()
	h.st.ConsecutiveFailures++
	return h.st.ConsecutiveFailures
}

func (h *health) status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st
}

// sampleEvent is what Test sends: a well-formed event of type
// TestEventType from the documentation address range.
func sampleEvent() event.Event {
	return event.Event{
		Schema: event.SchemaVersion, ID: event.NewID(), Time: time.Now().UTC(), Type: TestEventType,
		Decky: "decnet-test", Service: "output",
		Src:    &event.Endpoint{IP: "192.0.2.1", Port: 40000},
		Dst:    &event.Endpoint{IP: "198.51.100.1", Port: 22},
		Fields: map[string]any{"message": "DECNET output test"},
	}
}

// TestEventType is the type of the sample event Test sends. It is never
// emitted by a decky, so it is not in the event catalogue.
const TestEventType = "system.output.test"

// sleep waits d or until ctx is done, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (h *health) setDisabled(d bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.st.Disabled = d
	if !d {
		h.st.ConsecutiveFailures = 0
	}
}

// base is what every output shares: its name and its delivery health.
type base struct {
	name string
	h    *health
}

func newBase(name, kind string) base { return base{name: name, h: newHealth(name, kind)} }

// Name returns the output's name.
func (b *base) Name() string { return b.name }

// Status returns the delivery state.
func (b *base) Status() Status { return b.h.status() }

// account records the outcome of delivering n events and returns err.
func (b *base) account(n int, err error) error {
	if err != nil {
		b.h.failed(err)
		return err
	}
	b.h.delivered(n)
	return nil
}

// orDefault is v, or def when v is not positive (an option left unset).
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// retryDefaults fills unset retry options (attempts and the backoff
// bounds, max never below min) from the output's defaults.
func retryDefaults(attempts *int, minBackoff, maxBackoff *time.Duration, dAttempts int, dMin, dMax time.Duration) {
	*attempts = orDefault(*attempts, dAttempts)
	*minBackoff = orDefault(*minBackoff, dMin)
	if *maxBackoff < *minBackoff {
		*maxBackoff = max(dMax, *minBackoff)
	}
}
