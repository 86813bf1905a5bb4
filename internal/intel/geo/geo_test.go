package geo_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/intel/geo"
	"github.com/decnet/decnet/internal/intel/geo/geotest"
	"github.com/decnet/decnet/internal/testenv"
)

var paris = geotest.City{Network: "203.0.113.0/24", Country: "FR", CountryName: "France", City: "Paris"}

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	geotest.WriteCity(t, city, paris, geotest.City{Network: "2001:db8::/32", Country: "JP", CountryName: "Japan"})
	geotest.WriteASN(t, asn, geotest.ASN{Network: "203.0.113.0/24", Number: 64500, Org: "Example Net"})
	d := geo.New(geo.Options{City: city, ASN: asn, Log: testenv.Logger(t, 0)})
	if d.Loaded() {
		t.Fatal("New loaded the databases")
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip   string
		want geo.Info
		ok   bool
	}{
		{"203.0.113.9", geo.Info{Country: "FR", CountryName: "France", City: "Paris", ASN: 64500, ASOrg: "Example Net"}, true},
		{"::ffff:203.0.113.9", geo.Info{Country: "FR", CountryName: "France", City: "Paris", ASN: 64500, ASOrg: "Example Net"}, true},
		{"2001:db8::1", geo.Info{Country: "JP", CountryName: "Japan"}, true},
		{"198.51.100.1", geo.Info{}, false},
	} {
		got, ok := d.Lookup(netip.MustParseAddr(tc.ip))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v, %v", tc.ip, got, ok, tc.want, tc.ok)
		}
	}
}

// Absent databases are no enrichment, not an error; a database that
// appears, changes or goes is picked up by the next reload.
func TestReloadFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	city := filepath.Join(dir, "GeoLite2-City.mmdb")
	d := geo.New(geo.Options{City: city, ASN: filepath.Join(dir, "none.mmdb"), Log: testenv.Logger(t, 0)})
	if err := d.Reload(); err != nil {
		t.Fatalf("absent databases: %v", err)
	}
	ip := netip.MustParseAddr("203.0.113.9")
	if _, ok := d.Lookup(ip); ok || d.Loaded() {
		t.Fatal("an answer without a database")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, 10*time.Millisecond) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	wait := func(what string, cond func(geo.Info, bool) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if info, ok := d.Lookup(ip); cond(info, ok) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the reload never saw %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	gen := d.Generation()
	geotest.WriteCity(t, city, paris)
	wait("the new database", func(i geo.Info, ok bool) bool { return ok && i.City == "Paris" })
	geotest.WriteCity(t, city, geotest.City{Network: "203.0.113.0/24", Country: "DE", CountryName: "Germany", City: "Berlin"})
	wait("the replaced database", func(i geo.Info, ok bool) bool { return ok && i.City == "Berlin" })
	if d.Generation() == gen {
		t.Error("the generation did not move")
	}
	// A corrupt file keeps the last good version.
	if err := os.WriteFile(city, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(); err == nil {
		t.Error("a corrupt database loaded without error")
	}
	if i, ok := d.Lookup(ip); !ok || i.City != "Berlin" {
		t.Errorf("after a corrupt file: %+v, %v; want the last good database", i, ok)
	}
	if err := os.Remove(city); err != nil {
		t.Fatal(err)
	}
	wait("the removal", func(_ geo.Info, ok bool) bool { return !ok })
}

func TestWrongKindRefused(t *testing.T) {
	dir := t.TempDir()
	asn := filepath.Join(dir, "asn.mmdb")
	geotest.WriteASN(t, asn, geotest.ASN{Network: "203.0.113.0/24", Number: 64500})
	d := geo.New(geo.Options{City: asn})
	if err := d.Reload(); err == nil || d.Loaded() {
		t.Fatalf("an ASN database loaded as the city database: %v", err)
	}
}
