package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/event"
)

// Handler processes a batch of events. Returning nil acknowledges the
// whole batch; an error makes it come back later. Handlers must be
// idempotent: delivery is at least once.
type Handler func(ctx context.Context, events []event.Event) error

// ConsumeOption changes how Consume fetches and retries.
type ConsumeOption func(*consumeOptions)

type consumeOptions struct {
	batch      int
	maxWait    time.Duration
	ackWait    time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	filter     string
	prefetch   bool
	log        *slog.Logger
}

// WithBatch fetches up to size events at a time, waiting at most maxWait
// for them (defaults 256 and 1 s).
func WithBatch(size int, maxWait time.Duration) ConsumeOption {
	return func(o *consumeOptions) {
		if size > 0 {
			o.batch = size
		}
		if maxWait > 0 {
			o.maxWait = maxWait
		}
	}
}

// WithBackoff sets the delay before a failed batch is redelivered: min
// after the first failure, doubling up to max (defaults 1 s and 1 min).
func WithBackoff(min, max time.Duration) ConsumeOption {
	return func(o *consumeOptions) {
		if min > 0 {
			o.minBackoff = min
		}
		if max >= o.minBackoff {
			o.maxBackoff = max
		}
	}
}

// WithAckWait sets how long the server waits for a batch's
// acknowledgement before redelivering it to this durable (default 1 min).
// A handler must finish well within it.
func WithAckWait(d time.Duration) ConsumeOption {
	return func(o *consumeOptions) {
		if d > 0 {
			o.ackWait = d
		}
	}
}

// WithPrefetch fetches and decodes the next batch while the handler works
// on the current one (the ingester and the intelligence consumers: the
// database and the decoding use both cores). At most three batches are
// then unacknowledged: the one handled, one waiting and one being
// fetched; after a failed batch, the one fetched ahead is handled before
// the redelivery, so the handler must not depend on stream order.
func WithPrefetch() ConsumeOption {
	return func(o *consumeOptions) { o.prefetch = true }
}

// WithFilter consumes only the subjects matching filter, e.g.
// decnet.events.<host id> (default: every host).
func WithFilter(subject string) ConsumeOption {
	return func(o *consumeOptions) { o.filter = subject }
}

// WithLogger logs fetch errors, handler failures and undecodable
// messages.
func WithLogger(l *slog.Logger) ConsumeOption {
	return func(o *consumeOptions) {
		if l != nil {
			o.log = l
		}
	}
}

// Consume runs the durable pull consumer named durable on DECNET_EVENTS
// until ctx is done, handing batches of events to handle. The consumer
// (and its position) is created on first use and kept by the server, so a
// restart resumes after the last acknowledged batch, and every durable
// name is independent of the others. A batch is acknowledged only when
// handle returns nil; when it fails, the batch is negatively acknowledged
// with a growing delay and redelivered, and nothing is skipped. A message
// that is not an event is terminated (logged, never redelivered).
//
// Consume returns nil when ctx is done and an error only when the server
// refuses to create the consumer; while the connection is closed or the
// server does not answer, it keeps trying.
func Consume(ctx context.Context, js jetstream.JetStream, durable string, handle Handler, opts ...ConsumeOption) error {
	o := consumeOptions{batch: 256, maxWait: time.Second, ackWait: time.Minute,
		minBackoff: time.Second, maxBackoff: time.Minute, filter: SubjectAll, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	log := o.log.With("component", "bus_consumer", "durable", durable)
	cfg := jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "DECNET durable consumer " + durable,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.ackWait,
		MaxDeliver:    -1,
		FilterSubject: o.filter,
		MaxAckPending: max(pendingBatches(o)*o.batch, 1000),
		MaxWaiting:    16,
	}
	var cons jetstream.Consumer
	for {
		var err error
		if cons, err = js.CreateOrUpdateConsumer(ctx, StreamName, cfg); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if !transient(err) {
			return fmt.Errorf("bus: create consumer %s: %w", durable, err)
		}
		// The connection went or the server did not answer in time (its
		// answer may be lost although the consumer was made): try again.
		log.Warn("create consumer; retrying", "retry_in", o.minBackoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.minBackoff):
		}
	}
	type fetched struct {
		msgs   []jetstream.Msg
		events []event.Event
	}
	// batches yields the batches in turn until ctx is done: fetched when
	// asked for, or with prefetch by a goroutine one batch ahead.
	batches := func(yield func(fetched) bool) {
		for ctx.Err() == nil {
			if msgs, events := fetch(ctx, cons, o, log); len(msgs) > 0 && !yield(fetched{msgs, events}) {
				return
			}
		}
	}
	if o.prefetch {
		ahead := make(chan fetched, 1)
		fctx, stopFetch := context.WithCancel(ctx)
		fetcherDone := make(chan struct{})
		go func() {
			defer close(fetcherDone)
			defer close(ahead)
			for fctx.Err() == nil {
				msgs, events := fetch(fctx, cons, o, log)
				if len(msgs) == 0 {
					continue
				}
				select {
				case ahead <- fetched{msgs, events}:
				case <-fctx.Done():
					nakAll(msgs)
					return
				}
			}
		}()
		defer func() {
			stopFetch()
			<-fetcherDone
			// Shutting down: give a batch fetched ahead back now.
			for b := range ahead {
				nakAll(b.msgs)
			}
		}()
		batches = func(yield func(fetched) bool) {
			for b := range ahead {
				if !yield(b) {
					return
				}
			}
		}
	}
	failures := 0
	for b := range batches {
		msgs, events := b.msgs, b.events
		if err := handle(ctx, events); err != nil {
			if ctx.Err() != nil {
				// Shutting down: give the batch back now.
				nakAll(msgs)
				return nil
			}
			failures++
			delay := min(o.minBackoff<<min(failures-1, 16), o.maxBackoff)
			log.Warn("event handler failed; batch will be redelivered", "events", len(events), "failures", failures, "retry_in", delay, "err", err)
			for _, m := range msgs {
				_ = m.NakWithDelay(delay)
			}
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			continue
		}
		failures = 0
		if err := ackAll(ctx, msgs); err != nil {
			// The handler's effects stand; the batch may come again, which
			// idempotent handlers absorb.
			log.Warn("acknowledge batch", "events", len(events), "err", err)
		}
	}
	return nil
}

// pendingBatches is how many batches the server lets a consumer hold
// unacknowledged: room for a failed batch awaiting redelivery beside the
// ones in flight (three with prefetch).
func pendingBatches(o consumeOptions) int {
	if o.prefetch {
		return 6
	}
	return 4
}

func nakAll(msgs []jetstream.Msg) {
	for _, m := range msgs {
		_ = m.Nak()
	}
}

// fetch returns the next batch: the messages to acknowledge and their
// decoded events, in stream order.
func fetch(ctx context.Context, cons jetstream.Consumer, o consumeOptions, log *slog.Logger) ([]jetstream.Msg, []event.Event) {
	// The server expires the pull request: a request the client abandons
	// would strand the messages in flight until the ack wait.
	batch, err := cons.Fetch(o.batch, jetstream.FetchMaxWait(o.maxWait))
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("fetch events", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(o.minBackoff):
			}
		}
		return nil, nil
	}
	var msgs []jetstream.Msg
	var events []event.Event
	for m := range batch.Messages() {
		var e event.Event
		if err := event.Decode(m.Data(), &e); err != nil || e.ID == "" {
			log.Error("dropping a message that is not an event", "subject", m.Subject(), "err", err)
			_ = m.Term()
			continue
		}
		if strings.HasPrefix(e.Type, "decnet.") && m.Subject() != SubjectPrefix+MasterHost {
			log.Warn("dropping an event only the master emits, published by an agent", "subject", m.Subject(), "type", e.Type, "id", e.ID)
			_ = m.Term()
			continue
		}
		msgs = append(msgs, m)
		events = append(events, e)
	}
	if err := batch.Error(); err != nil && ctx.Err() == nil && !isFetchTimeout(err) {
		log.Warn("fetch events", "err", err)
	}
	return msgs, events
}

// transient reports an error of the connection rather than of the
// request.
func transient(err error) bool {
	return errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders)
}

func isFetchTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages)
}

// ackAll acknowledges every message and waits for the server to confirm
// the last: acks on one connection are processed in order, so then all of
// them are recorded.
func ackAll(ctx context.Context, msgs []jetstream.Msg) error {
	for _, m := range msgs[:len(msgs)-1] {
		if err := m.Ack(); err != nil {
			return err
		}
	}
	// A handled batch is acknowledged even when ctx ended while it was
	// handled: shutting down must not make its effects happen twice.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return msgs[len(msgs)-1].DoubleAck(actx)
}

// SubscribeOption changes where Subscribe starts.
type SubscribeOption func(*jetstream.OrderedConsumerConfig)

// SubscribeSince starts with the events stored at or after t instead of
// only new ones.
func SubscribeSince(t time.Time) SubscribeOption {
	return func(c *jetstream.OrderedConsumerConfig) {
		c.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		c.OptStartTime = &t
	}
}

// Subscribe follows the stream live, calling fn for every new event in
// stream order, until ctx is done. It uses an ordered ephemeral consumer:
// no position is stored, nothing is acknowledged, and a gap (after a
// reconnection) is healed by the client re-creating the consumer. It
// suits dashboards; anything that must not miss an event uses Consume.
// fn runs on one goroutine that Subscribe waits for before returning.
func Subscribe(ctx context.Context, nc *nats.Conn, fn func(event.Event), opts ...SubscribeOption) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{SubjectAll}, DeliverPolicy: jetstream.DeliverNewPolicy}
	for _, opt := range opts {
		opt(&cfg)
	}
	cons, err := js.OrderedConsumer(ctx, StreamName, cfg)
	if err != nil {
		return fmt.Errorf("bus: subscribe: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var e event.Event
		if event.Decode(m.Data(), &e) == nil && e.ID != "" {
			fn(e)
		}
	})
	if err != nil {
		return fmt.Errorf("bus: subscribe: %w", err)
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	return nil
}
