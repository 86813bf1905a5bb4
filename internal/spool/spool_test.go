package spool

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
)

func testEvent(i int) *event.Event {
	return &event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Type: "ssh.login.failed", Decky: "d", Service: "ssh",
		Src: &event.Endpoint{IP: "10.0.0.5", Port: 40000 + i}}
}

func TestSpoolReportsDrops(t *testing.T) {
	dir := t.TempDir()
	sp, _ := Open(dir)
	defer sp.Close()
	sp.maxTotal = 2000
	var failed int
	for i := range 40 {
		if err := sp.Write(testEvent(i)); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("spool never filled")
	}
	sp.maxTotal = 1 << 30
	sp.Write(testEvent(99))
	if err := sp.Sync(); err != nil {
		t.Fatal(err)
	}
	files, _ := Files(dir)
	data, _ := os.ReadFile(files[len(files)-1])
	if !strings.Contains(string(data), "system.events.dropped") {
		t.Fatal("drops not reported")
	}
}

// lines reads every spooled line and checks each is a whole event.
func lines(t *testing.T, dir string) []event.Event {
	t.Helper()
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Event
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if l == "" {
				continue
			}
			var e event.Event
			if err := event.Decode([]byte(l), &e); err != nil || e.ID == "" {
				t.Fatalf("%s: broken line %q: %v", f, l, err)
			}
			out = append(out, e)
		}
	}
	return out
}

// TestGroupCommit: a queued event reaches its file within the window
// without Sync; Close writes what is queued.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	sp, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Write(testEvent(1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(lines(t, dir)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a queued event was never written")
		}
		time.Sleep(time.Millisecond)
	}
	for i := range 100 {
		if err := sp.Write(testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, dir)); n != 101 {
		t.Fatalf("%d events after Close, want 101", n)
	}
	if err := sp.Write(testEvent(0)); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// TestConcurrentWritersWholeLinesAndRotation: many writers at once give
// whole lines, none lost, and files that stay within MaxFile.
func TestConcurrentWritersWholeLinesAndRotation(t *testing.T) {
	dir := t.TempDir()
	sp, err := OpenWith(dir, Options{MaxFile: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := sp.Write(testEvent(w*each + i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	evs := lines(t, dir)
	ports := map[int]bool{}
	for _, e := range evs {
		ports[e.Src.Port] = true
	}
	if len(evs) != writers*each || len(ports) != writers*each {
		t.Fatalf("%d events (%d distinct), want %d", len(evs), len(ports), writers*each)
	}
	files, _ := Files(dir)
	for _, f := range files {
		if fi, _ := os.Stat(f); fi.Size() > 8<<10 {
			t.Fatalf("%s holds %d bytes, over MaxFile", f, fi.Size())
		}
	}
	if len(files) < 10 {
		t.Fatalf("%d files: no rotation", len(files))
	}
}
