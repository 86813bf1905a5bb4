package master

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

// The management listener answers liveness and readiness probes; readiness
// follows the database and the bus.
func TestHealthAndReadiness(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m, err := Open(ctx, Config{DataDir: t.TempDir(), AgentListen: "127.0.0.1:0", NATSListen: "127.0.0.1:0",
		APIListen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Log: testenv.Logger(t, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		<-done // the test breaks the bus and the database under it: any error
	}()
	get := func(path string) (int, string) {
		t.Helper()
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + m.MetricsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(p); code != 200 || body != "ok\n" {
			t.Fatalf("%s: %d %q", p, code, body)
		}
	}
	// The bus connection gone: not ready, and the reason says which part;
	// still alive.
	m.NATS.Close()
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "event bus") {
		t.Fatalf("/readyz without the bus: %d %q", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz without the bus: %d", code)
	}
	m.Store.Close()
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
		t.Fatalf("/readyz without the database: %d %q", code, body)
	}
}
