package output

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Outputs that the API can point anywhere would let an operator account
// (or a stolen session) make the master POST to its own loopback
// services, a cloud metadata address or the management LAN. Targets are
// checked where the connection is made, after name resolution, so a name
// that resolves (or rebinds) to such an address is refused too.

// nonPublic are ranges beyond net/netip's own predicates: shared address
// space (carrier-grade NAT), "this network", and IETF protocol
// assignments.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("192.0.0.0/24"),
}

// privateTarget names why ip is not a public unicast address, or "".
func privateTarget(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast():
		return "a multicast address"
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return "a non-public address"
		}
	}
	return ""
}

// PrivateTargetError is a delivery refused because its address is not
// public and the output does not allow that.
type PrivateTargetError struct {
	Addr string
	Why  string
}

func (e *PrivateTargetError) Error() string {
	return fmt.Sprintf("refusing to deliver to %s: %s (set allow_private on the output to allow it)", e.Addr, e.Why)
}

// publicOnly is a net.Dialer Control that refuses non-public addresses.
func publicOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &PrivateTargetError{Addr: address, Why: "an address that does not parse"}
	}
	if why := privateTarget(ap.Addr()); why != "" {
		return &PrivateTargetError{Addr: address, Why: why}
	}
	return nil
}

// literalPrivateHost tells, for a URL host that names its target without
// resolution (an IP literal or localhost), why it is not public; "" when
// it is public or a name only the dial can judge.
func literalPrivateHost(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "a loopback name"
	}
	ip, err := netip.ParseAddr(strings.Trim(h, "[]"))
	if err != nil {
		return ""
	}
	return privateTarget(ip)
}

// guardedDialer returns a dialer that refuses non-public addresses unless
// allowPrivate.
func guardedDialer(d *net.Dialer, allowPrivate bool) *net.Dialer {
	if !allowPrivate {
		d.Control = publicOnly
	}
	return d
}
