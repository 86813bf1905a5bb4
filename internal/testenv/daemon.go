package testenv

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"
)

// FreePort returns a port free for both TCP and UDP on addr: a reference
// daemon started on it, or a service moved to it, can take either.
func FreePort(t testing.TB, addr netip.Addr) uint16 {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		if err != nil {
			t.Fatalf("find a free port on %s: %v", addr, err)
		}
		p := uint16(l.Addr().(*net.TCPAddr).Port)
		u, err := net.ListenPacket("udp", netip.AddrPortFrom(addr, p).String())
		l.Close()
		if err == nil {
			u.Close()
			return p
		}
	}
	t.Fatalf("no port free for TCP and UDP on %s", addr)
	return 0
}

// StartDaemon starts a reference daemon (the real product a decky is
// compared with) in the foreground, waits until ready says it serves, and
// kills it when the test ends. Its output is in the returned buffer and
// in the failure when it never becomes ready or exits first.
func StartDaemon(t testing.TB, what string, cmd *exec.Cmd, ready func() bool) *Buffer {
	t.Helper()
	var log Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for !ready() {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited at start (%v):\n%s", what, err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 20s:\n%s", what, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &log
}

// Dialable is a StartDaemon ready check: addr accepts TCP connections.
func Dialable(addr string) func() bool {
	return func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
}

// String lets a Buffer print in a failure.
var _ fmt.Stringer = (*Buffer)(nil)
