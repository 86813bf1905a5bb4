package topology

import (
	"reflect"
	"strings"
	"testing"
)

func TestHashIgnoresBookkeeping(t *testing.T) {
	base := validSpec().Hash()
	cases := map[string]func(s *Spec){
		"status": func(s *Spec) { s.Status = &Status{State: "active"} },
		"timestamps": func(s *Spec) {
			s.Status = &Status{CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: "2026-11-27T10:00:00Z"}
		},
		"errors":         func(s *Spec) { s.Status = &Status{LastError: "engine unreachable"} },
		"resync flag":    func(s *Spec) { s.Status = &Status{NeedsResync: true} },
		"counters":       func(s *Spec) { s.Status = &Status{Counters: map[string]int{"events": 12}} },
		"lan position":   func(s *Spec) { s.LANs[0].UI = &Position{X: 10, Y: 20} },
		"decky position": func(s *Spec) { s.Deckies[1].UI = &Position{X: -3.5, Y: 99} },
		"decky order":    func(s *Spec) { s.Deckies[0], s.Deckies[1] = s.Deckies[1], s.Deckies[0] },
		"lan order":      func(s *Spec) { s.LANs[0], s.LANs[1] = s.LANs[1], s.LANs[0] },
		"service order":  func(s *Spec) { s.Deckies[0].Services = []string{"ftp", "http"} },
		"empty settings": func(s *Spec) { s.Deckies[1].ServiceConfig = map[string]map[string]any{"smb": {}} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := validSpec()
			mutate(s)
			if got := s.Hash(); got != base {
				t.Fatalf("hash changed: %s -> %s", base, got)
			}
		})
	}
}

func TestHashFollowsSemantics(t *testing.T) {
	base := validSpec().Hash()
	cases := map[string]func(s *Spec){
		"nested setting":     func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["extra_headers"].(map[string]any)["X-A"] = "c" },
		"new nested key":     func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["extra_headers"].(map[string]any)["X-B"] = "b" },
		"setting int":        func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["response_code"] = int64(404) },
		"new setting":        func(s *Spec) { s.Deckies[1].ServiceConfig = map[string]map[string]any{"rdp": {"nla": false}} },
		"ip":                 func(s *Spec) { s.Deckies[1].Addresses[0].IP = "10.91.1.12" },
		"address order":      func(s *Spec) { a := s.Deckies[0].Addresses; a[0], a[1] = a[1], a[0] },
		"persona os":         func(s *Spec) { s.Deckies[0].Persona.OS = "bsd" },
		"persona distro":     func(s *Spec) { s.Deckies[0].Persona.Distro = "ubuntu22" },
		"persona hostname":   func(s *Spec) { s.Deckies[0].Persona.Hostname = "SRV-WEB-43" },
		"persona archetype":  func(s *Spec) { s.Deckies[0].Persona.Archetype = "linux-server" },
		"seed":               func(s *Spec) { s.Seed = "ffeeddccbbaa99887766554433221100" },
		"name":               func(s *Spec) { s.Name = "lab2" },
		"host":               func(s *Spec) { s.Host = "sensor-2" },
		"subnet":             func(s *Spec) { s.LANs[1].Subnet = "10.91.2.0/24" },
		"gateway":            func(s *Spec) { s.LANs[1].Gateway = "10.91.1.254" },
		"driver":             func(s *Spec) { s.LANs[0].Driver = Macvlan; s.LANs[0].Parent = "eth0" },
		"dmz flag":           func(s *Spec) { s.LANs[1].DMZ = true },
		"forwards_l3":        func(s *Spec) { s.Deckies[0].ForwardsL3 = false },
		"services":           func(s *Spec) { s.Deckies[1].Services = []string{"smb", "rdp"} },
		"force":              func(s *Spec) { s.Deckies[1].Force = true },
		"custom service":     func(s *Spec) { s.Custom = []CustomService{{Name: "app", Image: "a:1"}} },
		"decky name":         func(s *Spec) { s.Deckies[1].Name = "dc2" },
		"setting deep list":  func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["http_versions"] = []any{"http/1.1"} },
		"setting bool false": func(s *Spec) { s.Deckies[1].ServiceConfig = map[string]map[string]any{"rdp": {"nla": true}} },
	}
	seen := map[string]string{}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := validSpec()
			mutate(s)
			got := s.Hash()
			if got == base {
				t.Fatalf("hash did not change")
			}
			if other, dup := seen[got]; dup {
				t.Fatalf("same hash as %q", other)
			}
			seen[got] = name
		})
	}
}

// TestHashCoversEveryField walks the spec types by reflection: a field
// that is not tagged hash:"-" must change the hash when set, and one that
// is tagged must not. A field added to the spec without thought fails here.
func TestHashCoversEveryField(t *testing.T) {
	var walk func(path string, typ reflect.Type, get func(s *Spec) reflect.Value)
	walk = func(path string, typ reflect.Type, get func(s *Spec) reflect.Value) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			fpath := path + "." + f.Name
			excluded := f.Tag.Get("hash") == "-"
			field := func(s *Spec) reflect.Value { return get(s).Field(i) }
			t.Run(strings.TrimPrefix(fpath, "."), func(t *testing.T) {
				s := validSpec()
				get(s) // a getter may build what it reaches (a decky's Live)
				before := s.Hash()
				setNonZero(t, field(s))
				changed := s.Hash() != before
				if excluded && changed {
					t.Errorf("hash:\"-\" field changes the hash")
				}
				if !excluded && !changed {
					t.Errorf("semantic field does not change the hash")
				}
			})
			if !excluded && f.Type.Kind() == reflect.Struct {
				walk(fpath, f.Type, field)
			}
		}
	}
	walk("", reflect.TypeOf(Spec{}), func(s *Spec) reflect.Value { return reflect.ValueOf(s).Elem() })
	walk(".LANs[0]", reflect.TypeOf(LAN{}), func(s *Spec) reflect.Value { return reflect.ValueOf(&s.LANs[0]).Elem() })
	walk(".Deckies[0]", reflect.TypeOf(Decky{}), func(s *Spec) reflect.Value { return reflect.ValueOf(&s.Deckies[0]).Elem() })
	live := func(s *Spec) *Live {
		if s.Deckies[0].Live != nil {
			return s.Deckies[0].Live
		}
		s.Deckies[0].Live = &Live{Tarpits: []Tarpit{{Port: 22}}, Files: []Drop{{Path: "/a", Data: "eA==", Places: []string{"shell"}}}}
		return s.Deckies[0].Live
	}
	walk(".Deckies[0].Live.Tarpits[0]", reflect.TypeOf(Tarpit{}), func(s *Spec) reflect.Value { return reflect.ValueOf(&live(s).Tarpits[0]).Elem() })
	walk(".Deckies[0].Live.Files[0]", reflect.TypeOf(Drop{}), func(s *Spec) reflect.Value { return reflect.ValueOf(&live(s).Files[0]).Elem() })
}

// setNonZero changes v to a different, non-zero value of its type.
func setNonZero(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Uint16, reflect.Uint32:
		v.SetUint(v.Uint() + 1)
	case reflect.Int:
		v.SetInt(v.Int() + 1)
	case reflect.Pointer:
		n := reflect.New(v.Type().Elem())
		if n.Elem().Kind() == reflect.Struct {
			setNonZero(t, n.Elem().Field(0))
		}
		v.Set(n)
	case reflect.Slice:
		n := reflect.MakeSlice(v.Type(), 1, 1)
		if n.Index(0).Kind() == reflect.Struct {
			setNonZero(t, n.Index(0).Field(0))
		} else {
			setNonZero(t, n.Index(0))
		}
		v.Set(reflect.AppendSlice(v, n))
	case reflect.Map:
		n := reflect.MakeMap(v.Type())
		if v.Type().Elem().Kind() == reflect.Map {
			inner := reflect.MakeMap(v.Type().Elem())
			inner.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf(any("v")))
			n.SetMapIndex(reflect.ValueOf("zz"), inner)
		} else {
			n.SetMapIndex(reflect.ValueOf("zz"), reflect.New(v.Type().Elem()).Elem())
		}
		v.Set(n)
	case reflect.Struct:
		setNonZero(t, v.Field(0))
	default:
		t.Fatalf("setNonZero: unhandled kind %s", v.Kind())
	}
}

func TestHashSameForYAMLAndJSON(t *testing.T) {
	s := validSpec()
	y, err := s.YAML()
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	fromY, err := DecodeBytes(y)
	if err != nil {
		t.Fatal(err)
	}
	fromJ, err := DecodeBytes(j)
	if err != nil {
		t.Fatal(err)
	}
	if fromY.Hash() != s.Hash() || fromJ.Hash() != s.Hash() {
		t.Fatalf("hash differs across formats: go %s yaml %s json %s", s.Hash(), fromY.Hash(), fromJ.Hash())
	}
}

func TestCanonicalIsCompactAndStable(t *testing.T) {
	c := string(validSpec().Canonical())
	if strings.ContainsAny(c, "\n ") && !strings.Contains(c, "SRV-WEB-42") {
		t.Fatalf("canonical form has whitespace: %s", c)
	}
	if c != string(validSpec().Canonical()) {
		t.Fatal("canonical form is not deterministic")
	}
	if strings.Contains(c, `"ui"`) || strings.Contains(c, `"status"`) {
		t.Fatalf("canonical form carries bookkeeping: %s", c)
	}
}
