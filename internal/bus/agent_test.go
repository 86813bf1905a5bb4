package bus

import (
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/testenv"
)

// TestAgentShipsToBusAcrossKill runs the real agent binary with --nats-url
// against the embedded server while a decky's spool is being written, kills
// it with SIGKILL twice in the middle of the burst, restarts it, and
// checks that the stream ends with exactly the events written, once each.
func TestAgentShipsToBusAcrossKill(t *testing.T) {
	if testenv.Short() {
		t.Skip("builds and runs the agent binary")
	}
	bin := testenv.DecnetBinary(t)
	s := startServer(t, t.TempDir(), ServerOptions{})
	_, js := masterJS(t, s)
	dir := t.TempDir()

	sp, err := spool.Open(filepath.Join(dir, "spool", "decky-1"))
	if err != nil {
		t.Fatal(err)
	}
	const total, burst = 20000, 500
	written := make(map[string]bool, total)
	writerDone := make(chan error, 1)
	var wmu sync.Mutex
	go func() {
		defer sp.Close()
		for i := 0; i < total; i += burst {
			for _, e := range makeEvents(burst) {
				if err := sp.Write(&e); err != nil {
					writerDone <- err
					return
				}
				wmu.Lock()
				written[e.ID] = true
				wmu.Unlock()
			}
			time.Sleep(50 * time.Millisecond) // pacing, so the kills land mid-burst
		}
		writerDone <- nil
	}()

	var logs testenv.Buffer
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "agent", "--dir", dir, "--socket", filepath.Join(dir, "agent.sock"), "--driver", "host",
			"--host-id", "h1", "--nats-url", s.ClientURL(), "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := start()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", logs.String())
		}
	})
	for _, after := range []uint64{3000, 9000} {
		testenv.Eventually(t, 60*time.Second, "the agent to ship part of the burst", func() bool { return streamMsgs(t, js) >= after })
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		wmu.Lock()
		t.Logf("SIGKILL with %d events written, %d stored", len(written), streamMsgs(t, js))
		wmu.Unlock()
		_ = cmd.Wait()
		cmd = start()
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "every written event in the stream", func() bool { return streamMsgs(t, js) >= total })

	c := newCollector()
	runConsumer(t, js, "check", c.handle)
	testenv.Eventually(t, 30*time.Second, "reading the stream back", func() bool { n, _ := c.counts(); return n >= total })
	settle(c)
	if got := streamMsgs(t, js); got != total {
		t.Errorf("stream holds %d messages, want %d", got, total)
	}
	n, unique := c.counts()
	if n != total || unique != total {
		t.Fatalf("stream has %d events (%d unique), want the %d written, once each", n, unique, total)
	}
	wmu.Lock()
	defer wmu.Unlock()
	for id := range written {
		if c.ids[id] != 1 {
			t.Fatalf("written event %s is in the stream %d times", id, c.ids[id])
		}
	}
}
