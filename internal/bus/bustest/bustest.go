// Package bustest starts the embedded bus for tests of the packages that
// consume it (outputs, the master's ingester).
package bustest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/testenv"
)

// Start starts an embedded bus on a temporary directory and returns it
// with an in-process JetStream client that has the master's rights; both
// stop when the test ends.
func Start(t testing.TB) (*bus.Server, jetstream.JetStream) {
	t.Helper()
	s, err := bus.NewServer(bus.ServerOptions{DataDir: t.TempDir(), Logger: testenv.Logger(t, slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := nats.Connect("", s.InProcessOption())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return s, js
}
