package master

import (
	"context"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
)

func TestRetentionDeletesOldEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.SQLite(t)
	old := event.Event{Schema: 1, ID: event.NewID(), Time: time.Now().Add(-48 * time.Hour).UTC(), Type: "ssh.login.failed", Decky: "d", Service: "ssh", Src: &event.Endpoint{IP: "192.0.2.1"}}
	fresh := event.Event{Schema: 1, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed", Decky: "d", Service: "ssh", Src: &event.Endpoint{IP: "192.0.2.1"}}
	if _, err := st.InsertEvents(ctx, []event.Event{old, fresh}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- RunRetention(ctx, st, nil, 24*time.Hour, time.Hour, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := st.CountEvents(ctx, store.EventFilter{})
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events left, want 1", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a, err := st.Attacker(ctx, "192.0.2.1")
	if err != nil || a.Events != 2 {
		t.Fatalf("aggregates changed by retention: %+v %v", a, err)
	}
	cancel()
	<-done
}
