package persona

import (
	"strings"
	"testing"
	"time"
)

// One topology is one domain; each decky has its own name, GUID and
// version; Linux is a standalone Samba; another topology is elsewhere.
func TestWindowsIdentity(t *testing.T) {
	now := time.Now()
	srv, _ := LookupDistro("win2019")
	ws, _ := LookupDistro("win11")
	deb, _ := LookupDistro("debian")
	a := NewIdentity("seed-1", "dc01").Windows(srv, "WIN-ABCDEFGHIJK", now)
	b := NewIdentity("seed-1", "pc07").Windows(ws, "DESKTOP-7QK2M4X", now)
	if a.DNSDomain == "" || a.DNSDomain != b.DNSDomain || a.NetBIOSDomain != b.NetBIOSDomain || a.DomainSID != b.DomainSID {
		t.Fatalf("one topology, two domains: %+v %+v", a, b)
	}
	if a.ServerGUID == b.ServerGUID || a.Build != 17763 || b.Build != 22631 || a.Major != 10 {
		t.Fatalf("deckies alike: %+v %+v", a, b)
	}
	if a.DNSName != "win-abcdefghijk."+a.DNSDomain || a.NetBIOSName != "WIN-ABCDEFGHIJK" {
		t.Fatalf("names %q %q", a.DNSName, a.NetBIOSName)
	}
	if again := NewIdentity("seed-1", "dc01").Windows(srv, "WIN-ABCDEFGHIJK", now); again != a {
		t.Fatal("not deterministic")
	}
	s := NewIdentity("seed-1", "files").Windows(deb, "files-01", now)
	if s.NetBIOSDomain != "WORKGROUP" || s.DNSDomain != "" || s.NetBIOSName != "FILES-01" || s.Build != 0 {
		t.Fatalf("samba identity %+v", s)
	}
	other := 0
	for i := range 20 {
		if NewIdentity("seed-"+strings.Repeat("x", i+2), "dc01").Windows(srv, "W", now).DNSDomain != a.DNSDomain {
			other++
		}
	}
	if other < 10 {
		t.Fatalf("the domain hardly depends on the seed (%d of 20 differ)", other)
	}
	if g := a.GUIDString(); len(g) != 36 || g[14] != '4' {
		t.Fatalf("GUID %s", g)
	}
}
