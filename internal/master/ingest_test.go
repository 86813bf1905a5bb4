package master

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/bus/bustest"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
)

// TestIngesterStoresEveryEventOnce publishes a burst (with replays), stops
// the ingester half way, restarts it on the same store, and wants every
// event in the database exactly once with counters matching.
func TestIngesterStoresEveryEventOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, js := bustest.Start(t)
	st := storetest.SQLite(t)

	pub, err := bus.NewPublisher(srv.ClientURL(), "h1", bus.PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	const n = 3000
	var all []event.Event
	for i := range n {
		e := event.Event{Schema: 1, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed", Decky: "d1", Service: "ssh",
			Src:        &event.Endpoint{IP: fmt.Sprintf("203.0.113.%d", i%7), Port: 40000 + i},
			Credential: event.NewCredential("plaintext", "password", "root", []byte(fmt.Sprint("pw", i%50)), true)}
		all = append(all, e)
	}
	publish := func(evs []event.Event) {
		for i := 0; i < len(evs); i += 500 {
			if err := pub.Publish(ctx, evs[i:min(i+500, len(evs))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(all[:n/2])

	runFor := func(until func() bool) {
		ictx, icancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- NewIngester(st, nil).Run(ictx, js) }()
		deadline := time.Now().Add(60 * time.Second)
		for !until() {
			if time.Now().After(deadline) {
				t.Fatal("ingester did not catch up")
			}
			time.Sleep(20 * time.Millisecond)
		}
		icancel()
		<-done
	}
	count := func() int64 {
		c, err := st.CountEvents(ctx, store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	runFor(func() bool { return count() >= n/4 }) // stopped half way
	publish(all)                                  // the rest, and a replay of the first half
	runFor(func() bool { return count() >= n })
	time.Sleep(500 * time.Millisecond)
	if c := count(); c != n {
		t.Fatalf("%d events stored, want %d", c, n)
	}
	attackers, err := st.ListAttackers(ctx, store.AttackerFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, a := range attackers {
		total += a.Events
	}
	if len(attackers) != 7 || total != n {
		t.Fatalf("attackers %d, events counted %d; want 7 and %d", len(attackers), total, n)
	}
	creds, err := st.ListCredentials(ctx, store.CredentialFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 50 {
		t.Fatalf("%d distinct credentials, want 50", len(creds))
	}
}
