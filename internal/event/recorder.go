package event

import (
	"context"
	"sync"
	"time"
)

// Recorder is an in-memory Sink for tests and for the live view of a
// single process. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []Event
	notify chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{notify: make(chan struct{}, 1)} }

// Write implements Sink.
func (r *Recorder) Write(e *Event) error {
	r.mu.Lock()
	r.events = append(r.events, *e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

// Events returns a copy of what was recorded.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Wait returns the first recorded event for which match is true, waiting
// up to timeout for it.
func (r *Recorder) Wait(timeout time.Duration, match func(Event) bool) (Event, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		for _, e := range r.Events() {
			if match(e) {
				return e, true
			}
		}
		select {
		case <-r.notify:
		case <-ctx.Done():
			return Event{}, false
		}
	}
}

// OfType is a Wait matcher for one event type.
func OfType(t string) func(Event) bool { return func(e Event) bool { return e.Type == t } }
