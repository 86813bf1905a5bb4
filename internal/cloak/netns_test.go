package cloak

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/testenv"
	"golang.org/x/sys/unix"
)

// lab is a decky reduced to what nmap -O sees: a network namespace with
// the family's sysctls (as the Docker driver sets them), listeners on a few
// ports, and the cloak; and a scanner namespace joined to it by a veth
// pair (nmap -O does not work against loopback).
type lab struct {
	decky, scanner string // namespace names
	veth           string // the decky's end; the scanner's ends in "b" instead of "a"
	deckyIP        string
	ip             string // path of ip(8)
}

var labSeq atomic.Uint32

func newLab(t testing.TB, fam persona.Family, ports ...int) *lab {
	t.Helper()
	testenv.RequireRoot(t)
	ip := testenv.RequireTool(t, "ip")
	n := labSeq.Add(1)
	id := testenv.RunID()
	l := &lab{decky: "dnck-d-" + id + fmt.Sprint(n), scanner: "dnck-s-" + id + fmt.Sprint(n), ip: ip,
		deckyIP: fmt.Sprintf("10.77.%d.2", n)}
	veth := "dnck" + id[:4] + fmt.Sprint(n)
	l.veth = veth + "a"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", l.decky)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", l.decky).Run() })
	run("netns", "add", l.scanner)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", l.scanner).Run() })
	run("link", "add", veth+"a", "netns", l.decky, "type", "veth", "peer", "name", veth+"b", "netns", l.scanner)
	run("-n", l.decky, "addr", "add", l.deckyIP+"/24", "dev", veth+"a")
	run("-n", l.scanner, "addr", "add", fmt.Sprintf("10.77.%d.1/24", n), "dev", veth+"b")
	for _, ns := range []string{l.decky, l.scanner} {
		run("-n", ns, "link", "set", "lo", "up")
	}
	run("-n", l.decky, "link", "set", veth+"a", "up")
	run("-n", l.scanner, "link", "set", veth+"b", "up")
	l.exec(t, func() {
		for k, v := range fam.SysctlMap() {
			p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				t.Errorf("sysctl %s=%s: %v", k, v, err)
			}
		}
	})
	for _, p := range ports {
		l.listen(t, p, func(net.Conn) {})
	}
	return l
}

// exec runs fn on a thread inside the decky's namespace; sockets it opens
// stay there.
func (l *lab) exec(t testing.TB, fn func()) { inNS(t, l.decky, fn) }

// inScannerNS runs fn on a thread inside the scanner's namespace.
func (l *lab) inScannerNS(t testing.TB, fn func()) { inNS(t, l.scanner, fn) }

func inNS(t testing.TB, name string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open("/run/netns/" + name)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			t.Error(err)
			return
		}
		fn()
	}()
	<-done
}

// listen opens a listener on port in the decky's namespace and calls
// serve for every connection.
func (l *lab) listen(t testing.TB, port int, serve func(net.Conn)) {
	t.Helper()
	var ln net.Listener
	l.exec(t, func() {
		var err error
		if ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port)); err != nil {
			t.Error(err)
		}
	})
	if ln == nil {
		t.FailNow()
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
}

// shape limits both ends of the veth pair to rate (a tc rate, "1gbit").
func (l *lab) shape(t testing.TB, rate string) {
	t.Helper()
	tc := testenv.RequireTool(t, "tc")
	for _, end := range [][2]string{{l.decky, l.veth}, {l.scanner, strings.TrimSuffix(l.veth, "a") + "b"}} {
		if out, err := exec.Command(l.ip, "netns", "exec", end[0], tc, "qdisc", "add", "dev", end[1], "root",
			"tbf", "rate", rate, "burst", burstFor(rate), "latency", "20ms").CombinedOutput(); err != nil {
			t.Fatalf("tc: %v %s", err, out)
		}
	}
}

// burstFor is a token bucket's burst for a rate: a tenth of a millisecond's
// worth at least, so that the bucket, not its refills, sets the speed.
func burstFor(rate string) string {
	if rate == "10gbit" {
		return "2mb"
	}
	return "256kb"
}

func (l *lab) netns() string { return "/run/netns/" + l.decky }

// inScanner runs a command in the scanner's namespace.
func (l *lab) inScanner(name string, args ...string) *exec.Cmd {
	return exec.Command(l.ip, append([]string{"netns", "exec", l.scanner, name}, args...)...)
}
