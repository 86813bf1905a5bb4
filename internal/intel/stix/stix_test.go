package stix_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/intel/report"
	"github.com/decnet/decnet/internal/intel/stix"
	"github.com/decnet/decnet/internal/intel/stix/stixtest"
	"github.com/decnet/decnet/internal/store"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func sample() *report.Report {
	src := func(ip string) *report.Source {
		return &report.Source{IP: ip, FirstSeen: t0, LastSeen: t0.Add(time.Hour), Events: 12, Deckies: []string{"gw-01"},
			Files:   []report.File{{SHA256: strings.Repeat("ab", 32), Name: "/tmp/x.sh", Size: 42, Type: "ssh.file.upload", Time: t0}},
			URLs:    []report.Seen{{Value: "http://198.51.100.7/bins/x86_64?a='b'", Time: t0}},
			SSHKeys: []report.Seen{{Value: "SHA256:m7RBOA16SMwdKTNBPpRr7CeSSeuKgivS1KGa8XdnBmg", Time: t0}}}
	}
	techs := []store.TechniqueCount{{ID: "T1110.001", Events: 5, FirstSeen: t0, LastSeen: t0.Add(time.Minute)}}
	return &report.Report{Generated: t0.Add(2 * time.Hour), Scope: report.Scope{Identity: "I-0123456789ab"},
		Actors: []*report.Actor{
			{Identity: "I-0123456789ab", Campaign: "C-0123456789ab", Sources: []*report.Source{src("203.0.113.5"), src("2001:db8::5")},
				Techniques: techs, FirstSeen: t0, LastSeen: t0.Add(time.Hour)},
			{Campaign: "C-0123456789ab", Sources: []*report.Source{src("198.51.100.9")}, FirstSeen: t0, LastSeen: t0.Add(time.Hour)},
		},
		Campaigns:  []report.Campaign{{ID: "C-0123456789ab", Actors: []string{"I-0123456789ab", "ip:198.51.100.9"}, FirstSeen: t0, LastSeen: t0.Add(time.Hour)}},
		Techniques: map[string]attack.Technique{"T1110.001": {Name: "Brute Force: Password Guessing", Tactics: []string{"credential-access"}}}}
}

func TestBundleValidates(t *testing.T) {
	b := stix.Build(sample())
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := stixtest.Validate(raw); err != nil {
		t.Fatalf("the bundle does not validate: %v\n%s", err, raw)
	}
	count := map[string]int{}
	for _, o := range b.Objects {
		count[o["type"].(string)]++
	}
	// 3 addresses, each with an address, a file, a URL and a key
	// indicator (the file and URL are one observable each, shared).
	for typ, want := range map[string]int{"identity": 1, "threat-actor": 2, "campaign": 1, "attack-pattern": 1, "ipv4-addr": 2,
		"ipv6-addr": 1, "file": 1, "url": 1, "observed-data": 3, "indicator": 6, "sighting": 6} {
		if count[typ] != want {
			t.Errorf("%d %s objects, want %d (all: %v)", count[typ], typ, count[typ], count)
		}
	}
	for _, o := range b.Objects {
		if o["type"] == "indicator" && strings.Contains(o["pattern"].(string), "x86_64") &&
			o["pattern"] != `[url:value = 'http://198.51.100.7/bins/x86_64?a=\'b\'']` {
			t.Errorf("pattern not escaped: %s", o["pattern"])
		}
	}
	// The same report gives the same ids.
	again := stix.Build(sample())
	for i := range b.Objects {
		if b.Objects[i]["id"] != again.Objects[i]["id"] {
			t.Fatalf("object %d: id %v then %v", i, b.Objects[i]["id"], again.Objects[i]["id"])
		}
	}
}

// TestValidatorRejects: the validator is not a formality.
func TestValidatorRejects(t *testing.T) {
	b := stix.Build(sample())
	for name, mutate := range map[string]func(o stix.Object) bool{
		"indicator without pattern": func(o stix.Object) bool {
			if o["type"] == "indicator" {
				delete(o, "pattern")
				return true
			}
			return false
		},
		"bad timestamp": func(o stix.Object) bool {
			if o["type"] == "sighting" {
				o["first_seen"] = "yesterday"
				return true
			}
			return false
		},
		"bad id": func(o stix.Object) bool {
			if o["type"] == "threat-actor" {
				o["id"] = "threat-actor--not-a-uuid"
				return true
			}
			return false
		},
	} {
		c := stix.Build(sample())
		done := false
		for _, o := range c.Objects {
			if !done && mutate(o) {
				done = true
			}
		}
		raw, _ := json.Marshal(c)
		if err := stixtest.Validate(raw); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
	_ = b
}
