package topology

import "net/netip"

// DefaultGateway is the gateway of a LAN that names none: its first host
// address, which engines give their bridge.
func DefaultGateway(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// GatewayAddr returns the LAN's gateway address: the one it names, or the default.
func (l *LAN) GatewayAddr() (netip.Addr, bool) {
	if l.Gateway != "" {
		a, err := netip.ParseAddr(l.Gateway)
		return a, err == nil
	}
	p, err := netip.ParsePrefix(l.Subnet)
	if err != nil {
		return netip.Addr{}, false
	}
	return DefaultGateway(p), true
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
