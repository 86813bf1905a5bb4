package plan_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/bait/plan"
	"github.com/decnet/decnet/internal/topology"
)

func demo(seed string) *topology.Spec {
	s := topology.Demo(seed, "10.77.0.0/24")
	for i := range s.Deckies {
		s.Deckies[i].Addresses[0].IP = "10.77.0." + string(rune('2'+i))
	}
	return s
}

// TestDeterministic: the same seed gives the same bait, another seed
// other credentials, and every file's credentials appear in its content.
func TestDeterministic(t *testing.T) {
	a, b, c := plan.For(demo("s1"), "gw-01"), plan.For(demo("s1"), "gw-01"), plan.For(demo("s2"), "gw-01")
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("not deterministic: %d files", len(a))
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("two seeds gave the same bait")
	}
	for _, f := range a {
		for _, cr := range f.Creds {
			if !strings.Contains(string(f.Content), cr.Secret) || !strings.Contains(string(f.Content), cr.Principal) {
				t.Errorf("%s: credential %s not in the file", f.Path, cr.Principal)
			}
		}
	}
	// The history's mysql login names the database decky.
	if h := a[0]; h.Path != "/root/.bash_history" || !strings.Contains(h.Creds[0].Target, "mysql://10.77.0.4") {
		t.Fatalf("history: %s %+v", h.Path, h.Creds)
	}
}

// TestPlaces: by default every place the decky's services serve; an
// operator's list narrows it; none removes all.
func TestPlaces(t *testing.T) {
	s := demo("s1")
	places := func(name string) []string {
		var out []string
		for _, f := range plan.For(s, name) {
			if len(out) == 0 || out[len(out)-1] != f.Place {
				out = append(out, f.Place)
			}
		}
		return out
	}
	for _, tc := range []struct {
		decky string
		bait  []string
		want  []string
	}{
		{"gw-01", nil, []string{"shell"}},
		{"web-01", nil, []string{"ftp"}},
		{"db-01", nil, nil},
		{"gw-01", []string{"none"}, nil},
		{"web-01", []string{"shell", "ftp"}, []string{"ftp"}}, // no shell service: nothing there
	} {
		s.Decky(tc.decky).Bait = tc.bait
		if got := places(tc.decky); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s with bait %v: places %v, want %v", tc.decky, tc.bait, got, tc.want)
		}
		s.Decky(tc.decky).Bait = nil
	}
}
