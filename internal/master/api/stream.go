package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// hub fans the live source out to the open streams: one subscription for
// all of them, started with the first stream and cancelled with the last,
// so no stream ever polls the database. Each stream has a bounded queue; a
// stream too slow to keep up loses events and is told how many.
type hub struct {
	live    Live
	log     *slog.Logger
	metrics *metrics

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	gen    uint64             // generation of the running subscription
	cancel context.CancelFunc // of the running subscription, nil when none
	closed bool
	wg     sync.WaitGroup // the subscription goroutines
}

// subscriber is one open stream.
type subscriber struct {
	match   func(*event.Event) bool
	ch      chan event.Event
	dropped atomic.Int64
}

// streamQueue is the per-stream buffer.
const streamQueue = 256

func newHub(live Live, log *slog.Logger, m *metrics) *hub {
	return &hub{live: live, log: log, metrics: m, subs: map[*subscriber]struct{}{}}
}

// add registers sub, starting the subscription if it is the first; it
// returns false after close.
func (h *hub) add(sub *subscriber) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.subs[sub] = struct{}{}
	h.metrics.streams.Set(float64(len(h.subs)))
	if h.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.gen++
		h.cancel = cancel
		h.wg.Add(1)
		go h.run(ctx, h.gen)
	}
	return true
}

// remove unregisters sub, cancelling the subscription after the last.
func (h *hub) remove(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, sub)
	h.metrics.streams.Set(float64(len(h.subs)))
	if len(h.subs) == 0 && h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
}

// close cancels the subscription and waits for its goroutine.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	if h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// run keeps the subscription up until ctx is done, retrying with backoff.
func (h *hub) run(ctx context.Context, gen uint64) {
	defer h.wg.Done()
	backoff := time.Second
	for {
		err := h.live.Subscribe(ctx, func(e event.Event) { h.publish(gen, &e) })
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("live event subscription ended", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (h *hub) publish(gen uint64, e *event.Event) {
	h.metrics.liveEvents.Inc()
	h.metrics.liveLast.Set(float64(e.Time.UnixMilli()) / 1000)
	h.mu.Lock()
	defer h.mu.Unlock()
	if gen != h.gen {
		return // a cancelled subscription still draining
	}
	for sub := range h.subs {
		if !sub.match(e) {
			continue
		}
		select {
		case sub.ch <- *e:
		default:
			sub.dropped.Add(1)
			h.metrics.liveDropped.Inc()
		}
	}
}

// stream serves /events/stream: Server-Sent Events, one "event" frame per
// matching event (id: the event id), a ": keepalive" comment every
// heartbeat, a "dropped" frame when the queue overflowed, and an "error"
// frame before closing when the caller's credentials stop being valid.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, who *Principal) {
	f, err := parseEventFilter(r.URL.Query())
	if err != nil {
		WriteError(w, err)
		return
	}
	if s.live == nil {
		WriteError(w, Errorf(http.StatusServiceUnavailable, CodeUnavailable, "no live event source"))
		return
	}
	if !s.takeStream(who.UserID) {
		WriteError(w, Errorf(http.StatusTooManyRequests, CodeRateLimited, "at most %d open streams per user", maxStreamsPerUser))
		return
	}
	defer s.releaseStream(who.UserID)

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's WriteTimeout would cut the stream
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	match := matcher(f)
	sub := &subscriber{match: match, ch: make(chan event.Event, streamQueue)}
	if !s.hub.add(sub) {
		return
	}
	defer s.hub.remove(sub)
	if !writeFrame(w, rc, ": connected\n\n") {
		return
	}
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case e := <-sub.ch:
			if !s.reportDropped(w, rc, sub) || !writeEvents(w, rc, &e, sub.ch) {
				return
			}
		case <-tick.C:
			if _, err := s.authenticate(r); err != nil {
				writeFrame(w, rc, "event: error\ndata: {\"code\":\""+CodeUnauthenticated+"\"}\n\n")
				return
			}
			if !s.reportDropped(w, rc, sub) || !writeFrame(w, rc, ": keepalive\n\n") {
				return
			}
		}
	}
}

func (s *Server) reportDropped(w io.Writer, rc *http.ResponseController, sub *subscriber) bool {
	if n := sub.dropped.Swap(0); n > 0 {
		return writeFrame(w, rc, fmt.Sprintf("event: dropped\ndata: {\"count\":%d}\n\n", n))
	}
	return true
}

// eventFrame is one SSE frame. JSON holds no raw newline, so the data is
// one line; an id that could break the framing is left out.
func eventFrame(e *event.Event) string {
	b, err := event.AppendJSON(nil, e)
	if err != nil {
		return ""
	}
	var sb strings.Builder
	if e.ID != "" && !strings.ContainsAny(e.ID, "\r\n\x00") {
		sb.WriteString("id: " + e.ID + "\n")
	}
	sb.WriteString("event: event\ndata: ")
	sb.Write(b)
	sb.WriteString("\n\n")
	return sb.String()
}

// writeEvents writes e's frame and those of the events already queued
// behind it (at most a queue's worth), then flushes once: under a flood a
// flush (a TLS record and a system call) carries many events, not one.
func writeEvents(w io.Writer, rc *http.ResponseController, e *event.Event, queued <-chan event.Event) bool {
	if _, err := io.WriteString(w, eventFrame(e)); err != nil {
		return false
	}
	for range streamQueue {
		select {
		case next := <-queued:
			if _, err := io.WriteString(w, eventFrame(&next)); err != nil {
				return false
			}
			continue
		default:
		}
		break
	}
	return rc.Flush() == nil
}

func writeFrame(w io.Writer, rc *http.ResponseController, frame string) bool {
	if frame == "" {
		return true
	}
	if _, err := io.WriteString(w, frame); err != nil {
		return false
	}
	return rc.Flush() == nil
}

func (s *Server) takeStream(uid int64) bool {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams[uid] >= maxStreamsPerUser {
		return false
	}
	s.streams[uid]++
	return true
}

func (s *Server) releaseStream(uid int64) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams[uid]--; s.streams[uid] <= 0 {
		delete(s.streams, uid)
	}
}
