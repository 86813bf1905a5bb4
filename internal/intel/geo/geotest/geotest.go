// Package geotest writes small MaxMind-format databases for tests, in the
// layout of GeoLite2-City and GeoLite2-ASN.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// City is one network of a city database.
type City struct {
	Network              string // CIDR
	Country, CountryName string
	City                 string
}

// ASN is one network of an ASN database.
type ASN struct {
	Network string // CIDR
	Number  uint32
	Org     string
}

// WriteCity writes a GeoLite2-City database of the networks to path
// (atomically: a rename, as a database updater does).
func WriteCity(t testing.TB, path string, nets ...City) {
	t.Helper()
	tree := newTree(t, "GeoLite2-City")
	for _, n := range nets {
		rec := mmdbtype.Map{
			"country": mmdbtype.Map{"iso_code": mmdbtype.String(n.Country),
				"names": mmdbtype.Map{"en": mmdbtype.String(n.CountryName)}},
		}
		if n.City != "" {
			rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(n.City)}}
		}
		insert(t, tree, n.Network, rec)
	}
	write(t, tree, path)
}

// WriteASN writes a GeoLite2-ASN database of the networks to path.
func WriteASN(t testing.TB, path string, nets ...ASN) {
	t.Helper()
	tree := newTree(t, "GeoLite2-ASN")
	for _, n := range nets {
		insert(t, tree, n.Network, mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(n.Number),
			"autonomous_system_organization": mmdbtype.String(n.Org),
		})
	}
	write(t, tree, path)
}

func newTree(t testing.TB, dbType string) *mmdbwriter.Tree {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 24, IPVersion: 6,
		IncludeReservedNetworks: true, Languages: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func insert(t testing.TB, tree *mmdbwriter.Tree, cidr string, rec mmdbtype.Map) {
	t.Helper()
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Insert(n, rec); err != nil {
		t.Fatalf("insert %s: %v", cidr, err)
	}
}

func write(t testing.TB, tree *mmdbwriter.Tree, path string) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mmdb-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(tmp); err != nil {
		tmp.Close()
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}
