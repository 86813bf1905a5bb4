// Package master is the only authority of a DECNET deployment: it keeps the
// desired state and everything observed in its store, and consumes the
// event stream. This file holds the DB ingester; the API, reconciler and
// PKI enrollment build on the same store.
package master

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// IngesterDurable names the ingester's durable consumer: its position in
// the stream survives master restarts.
const IngesterDurable = "db-ingester"

// Ingester writes the event stream into the store. Storage is idempotent
// on the event id, so a batch redelivered after a crash between the write
// and the acknowledgement is stored once and counted once.
type Ingester struct {
	st  store.Store
	log *slog.Logger
	// Batch bounds one database transaction.
	Batch int
	// MaxWait bounds how long a batch waits to fill: a batch is stored
	// when it holds Batch events or MaxWait has passed, whichever comes
	// first.
	MaxWait time.Duration
	// OnBatch, when set, learns each stored batch (metrics).
	OnBatch func(received, stored int)
}

// NewIngester returns an ingester; it starts nothing.
func NewIngester(st store.Store, log *slog.Logger) *Ingester {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Ingester{st: st, log: log.With("component", "ingester"), Batch: 2000, MaxWait: 50 * time.Millisecond}
}

// Run consumes until ctx is done. A store error leaves the batch
// unacknowledged, so the bus redelivers it with backoff: nothing is lost
// while the database is down.
func (in *Ingester) Run(ctx context.Context, js jetstream.JetStream) error {
	return bus.Consume(ctx, js, IngesterDurable, in.handle,
		bus.WithBatch(in.Batch, in.MaxWait), bus.WithPrefetch(), bus.WithLogger(in.log))
}

func (in *Ingester) handle(ctx context.Context, events []event.Event) error {
	n, err := in.st.InsertEvents(ctx, events)
	if err != nil {
		in.log.Warn("store events", "batch", len(events), "err", err)
		return err
	}
	if in.OnBatch != nil {
		in.OnBatch(len(events), n)
	}
	if n < len(events) {
		in.log.Debug("redelivered events skipped", "batch", len(events), "new", n)
	}
	return nil
}
