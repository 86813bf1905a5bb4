// Package evidence keeps an alert's evidence, the bounded list of the
// event ids that raised and grew it, the same way in both backends.
package evidence

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// Encode is the column value of an evidence list (at most
// store.MaxAlertEvidence ids).
func Encode(ids []string) (string, error) {
	if ids == nil {
		ids = []string{}
	}
	b, err := json.Marshal(ids[:min(len(ids), store.MaxAlertEvidence)])
	return string(b), err
}

// Decode fills a scanned alert's evidence from its column value.
func Decode(a *store.Alert, text string) error {
	if err := json.Unmarshal([]byte(text), &a.EventIDs); err != nil {
		return fmt.Errorf("alert %s: evidence: %w", a.ID, err)
	}
	return nil
}

// New fills a new alert's id when empty and returns its evidence's
// column value.
func New(a *store.Alert) (string, error) {
	if a.ID == "" {
		a.ID = event.NewID()
	}
	return Encode(a.EventIDs)
}

// Touch adds an event to an alert's evidence (while there is room) and
// returns the evidence's column value and the alert's new last seen.
func Touch(a *store.Alert, eventID string, t time.Time) (string, time.Time, error) {
	if !slices.Contains(a.EventIDs, eventID) && len(a.EventIDs) < store.MaxAlertEvidence {
		a.EventIDs = append(a.EventIDs, eventID)
	}
	ids, err := Encode(a.EventIDs)
	last := a.Last
	if t.After(last) {
		last = t
	}
	return ids, last, err
}
