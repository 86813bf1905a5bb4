package testenv

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"
)

// FreePort returns a port free for both TCP and UDP on addr: a reference
// daemon started on it, or a service moved to it, can take either. It is
// picked below the kernel's ephemeral range (32768 and up by default), so
// no client socket of another test takes it between now and its use.
func FreePort(t testing.TB, addr netip.Addr) uint16 {
	t.Helper()
	for range 200 {
		p := uint16(20000 + rand.IntN(12000))
		l, err := net.Listen("tcp", netip.AddrPortFrom(addr, p).String())
		if err != nil {
			continue
		}
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

// Converse dials addr, sends in and returns what the server sends until it
// closes (closed is true) or stays quiet for quiet (or resets, closed is
// false): the raw exchange a differential test compares between a decky
// and the real daemon.
func Converse(t testing.TB, addr string, in []byte, quiet time.Duration) (out []byte, closed bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(in); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		_ = c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			return out, false
		}
	}
}
