package testenv

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// inNetnsEnv marks a test binary re-executed inside a namespace.
const inNetnsEnv = "DECNET_TEST_IN_NETNS"

// InMulticastNetns runs the test t (its full name, subtests included) again
// in a network namespace of its own whose loopback carries multicast
// (224.0.0.0/4 routed to lo), and reports whether the caller is that
// re-executed copy. The outer call returns false once the copy has
// passed (its output logged) and fails t when it failed; the caller then
// returns. Needs root and ip(8): skipped without them, as the other
// network tests are. The namespace is removed when t ends.
func InMulticastNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(inNetnsEnv) == "1" {
		return true
	}
	RequireRoot(t)
	ip := RequireTool(t, "ip")
	ns := "decnet-mc-" + RunID()
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"link", "set", "lo", "multicast", "on"}, {"route", "add", "224.0.0.0/4", "dev", "lo"}} {
		if out, err := exec.Command(ip, append([]string{"netns", "exec", ns, ip}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	cmd := exec.Command(ip, "netns", "exec", ns, os.Args[0], "-test.run=^"+runPattern(t.Name())+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in the namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the test in the namespace failed: %v", err)
	}
	return false
}

// runPattern turns a test name into a -test.run pattern matching exactly
// it: each level anchored.
func runPattern(name string) string {
	out := ""
	for _, c := range name {
		switch {
		case c == '/':
			out += "$/^"
		case c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			out += string(c)
		default:
			out += "."
		}
	}
	return out
}

// AnswerGroup listens on an IPv4 multicast group and port as
// ListenGroupOnLoopback does, and answers every datagram for which answer
// returns a reply, unicast from the address from (a poisoner answering
// from its own address). It stops when t ends.
func AnswerGroup(t testing.TB, group [4]byte, port int, from netip.Addr, answer func(q []byte) ([]byte, bool)) {
	t.Helper()
	mc := ListenGroupOnLoopback(t, group, port)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, to, err := mc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			resp, ok := answer(buf[:n])
			if !ok {
				continue
			}
			if out, err := net.DialUDP("udp4", &net.UDPAddr{IP: from.AsSlice()}, to); err == nil {
				out.Write(resp)
				out.Close()
			}
		}
	}()
}

// ListenGroupOnLoopback listens on an IPv4 multicast group and port, joined
// on lo and bound to the group's own address (so a unicast listener of the
// same port elsewhere is not taken), as a poisoner on the LAN listens in
// a namespace of InMulticastNetns. It is closed when t ends.
func ListenGroupOnLoopback(t testing.TB, group [4]byte, port int) *net.UDPConn {
	t.Helper()
	// By hand: Go binds a multicast listener to the wildcard address.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetsockoptIPMreq(fd, syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP,
		&syscall.IPMreq{Multiaddr: group, Interface: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		t.Fatalf("join the group: %v", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: group}); err != nil {
		syscall.Close(fd)
		t.Fatalf("bind the group: %v", err)
	}
	f := os.NewFile(uintptr(fd), "multicast-group")
	pc, err := net.FilePacketConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := pc.(*net.UDPConn)
	t.Cleanup(func() { c.Close() })
	return c
}
