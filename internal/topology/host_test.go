package topology

import "testing"

// A host-driver agent can build only bridge LANs on networks it has; a
// Docker agent any LAN driver anywhere.
func TestCheckHost(t *testing.T) {
	hostDriver := HostCapabilities{Driver: "host", LANDrivers: []Driver{Bridge}, LocalSubnets: []string{"127.0.0.0/8", "192.168.1.0/24"}}
	docker := HostCapabilities{Driver: "docker", LANDrivers: []Driver{Bridge, Macvlan, IPvlan}}
	s := validSpec()
	if rep := CheckHost(s, docker); rep.Err() != nil {
		t.Fatalf("docker: %v", rep.Issues)
	}
	rep := CheckHost(s, hostDriver)
	if !rep.Has(HostSubnetNotLocal) {
		t.Fatalf("host driver with %s: %v", s.LANs[0].Subnet, rep.Issues)
	}
	for i := range s.LANs {
		s.LANs[i].Subnet = "127.9." + string(rune('1'+i)) + ".0/24"
	}
	s.LANs[0].Driver, s.LANs[0].Parent = Macvlan, "eth0"
	rep = CheckHost(s, hostDriver)
	if !rep.Has(HostLANDriver) || rep.Has(HostSubnetNotLocal) {
		t.Fatalf("host driver with a macvlan loopback LAN: %v", rep.Issues)
	}
}
