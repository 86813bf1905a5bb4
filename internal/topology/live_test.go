package topology

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidateLive(t *testing.T) {
	ok := Drop{Path: "/root/notes.txt", Data: "aGk=", Mode: 0o600, Owner: "root", Places: []string{"shell", "ftp"}}
	cases := []struct {
		name string
		live Live
		want string // "" for valid
	}{
		{"valid", Live{Tarpits: []Tarpit{{Port: 80}, {Port: 21, Source: "10.0.0.0/8", Rate: 10}}, Files: []Drop{ok}}, ""},
		{"port not served", Live{Tarpits: []Tarpit{{Port: 22}}}, "port 22 is not a TCP port of decky web (its ports: 21, 80)"},
		{"bad source", Live{Tarpits: []Tarpit{{Port: 80, Source: "evil"}}}, `source "evil" is neither`},
		{"bad rate", Live{Tarpits: []Tarpit{{Port: 80, Rate: -1}}}, "rate -1 must be"},
		{"twice", Live{Tarpits: []Tarpit{{Port: 80}, {Port: 80}}}, "listed twice"},
		{"relative path", Live{Files: []Drop{{Path: "root/x", Data: ""}}}, "absolute and clean"},
		{"dotdot", Live{Files: []Drop{{Path: "/root/../etc/x"}}}, "absolute and clean"},
		{"proc", Live{Files: []Drop{{Path: "/proc/x"}}}, "/proc, /sys and /dev"},
		{"base64", Live{Files: []Drop{{Path: "/x", Data: "%%"}}}, "not standard base64"},
		{"mode", Live{Files: []Drop{{Path: "/x", Mode: 0o17777}}}, "bits beyond"},
		{"owner", Live{Files: []Drop{{Path: "/x", Owner: "Root;rm"}}}, "not a user name"},
		{"place", Live{Files: []Drop{{Path: "/x", Places: []string{"mail"}}}}, `place "mail"`},
		{"dup file", Live{Files: []Drop{ok, ok}}, "dropped twice"},
		{"too big", Live{Files: []Drop{{Path: "/x", Data: strings.Repeat("AAAA", MaxDropSize/3+1)}}}, "more than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			s.Deckies[0].Live = &tc.live
			rep := Validate(s, Options{})
			if tc.want == "" {
				if err := rep.Err(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !rep.Has(LiveInvalid) || !strings.Contains(rep.Err().Error(), tc.want) {
				t.Fatalf("want LIVE_INVALID %q, got %v", tc.want, rep.Issues)
			}
		})
	}
}

func TestLiveHashIsOrderFreeAndWithoutLiveStripsIt(t *testing.T) {
	a, b := validSpec(), validSpec()
	a.Deckies[0].Live = &Live{Tarpits: []Tarpit{{Port: 80}, {Port: 21}}, Files: []Drop{{Path: "/a"}, {Path: "/b"}}}
	b.Deckies[0].Live = &Live{Tarpits: []Tarpit{{Port: 21}, {Port: 80}}, Files: []Drop{{Path: "/b"}, {Path: "/a"}}}
	if a.Hash() != b.Hash() {
		t.Fatal("the order of tarpits and files changes the hash")
	}
	c := validSpec()
	c.Deckies[0].Live = &Live{}
	if c.Hash() != validSpec().Hash() {
		t.Fatal("an empty live block changes the hash")
	}
	if a.Hash() == validSpec().Hash() {
		t.Fatal("live controls do not change the hash")
	}
	if a.WithoutLive().Hash() != validSpec().Hash() || a.Deckies[0].Live == nil {
		t.Fatal("WithoutLive must strip the copy's live controls and leave the spec's")
	}
}

func TestTarpitMatches(t *testing.T) {
	src := netip.MustParseAddr("10.1.2.3")
	for _, tc := range []struct {
		source string
		want   bool
	}{{"", true}, {"10.1.2.3", true}, {"10.1.2.4", false}, {"10.1.0.0/16", true}, {"10.2.0.0/16", false}, {"::ffff:10.1.2.3", true}} {
		if got := (Tarpit{Source: tc.source}).Matches(src); got != tc.want {
			t.Errorf("source %q: got %v", tc.source, got)
		}
	}
}
