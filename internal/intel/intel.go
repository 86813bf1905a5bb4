// Package intel runs the master's attacker intelligence: consumers of the
// event stream that derive what events alone do not say. Each is its own
// durable consumer (like the SIEM outputs), so it never slows ingestion,
// resumes where it stopped after a restart, and a new one starts from the
// oldest event the stream keeps.
//
//   - Enricher: country, city and AS of every source address from the
//     operator's MaxMind-format databases (package geo), and optionally
//     its reverse DNS name, stored on the attacker.
//   - Tagger: ATT&CK techniques of every event (package attack), stored
//     on the event and counted on the attacker.
//
// Lifecycle: the constructors start nothing; Run consumes until ctx is
// done and returns nil then (an error only when the consumer cannot be
// created). Storage is idempotent, so a redelivered batch changes
// nothing.
package intel

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/store"
)

// Durable consumer names.
const (
	TaggerDurable   = "intel-attack"
	EnricherDurable = "intel-enrich"
)

// TagStore is what the tagger writes.
type TagStore interface {
	AddEventTags(ctx context.Context, tags []store.EventTag) (int, error)
}

// Tagger tags events with ATT&CK techniques.
type Tagger struct {
	eng *attack.Engine
	st  TagStore
	log *slog.Logger
	// OnBatch, when set, learns each batch: events seen, tags stored.
	OnBatch func(events, tags int)
}

// NewTagger returns a tagger of the engine's rules; it starts nothing.
func NewTagger(eng *attack.Engine, st TagStore, log *slog.Logger) *Tagger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tagger{eng: eng, st: st, log: log.With("component", "attack_tagger")}
}

// maxWarm bounds the stored events a tagger replays to warm its windows.
const maxWarm = 200_000

// Warm replays the stored events of the rules' longest window, ending at
// now, through the engine without storing anything, so that windows
// (password spraying) straddling a restart count what came before it.
func (t *Tagger) Warm(ctx context.Context, st interface {
	ListEvents(ctx context.Context, f store.EventFilter) ([]event.Event, error)
}, now time.Time) (int, error) {
	d := t.eng.LongestWindow()
	if d == 0 {
		return 0, nil
	}
	done, after := 0, ""
	for done < maxWarm {
		page, err := st.ListEvents(ctx, store.EventFilter{Oldest: true, Since: now.Add(-d), After: after, Limit: 1000})
		if err != nil {
			return done, err
		}
		for i := range page {
			t.eng.Tag(&page[i])
		}
		done += len(page)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	return done, nil
}

// Run consumes the event stream until ctx is done.
func (t *Tagger) Run(ctx context.Context, js jetstream.JetStream) error {
	return bus.Consume(ctx, js, TaggerDurable, t.Handle, bus.WithBatch(2000, 100*time.Millisecond), bus.WithPrefetch(), bus.WithLogger(t.log))
}

// Handle tags one batch and stores the tags; it is the consumer's
// handler, and what a rebuild from stored events calls.
func (t *Tagger) Handle(ctx context.Context, events []event.Event) error {
	var tags []store.EventTag
	for i := range events {
		e := &events[i]
		src := ""
		if e.Src != nil {
			src = e.Src.IP
		}
		for _, h := range attack.Techniques(t.eng.Tag(e)) {
			tags = append(tags, store.EventTag{EventID: e.ID, Technique: h.Technique, Rule: h.Rule, SrcIP: src, Time: e.Time})
		}
	}
	n, err := t.st.AddEventTags(ctx, tags)
	if err != nil {
		t.log.Warn("store event tags", "batch", len(events), "err", err)
		return err
	}
	if t.OnBatch != nil {
		t.OnBatch(len(events), n)
	}
	return nil
}
