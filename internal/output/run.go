package output

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
)

// DurablePrefix starts the durable consumer name of every output.
const DurablePrefix = "output-"

// DrainGrace is how long a delivery in flight may go on once Run is
// stopped.
const DrainGrace = 5 * time.Second

// Run consumes the event stream into o until ctx is done, with the
// durable consumer DurablePrefix + o.Name(): each output keeps its own
// position, so a slow, failing or disabled output holds back neither
// ingestion nor the other outputs, and loses nothing while the stream
// keeps the events (bus.StreamConfig: 30 days, 8 GiB by default).
//
// Batches of up to 256 events are handed to o.Deliver and acknowledged
// only when it returns nil; a failed batch is redelivered after a backoff
// growing from 1 s to 1 min (opts, such as bus.WithBackoff, override
// these defaults). When Deliver returns ErrDisabled, Run stops consuming
// and gives the batch back; if o is a Switch it waits for Enabled and
// resumes from the same position, otherwise it returns the error.
//
// Run returns nil when ctx is done. It does not close o. Every goroutine
// it starts (those of bus.Consume) has ended when it returns.
func Run(ctx context.Context, js jetstream.JetStream, o Output, log *slog.Logger, opts ...bus.ConsumeOption) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "output", "output", o.Name())
	durable := DurablePrefix + o.Name()
	sw, _ := o.(Switch)
	copts := append([]bus.ConsumeOption{
		// A quarter of a second at most waiting for a fuller batch, so
		// that an alert reaches the SIEM within a second.
		bus.WithBatch(256, 250*time.Millisecond),
		// Above the longest Deliver (Webhook: 4 attempts of 10 s plus
		// backoff), so a batch is not redelivered while in flight.
		bus.WithAckWait(2 * time.Minute),
		bus.WithLogger(log),
	}, opts...)
	for {
		if sw != nil {
			if err := waitEnabled(ctx, sw, log); err != nil {
				return nil
			}
		}
		cctx, cancel := context.WithCancel(ctx)
		var disabled atomic.Bool
		handle := func(hctx context.Context, events []event.Event) error {
			// A batch in flight when Run is stopped gets DrainGrace to
			// finish and be acknowledged: cut off, the receiver could
			// have it while the stream does not know, and it would be
			// sent again after the restart.
			dctx, stop := context.WithCancel(context.WithoutCancel(hctx))
			defer stop()
			defer context.AfterFunc(hctx, func() { time.AfterFunc(DrainGrace, stop) })()
			err := o.Deliver(dctx, events)
			if errors.Is(err, ErrDisabled) {
				// Cancelling makes Consume give the batch back at once
				// and return: the position stays before it.
				disabled.Store(true)
				cancel()
			}
			return err
		}
		err := bus.Consume(cctx, js, durable, handle, copts...)
		cancel()
		switch {
		case err != nil:
			return fmt.Errorf("output %s: %w", o.Name(), err)
		case ctx.Err() != nil:
			return nil
		case !disabled.Load():
			return nil
		case sw == nil:
			return fmt.Errorf("output %s: %w", o.Name(), ErrDisabled)
		}
	}
}

// waitEnabled blocks while sw is disabled; it returns ctx's error when ctx
// is done first.
func waitEnabled(ctx context.Context, sw Switch, log *slog.Logger) error {
	ch := sw.Enabled()
	select {
	case <-ch:
		return nil
	default:
	}
	log.Warn("output disabled; consumption paused, position kept")
	select {
	case <-ch:
		log.Info("output enabled; consumption resumed")
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
