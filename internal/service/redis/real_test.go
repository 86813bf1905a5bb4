package redis_test

import (
	"bytes"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// startRealRedis runs Debian's redis-server with Debian's redis.conf on a
// loopback port (persistence off) and returns its address.
func startRealRedis(t *testing.T, extra ...string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "redis-server")
	dir := t.TempDir()
	lo := netip.MustParseAddr("127.0.0.1")
	port := testenv.FreePort(t, lo)
	addr := netip.AddrPortFrom(lo, port).String()
	args := append([]string{"/etc/redis/redis.conf", "--port", strconv.Itoa(int(port)), "--bind", "127.0.0.1", "--daemonize", "no",
		"--supervised", "no", "--pidfile", "", "--logfile", "", "--dir", dir, "--save", ""}, extra...)
	testenv.StartDaemon(t, "redis-server", exec.Command(bin, args...), testenv.Dialable(addr))
	return addr
}

// converse is the exchange, "<closed>" marking the server's close.
func converse(t *testing.T, addr string, in []byte) []byte {
	out, closed := testenv.Converse(t, addr, in, time.Second)
	if closed {
		out = append(out, "<closed>"...)
	}
	return out
}

// TestAgainstRealRedis sends the same requests to Debian's redis-server
// 7.0 and to a Debian decky and compares the bytes: the introspection
// commands scanners use as tells, bad inline lines, and HTTP requests
// (real Redis closes on "POST" and "Host:" as a cross-protocol attack).
func TestAgainstRealRedis(t *testing.T) {
	real := startRealRedis(t)
	r := servicetest.Start(t, "redis", 6379, servicetest.Options{Distro: "debian"})
	decky := r.HostPort(6379)
	for _, in := range []string{
		"ACL LIST\r\n",
		"ACL WHOAMI\r\n",
		"ACL USERS\r\n",
		"DEBUG OBJECT foo\r\n",
		"SET foo bar\r\nDEBUG OBJECT foo\r\n",
		"MEMORY DOCTOR\r\n",
		"SLOWLOG GET\r\n",
		"SLOWLOG GET 5\r\n",
		"SLOWLOG LEN\r\n",
		"SLOWLOG RESET\r\n",
		"hello world\r\n",
		"foo bar\r\n",
		"\"unbalanced\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\n\r\n",
		"PING\r\nhost: example.com\r\nPING\r\n",
		"*1\r\n$4\r\nPING\r\n*x\r\n",
		"*1\r\n$4\r\nPOST\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n",
		// potsnitch's invalid payloads.
		"INVALID_COMMAND\r\n", "*99\r\n", "\x00\x00\x00\x00",
		// honeydet's OpenCanary Redis signature (beehive's DBSIZE gets an
		// integer, the size differs by dataset).
		"[[,[[\n",
	} {
		want := converse(t, real, []byte(in))
		got := converse(t, decky, []byte(in))
		t.Logf("%q -> %q", in, got)
		if !bytes.Equal(want, got) {
			t.Errorf("%q: decky %q, redis-server %q", in, got, want)
		}
	}
}

// holdPing opens a connection that has been answered (+PONG), so that it
// counts against the limits, retrying while a readiness probe may still
// hold the only slot.
func holdPing(t *testing.T, addr string) net.Conn {
	t.Helper()
	var hold net.Conn
	testenv.Eventually(t, 5*time.Second, "a connection in service", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			c.Close()
			return false
		}
		if n, _ := c.Read(buf); string(buf[:n]) != "+PONG\r\n" {
			c.Close()
			return false
		}
		hold = c
		return true
	})
	t.Cleanup(func() { hold.Close() })
	return hold
}

// TestOverLimitLikeRealRedis: past its limit the decky answers as
// redis-server past maxclients does.
func TestOverLimitLikeRealRedis(t *testing.T) {
	real := startRealRedis(t, "--maxclients", "1")
	r := servicetest.Start(t, "redis", 6379, servicetest.Options{Distro: "debian",
		Limits: serve.Limits{PerSource: 1, Total: 16, Idle: time.Minute, Life: time.Minute}})
	holdPing(t, real)
	holdPing(t, r.HostPort(6379))
	// Nothing sent: unread input would turn the close into a reset,
	// earlier or later by chance.
	want := converse(t, real, nil)
	got := converse(t, r.HostPort(6379), nil)
	t.Logf("over the limit: %q", got)
	if !bytes.Equal(want, got) {
		t.Errorf("over the limit: decky %q, redis-server %q", got, want)
	}
}
