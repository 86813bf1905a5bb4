package intel

import (
	"context"
	"fmt"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/store"
)

// RebuildStore is what a rebuild reads and clears.
type RebuildStore interface {
	ListEvents(ctx context.Context, f store.EventFilter) ([]event.Event, error)
	ClearEventTags(ctx context.Context) error
	ClearCorrelation(ctx context.Context) error
}

// RebuildOptions say what a rebuild redoes.
type RebuildOptions struct {
	// Tagger, when set, tags every stored event again. Give it a fresh
	// engine, so that windowed rules see the events from the start.
	Tagger *Tagger
	// Reset clears every tag and technique count first, so the result is
	// exactly what the rules in force make of the stored events (tags of
	// rules since removed go).
	Reset bool
	// Enricher, when set, enriches every stored source address again
	// with the databases as they are now.
	Enricher *Enricher
	// Correlator, when set, correlates every stored event again into
	// identities, campaigns, credential reuse and lateral movement; with
	// Reset what it kept is cleared first. Give it a fresh correlator
	// without a publisher (the outputs had the live events). The
	// master's own correlator keeps its state in memory: restart the
	// master after a reset rebuild.
	Correlator *correlate.Correlator
	// Alerts, when set, evaluates the alert rules on every stored event
	// again. Alerts are keyed by the event that raised them, so a replay
	// raises only what the live evaluator missed (rules created after
	// their events, for instance), and never clears an alert: they are
	// the operators' records (acknowledged, closed).
	Alerts *alert.Evaluator
	// Progress, when set, learns the events done so far after each page.
	Progress func(done int)
}

// rebuildPage is the page size of a rebuild.
const rebuildPage = 500

// Rebuild replays the stored events, oldest first, through the tagger,
// the enricher, the correlator and the alert evaluator, as their consumers handled them
// when they arrived; it returns the number of events replayed. It is safe while the master
// runs: storage is idempotent, and the live consumers keep going.
func Rebuild(ctx context.Context, st RebuildStore, o RebuildOptions) (int, error) {
	if o.Reset && o.Tagger != nil {
		if err := st.ClearEventTags(ctx); err != nil {
			return 0, err
		}
	}
	if o.Reset && o.Correlator != nil {
		if err := st.ClearCorrelation(ctx); err != nil {
			return 0, err
		}
	}
	done, after := 0, ""
	for {
		page, err := st.ListEvents(ctx, store.EventFilter{Oldest: true, After: after, Limit: rebuildPage})
		if err != nil {
			return done, fmt.Errorf("rebuild: %w", err)
		}
		if len(page) == 0 {
			return done, nil
		}
		if o.Tagger != nil {
			if err := o.Tagger.Handle(ctx, page); err != nil {
				return done, fmt.Errorf("rebuild: tag: %w", err)
			}
		}
		if o.Enricher != nil {
			if err := o.Enricher.Handle(ctx, page); err != nil {
				return done, fmt.Errorf("rebuild: enrich: %w", err)
			}
		}
		if o.Correlator != nil {
			if err := o.Correlator.Handle(ctx, page); err != nil {
				return done, fmt.Errorf("rebuild: correlate: %w", err)
			}
		}
		if o.Alerts != nil {
			if err := o.Alerts.Handle(ctx, page); err != nil {
				return done, fmt.Errorf("rebuild: alerts: %w", err)
			}
		}
		done += len(page)
		after = page[len(page)-1].ID
		if o.Progress != nil {
			o.Progress(done)
		}
	}
}
