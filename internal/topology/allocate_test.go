package topology

import (
	"errors"
	"net/netip"
	"testing"
)

func TestSubnetAllocatorSkipsReserved(t *testing.T) {
	a, err := NewSubnetAllocator("10.50.0.0/22", []netip.Prefix{
		netip.MustParsePrefix("10.50.0.0/24"),   // another topology
		netip.MustParsePrefix("10.50.2.128/25"), // a host route inside a /24
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		p, err := a.Next()
		if errors.Is(err, ErrExhausted) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.String())
	}
	want := []string{"10.50.1.0/24", "10.50.3.0/24"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSubnetAllocatorRejectsBadBase(t *testing.T) {
	for _, base := range []string{"10.0.0.0/25", "nonsense", "fd00::/64"} {
		if _, err := NewSubnetAllocator(base, nil); err == nil {
			t.Errorf("base %s accepted", base)
		}
	}
}

func TestIPAllocator(t *testing.T) {
	p := netip.MustParsePrefix("10.9.9.0/29") // .0 network, .1 gateway, .7 broadcast
	a := NewIPAllocator(p, netip.MustParseAddr("10.9.9.1"), netip.MustParseAddr("10.9.9.3"))
	if err := a.Reserve(netip.MustParseAddr("10.9.9.5")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.9.9.1", "10.9.9.7", "10.9.9.0", "10.9.9.5", "10.9.8.2"} {
		if err := a.Reserve(netip.MustParseAddr(bad)); err == nil {
			t.Errorf("reserve %s accepted", bad)
		}
	}
	var got []string
	for {
		ip, err := a.Next()
		if err != nil {
			if !errors.Is(err, ErrExhausted) {
				t.Fatal(err)
			}
			break
		}
		got = append(got, ip.String())
	}
	want := []string{"10.9.9.2", "10.9.9.4", "10.9.9.6"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestAllocateWritesIntoSpecOnce(t *testing.T) {
	s := &Spec{Name: "x", Seed: "s", LANs: []LAN{{Name: "dmz", DMZ: true}, {Name: "b", Subnet: "10.200.0.0/24"}},
		Deckies: []Decky{
			{Name: "a", Addresses: []Address{{LAN: "dmz"}, {LAN: "b", IP: "10.200.0.2"}}},
			{Name: "c", Addresses: []Address{{LAN: "b"}}},
		}}
	if err := Allocate(s, "", nil); err != nil {
		t.Fatal(err)
	}
	// The DMZ skipped 10.200.0.0/24, which LAN b already holds.
	if s.LANs[0].Subnet != "10.200.1.0/24" || s.LANs[0].Gateway != "10.200.1.1" {
		t.Fatalf("dmz got %s gw %s", s.LANs[0].Subnet, s.LANs[0].Gateway)
	}
	if got := s.Deckies[0].Addresses[0].IP; got != "10.200.1.2" {
		t.Errorf("a on dmz got %s", got)
	}
	if got := s.Deckies[1].Addresses[0].IP; got != "10.200.0.3" {
		t.Errorf("c on b got %s (10.200.0.2 is explicit)", got)
	}
	before := s.Hash()
	if err := Allocate(s, "", nil); err != nil {
		t.Fatal(err)
	}
	if s.Hash() != before {
		t.Fatal("a second Allocate changed allocations")
	}
}
