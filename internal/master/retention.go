package master

import (
	"context"
	"log/slog"
	"time"

	"github.com/decnet/decnet/internal/store"
)

// RunRetention deletes stored events older than keep, once at start and
// then every interval, until ctx is done. Attacker and credential
// aggregates are kept: they summarise what was seen, whatever the age of
// the raw events. Blobs of arts (when not nil) unused for keep go too.
// keep <= 0 keeps everything.
func RunRetention(ctx context.Context, st store.Store, arts *Artifacts, keep, interval time.Duration, log *slog.Logger) error {
	if keep <= 0 {
		<-ctx.Done()
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := st.DeleteEventsBefore(ctx, time.Now().Add(-keep))
		if err != nil && ctx.Err() == nil {
			log.Warn("retention", "err", err)
		} else if n > 0 {
			log.Info("retention deleted old events", "count", n, "older_than", keep)
		}
		if arts != nil {
			if n, err := arts.Prune(time.Now().Add(-keep)); err != nil {
				log.Warn("retention of artifacts", "err", err)
			} else if n > 0 {
				log.Info("retention deleted unused artifacts", "count", n, "older_than", keep)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
