package topology

import (
	"net/netip"
	"testing"
)

func TestGenerateDeterministic(t *testing.T) {
	c := DefaultGenConfig
	c.Seed = 7
	a, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	ya, _ := a.YAML()
	yb, _ := b.YAML()
	if string(ya) != string(yb) || a.Hash() != b.Hash() {
		t.Fatal("same seed, different output")
	}
	c.Seed = 8
	d, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	if d.Hash() == a.Hash() {
		t.Fatal("seed 8 gave the same topology as seed 7")
	}
}

// TestGeneratedTopologiesValidate is the property test: across many seeds
// and shapes, every generated spec validates and hashes deterministically.
func TestGeneratedTopologiesValidate(t *testing.T) {
	shapes := []GenConfig{
		DefaultGenConfig,
		{Name: "deep", Depth: 5, Branching: 2, DeckiesMin: 0, DeckiesMax: 2, BridgeForward: 0.5, CrossEdge: 0.5},
		{Name: "wide", Depth: 1, Branching: 8, DeckiesMin: 3, DeckiesMax: 6, BridgeForward: 0, CrossEdge: 1},
		{Name: "flat", Depth: 0, Branching: 1, DeckiesMin: 1, DeckiesMax: 1},
		{Name: "svc", Depth: 2, Branching: 3, DeckiesMin: 1, DeckiesMax: 3, Services: []string{"ssh", "http", "rdp"}, SubnetBase: "10.60.0.0/16"},
	}
	n := 200
	if testing.Short() {
		n = 20
	}
	for _, shape := range shapes {
		for seed := range uint64(n) {
			shape.Seed = seed
			s, err := Generate(shape)
			if err != nil {
				t.Fatalf("%s seed %d: %v", shape.Name, seed, err)
			}
			if rep := Validate(s, Options{}); rep.Err() != nil {
				t.Fatalf("%s seed %d: %v", shape.Name, seed, rep.Err())
			}
			again, _ := Generate(shape)
			if again.Hash() != s.Hash() {
				t.Fatalf("%s seed %d: hash not deterministic", shape.Name, seed)
			}
		}
	}
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	bad := []GenConfig{
		{Name: "x", Depth: 17, Branching: 1, DeckiesMax: 1},
		{Name: "x", Depth: 1, Branching: 0, DeckiesMax: 1},
		{Name: "x", Depth: 1, Branching: 1, DeckiesMin: 3, DeckiesMax: 2},
		{Name: "x", Depth: 1, Branching: 1, DeckiesMax: 1, BridgeForward: 2},
		{Name: "x y", Depth: 1, Branching: 1, DeckiesMax: 1},
		{Name: "x", Depth: 1, Branching: 1, DeckiesMax: 1, Services: []string{"gopher"}},
		{Name: "x", Depth: 16, Branching: 8, DeckiesMax: 1},
	}
	for i, c := range bad {
		if _, err := Generate(c); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
}

func TestGenerateSkipsReserved(t *testing.T) {
	c := DefaultGenConfig
	c.SubnetBase = "10.70.0.0/16"
	c.Reserved = []netipPrefix{mustPrefix("10.70.0.0/23")}
	s, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.LANs[0].Subnet != "10.70.2.0/24" {
		t.Fatalf("DMZ got %s, want 10.70.2.0/24", s.LANs[0].Subnet)
	}
}

type netipPrefix = netip.Prefix

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestDemoValidates(t *testing.T) {
	s := Demo("seed", "10.222.0.0/24")
	if err := Allocate(s, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := Validate(s, Options{}).Err(); err != nil {
		t.Fatal(err)
	}
	if len(s.Deckies) != 4 || s.Deckies[0].Addresses[0].IP != "10.222.0.2" {
		t.Fatalf("demo %+v", s.Deckies)
	}
}
