package rollup

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/decnet/decnet/internal/event"
)

// Row is one event as both backends store it: the indexed columns and the
// full JSON document.
type Row struct {
	Event    *event.Event
	ID       string
	Type     string
	Decky    string
	Service  string
	SrcIP    string
	Session  string
	Topology string
	Host     string
	Severity int
	Doc      string
}

// Prepare encodes a batch for insertion: it refuses an event without an
// id, keeps the first of events sharing an id, and sorts by id so that
// concurrent writers take row locks in the same order.
func Prepare(events []event.Event) ([]Row, error) {
	rows := make([]Row, 0, len(events))
	seen := make(map[string]struct{}, len(events))
	for i := range events {
		e := &events[i]
		if e.ID == "" {
			return nil, fmt.Errorf("event %d of the batch has no id", i)
		}
		if _, dup := seen[e.ID]; dup {
			continue
		}
		seen[e.ID] = struct{}{}
		doc, err := event.JSONLine(e)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		r := Row{Event: e, ID: Clean(e.ID), Type: Clean(e.Type), Decky: Clean(e.Decky),
			Service: Clean(e.Service), Session: Clean(e.Session), Topology: Clean(e.Topology),
			Host: Clean(e.Host), Severity: e.Severity, Doc: string(bytes.TrimRight(doc, "\n"))}
		if e.Src != nil {
			r.SrcIP = Clean(e.Src.IP)
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	return rows, nil
}
