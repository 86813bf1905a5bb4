package output

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/decnet/decnet/internal/event"
)

// readLines returns the ids of the JSON lines of path, failing on any
// line that is not one whole event.
// readLines returns the ids of the complete lines of path: a line still
// being written (no newline yet) is left for the next read, as a tailer
// would.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	var out []string
	for line := range bytes.Lines(b) {
		var e event.Event
		if err := json.Unmarshal(line, &e); err != nil || e.ID == "" {
			t.Fatalf("%s: line %q is not an event: %v", path, line, err)
		}
		out = append(out, e.ID)
	}
	return out
}

func TestFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	o, err := NewFile("jsonl", path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events := makeEvents(200)
	deliverAll(t, o, events, 32)
	if err := o.Test(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	got := readLines(t, path)
	want := append(ids(events), "")
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d (hostile newlines must not split lines)", len(got), len(want))
	}
	for i := range events {
		if got[i] != want[i] {
			t.Fatalf("line %d: id %s, want %s", i, got[i], want[i])
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^0o640 != 0 {
		t.Fatalf("mode %v, want at most 0640", perm)
	}
	if err := o.Deliver(context.Background(), events[:1]); !errors.Is(err, ErrClosed) {
		t.Fatalf("Deliver after Close: %v", err)
	}
	if st := o.Status(); st.Delivered != 200 || st.ConsecutiveFailures != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestFileRotation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	const maxBytes = 16 << 10
	o, err := NewFile("jsonl", path, FileOptions{MaxBytes: maxBytes, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	events := makeEvents(300)
	deliverAll(t, o, events, 25)

	if _, err := os.Stat(path + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s.3 exists beyond Keep: %v", path, err)
	}
	// Oldest first: path.2, path.1, path; together the newest events,
	// contiguous and in order.
	var got []string
	for _, p := range []string{path + ".2", path + ".1", path} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > maxBytes || fi.Size() == 0 {
			t.Fatalf("%s has %d bytes, want 1..%d", p, fi.Size(), maxBytes)
		}
		got = append(got, readLines(t, p)...)
	}
	all := ids(events)
	tail := all[len(all)-len(got):]
	for i := range got {
		if got[i] != tail[i] {
			t.Fatalf("kept line %d: id %s, want %s", i, got[i], tail[i])
		}
	}
	if len(got) == len(all) {
		t.Fatal("nothing rotated away; the test needs more events")
	}
}

// TestFileReopen: a new File on the same path appends after what is
// there, and rotation accounts for the existing size.
func TestFileReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	var all []string
	for i := range 3 {
		o, err := NewFile("jsonl-"+strconv.Itoa(i), path, FileOptions{MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		events := makeEvents(10)
		deliverAll(t, o, events, 10)
		all = append(all, ids(events)...)
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readLines(t, path); len(got) != len(all) || got[0] != all[0] || got[len(got)-1] != all[len(all)-1] {
		t.Fatalf("%d lines after reopening, want %d", len(got), len(all))
	}
}
