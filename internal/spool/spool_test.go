package spool

import (
	"os"
	"strings"
	"testing"

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
	files, _ := Files(dir)
	data, _ := os.ReadFile(files[len(files)-1])
	if !strings.Contains(string(data), "system.events.dropped") {
		t.Fatal("drops not reported")
	}
}
