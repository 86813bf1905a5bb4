package topology

import (
	"errors"
	"fmt"
	"net/netip"
)

// DefaultSubnetBase is where generated LAN subnets are taken from when no
// base is given: 256 /24s in a range that engines, VPNs and home routers
// rarely use.
const DefaultSubnetBase = "10.200.0.0/16"

// ErrExhausted is returned when an allocator has nothing left to give.
var ErrExhausted = errors.New("address space exhausted")

// SubnetAllocator hands out successive /24s of a base network, skipping
// every reserved prefix and everything it already gave.
type SubnetAllocator struct {
	base     netip.Prefix
	next     netip.Addr
	reserved []netip.Prefix
}

// NewSubnetAllocator returns an allocator over base (a /24 or wider IPv4
// network). reserved are subnets in use on the host: other topologies,
// host routes and the engine's networks.
func NewSubnetAllocator(base string, reserved []netip.Prefix) (*SubnetAllocator, error) {
	p, err := netip.ParsePrefix(base)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("subnet base %q is not an IPv4 network in CIDR form", base)
	}
	p = p.Masked()
	if p.Bits() > 24 {
		return nil, fmt.Errorf("subnet base %s is narrower than a /24", p)
	}
	return &SubnetAllocator{base: p, next: p.Addr(), reserved: append([]netip.Prefix(nil), reserved...)}, nil
}

// Reserve marks p as taken.
func (a *SubnetAllocator) Reserve(p netip.Prefix) { a.reserved = append(a.reserved, p.Masked()) }

// Next returns the next free /24.
func (a *SubnetAllocator) Next() (netip.Prefix, error) {
	for a.next.IsValid() && a.base.Contains(a.next) {
		cand := netip.PrefixFrom(a.next, 24)
		a.next = lastAddr(cand).Next()
		if !a.taken(cand) {
			a.reserved = append(a.reserved, cand)
			return cand, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /24 left in %s: %w", a.base, ErrExhausted)
}

func (a *SubnetAllocator) taken(p netip.Prefix) bool {
	for _, r := range a.reserved {
		if r.Overlaps(p) {
			return true
		}
	}
	return false
}

// IPAllocator hands out host addresses of one subnet in order, skipping the
// network, gateway and broadcast addresses and every reserved address.
type IPAllocator struct {
	subnet netip.Prefix
	next   netip.Addr
	used   map[netip.Addr]bool
}

// NewIPAllocator returns an allocator over subnet. The gateway and the
// reserved addresses are never handed out.
func NewIPAllocator(subnet netip.Prefix, gateway netip.Addr, reserved ...netip.Addr) *IPAllocator {
	subnet = subnet.Masked()
	a := &IPAllocator{subnet: subnet, next: subnet.Addr().Next(), used: map[netip.Addr]bool{
		subnet.Addr(): true, lastAddr(subnet): true, gateway: true,
	}}
	for _, r := range reserved {
		a.used[r] = true
	}
	return a
}

// Reserve takes a specific address. It fails when the address is outside
// the subnet or already taken.
func (a *IPAllocator) Reserve(ip netip.Addr) error {
	if !a.subnet.Contains(ip) {
		return fmt.Errorf("address %s is outside %s", ip, a.subnet)
	}
	if a.used[ip] {
		return fmt.Errorf("address %s is already taken or reserved", ip)
	}
	a.used[ip] = true
	return nil
}

// Next returns the lowest free address after the previous one, wrapping
// once to find addresses freed below the cursor.
func (a *IPAllocator) Next() (netip.Addr, error) {
	for pass := 0; pass < 2; pass++ {
		for ip := a.next; ip.IsValid() && a.subnet.Contains(ip); ip = ip.Next() {
			if !a.used[ip] {
				a.used[ip] = true
				a.next = ip.Next()
				return ip, nil
			}
		}
		a.next = a.subnet.Addr()
	}
	return netip.Addr{}, fmt.Errorf("no free address left in %s: %w", a.subnet, ErrExhausted)
}

// Allocate fills in what the spec leaves empty: a /24 for every LAN without
// a subnet (from base, skipping reserved and the spec's own subnets), the
// gateway of every LAN, and an address for every decky address without an
// IP. Allocations are written into the spec, so they are made once and
// never recomputed on read. Malformed values are left for Validate to
// report.
func Allocate(s *Spec, base string, reserved []netip.Prefix) error {
	var subnets *SubnetAllocator
	own := []netip.Prefix{}
	for _, l := range s.LANs {
		if p, err := netip.ParsePrefix(l.Subnet); err == nil {
			own = append(own, p)
		}
	}
	for i := range s.LANs {
		l := &s.LANs[i]
		if l.Subnet != "" {
			continue
		}
		if subnets == nil {
			if base == "" {
				base = DefaultSubnetBase
			}
			var err error
			if subnets, err = NewSubnetAllocator(base, append(own, reserved...)); err != nil {
				return err
			}
		}
		p, err := subnets.Next()
		if err != nil {
			return fmt.Errorf("allocate subnet for LAN %s: %w", l.Name, err)
		}
		l.Subnet = p.String()
	}
	ips := map[string]*IPAllocator{}
	for i := range s.LANs {
		l := &s.LANs[i]
		p, err := netip.ParsePrefix(l.Subnet)
		if err != nil {
			continue
		}
		if l.Gateway == "" {
			l.Gateway = DefaultGateway(p).String()
		}
		gw, err := netip.ParseAddr(l.Gateway)
		if err != nil {
			continue
		}
		ips[l.Name] = NewIPAllocator(p, gw)
	}
	// Explicit addresses first, so that filling gaps never takes one.
	for _, d := range s.Deckies {
		for _, a := range d.Addresses {
			if ip, err := netip.ParseAddr(a.IP); err == nil && ips[a.LAN] != nil {
				_ = ips[a.LAN].Reserve(ip) // collisions are Validate's to report
			}
		}
	}
	for i := range s.Deckies {
		d := &s.Deckies[i]
		for j := range d.Addresses {
			a := &d.Addresses[j]
			if a.IP != "" || ips[a.LAN] == nil {
				continue
			}
			ip, err := ips[a.LAN].Next()
			if err != nil {
				return fmt.Errorf("allocate address for decky %s on LAN %s: %w", d.Name, a.LAN, err)
			}
			a.IP = ip.String()
		}
	}
	return nil
}
