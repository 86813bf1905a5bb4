package attack_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/attack"
)

func load(t testing.TB) *attack.Engine {
	t.Helper()
	e, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// roundTrip passes an event through JSON, as it reaches the master.
func roundTrip(t testing.TB, e event.Event) event.Event {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var out event.Event
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func rules(hits []attack.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Rule)
	}
	return out
}

var t0 = time.Date(2026, 5, 2, 6, 0, 0, 0, time.UTC)

func ev(typ string, fields map[string]any) event.Event {
	svc, _, _ := strings.Cut(typ, ".")
	return event.Event{ID: event.NewID(), Time: t0, Type: typ, Service: svc, Decky: "d1",
		Src: &event.Endpoint{IP: "203.0.113.5", Port: 40000}, Fields: fields}
}

func TestEmbeddedRulesParse(t *testing.T) {
	e := load(t)
	f := e.File()
	if f.Version < 1 || f.Attack == "" || len(f.Rules) < 15 {
		t.Fatalf("rules file: version %d, attack %q, %d rules", f.Version, f.Attack, len(f.Rules))
	}
}

func TestMatching(t *testing.T) {
	e := load(t)
	login := func(typ, kind string) event.Event {
		x := ev(typ, map[string]any{})
		x.Credential = event.NewCredential(kind, "password", "root", []byte("toor"), kind == "plaintext")
		return x
	}
	for _, tc := range []struct {
		name string
		ev   event.Event
		want []string
	}{
		{"ssh password failure", login("ssh.login.failed", "plaintext"), []string{"password-guessing"}},
		{"ntlm failure is its own guess", login("smb.login.failed", "netntlmv2"), []string{"password-guessing-ntlm"}},
		{"mysql hash failure is no guess", login("mysql.login.failed", "mysql_native"), nil},
		{"ssh success", login("ssh.login.success", "plaintext"), []string{"valid-account", "remote-ssh"}},
		{"success without credential", ev("ftp.login.success", nil), nil},
		{"command", ev("ssh.command.input", map[string]any{"command_line": "uname -a; cat /etc/shadow"}),
			[]string{"unix-shell", "shadow-read", "system-information"}},
		{"telnet command field", ev("telnet.command.input", map[string]any{"command": "history -c"}),
			[]string{"unix-shell", "clear-history"}},
		{"nmap in a path", ev("ssh.command.input", map[string]any{"command_line": "/usr/bin/nmap -sS 10.0.0.0/24"}),
			[]string{"unix-shell", "scanner-in-shell"}},
		{"nmap as a word inside another", ev("ssh.command.input", map[string]any{"command_line": "cat nmap.txt"}),
			[]string{"unix-shell"}},
		{"list field", ev("smb.tree.connect", map[string]any{"share": "C$"}), []string{"remote-smb-admin-share"}},
		{"IPC$ is no admin share", ev("smb.tree.connect", map[string]any{"share": "IPC$"}), nil},
		{"glob type", ev("ftp.exploit.attempt", map[string]any{"rule": "vsftpd_backdoor"}), []string{"exploit-attempt"}},
		{"glob segment count", ev("ftp.exploit", nil), nil},
		{"missing field", ev("redis.file.upload", map[string]any{}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rules(e.Tag(new(roundTrip(t, tc.ev))))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("Tag = %v, want %v", got, tc.want)
			}
		})
	}
}

// Password spraying fires on the third account tried with one password
// from one source within the window, not before, not across sources, and
// not once the window has passed.
func TestDistinctWindow(t *testing.T) {
	e := load(t)
	try := func(ip, user, pass string, at time.Duration) bool {
		x := ev("ssh.login.failed", nil)
		x.Src.IP, x.Time = ip, t0.Add(at)
		x.Credential = event.NewCredential("plaintext", "password", user, []byte(pass), true)
		for _, h := range e.Tag(&x) {
			if h.Rule == "password-spraying" {
				return true
			}
		}
		return false
	}
	steps := []struct {
		ip, user, pass string
		at             time.Duration
		want           bool
	}{
		{"198.51.100.1", "alice", "Winter2024", 0, false},
		{"198.51.100.1", "alice", "Winter2024", time.Second, false},   // the same account again
		{"198.51.100.2", "bob", "Winter2024", 2 * time.Second, false}, // another source
		{"198.51.100.1", "bob", "Summer2024", 3 * time.Second, false}, // another password
		{"198.51.100.1", "bob", "Winter2024", 4 * time.Second, false},
		{"198.51.100.1", "carol", "Winter2024", 5 * time.Second, true},
		{"198.51.100.1", "dave", "Winter2024", 6 * time.Second, true},
		// An hour later the earlier accounts are out of the window.
		{"198.51.100.1", "erin", "Winter2024", time.Hour, false},
	}
	for i, s := range steps {
		if got := try(s.ip, s.user, s.pass, s.at); got != s.want {
			t.Errorf("step %d (%s %s): fired %v, want %v", i, s.ip, s.user, got, s.want)
		}
	}
}

func TestBadRulesRefused(t *testing.T) {
	base := "version: 1\nattack: \"17\"\ntechniques:\n  T1110: {name: Brute Force, tactics: [credential-access]}\nrules:\n"
	for _, tc := range []struct{ name, rules, want string }{
		{"unknown technique", "  - {id: a, technique: T9999, description: x, match: {types: [ssh.login.failed]}}\n", "not listed"},
		{"bad regexp", "  - {id: a, technique: T1110, description: x, match: {types: [ssh.login.failed], fields: {fields.x: '('}}}\n", "fields.x"},
		{"bad path", "  - {id: a, technique: T1110, description: x, match: {types: [ssh.login.failed], fields: {payload: 'x'}}}\n", "field path"},
		{"bad type", "  - {id: a, technique: T1110, description: x, match: {types: [ssh.login]}}\n", "type"},
		{"no types", "  - {id: a, technique: T1110, description: x, match: {}}\n", "types"},
		{"duplicate", "  - {id: a, technique: T1110, description: x, match: {types: [ssh.login.failed]}}\n" +
			"  - {id: a, technique: T1110, description: x, match: {types: [ssh.login.failed]}}\n", "duplicate"},
		{"unknown key", "  - {id: a, technique: T1110, description: x, match: {types: [ssh.login.failed], field: {}}}\n", "field"},
		{"distinct", "  - {id: a, technique: T1110, description: x, match: {types: [ssh.login.failed]}, distinct: {field: src.ip, at_least: 1, within: 1m}}\n", "distinct"},
		{"lookahead (not RE2)", "  - {id: a, technique: T1110, description: x, match: {types: [ssh.login.failed], fields: {fields.x: '(?=a)'}}}\n", "fields.x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := attack.ParseFile([]byte(base + tc.rules))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseFile = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestNavigatorLayer(t *testing.T) {
	f := load(t).File()
	l := f.Layer("203.0.113.5", "seen by DECNET", []attack.Count{{"T1110.001", 12}, {"T1078", 1}, {"T1053.003", 2}, {"T0000", 0}})
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Name       string
		Domain     string
		Versions   struct{ Attack, Navigator, Layer string }
		Gradient   struct{ MaxValue int64 }
		Techniques []struct {
			TechniqueID       string
			Tactic            string
			Score             *int64
			ShowSubtechniques bool
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Versions.Layer != "4.5" || doc.Domain != "enterprise-attack" || doc.Versions.Attack != f.Attack || doc.Gradient.MaxValue != 12 {
		t.Fatalf("layer header %s", b)
	}
	got := map[string]*int64{}
	for _, x := range doc.Techniques {
		got[x.TechniqueID+"/"+x.Tactic] = x.Score
		if x.TechniqueID == "T1110" && (!x.ShowSubtechniques || x.Score != nil) {
			t.Errorf("parent of a sub-technique: %+v", x)
		}
	}
	for k, want := range map[string]int64{"T1110.001/credential-access": 12, "T1078/initial-access": 1, "T1078/persistence": 1,
		"T1053.003/execution": 2, "T1053.003/persistence": 2} {
		if got[k] == nil || *got[k] != want {
			t.Errorf("%s score %v, want %d", k, got[k], want)
		}
	}
	if _, ok := got["T0000/"]; ok {
		t.Error("a technique without events is listed")
	}
	if len(doc.Techniques) != 9 { // 1 + 4 + 3 tactics, + the T1110 parent; T1053 parent under 3 tactics
		t.Logf("%d entries: %s", len(doc.Techniques), b)
	}
}

// Tag never panics on hostile field shapes.
func FuzzTag(f *testing.F) {
	f.Add("ssh.command.input", "command_line", "uname -a; cat /etc/shadow", "root")
	f.Add("smb.tree.connect", "share", "ADMIN$", "")
	f.Add("*.login.failed", "x.y", "\xff\x00", "a\nb")
	e := load(f)
	f.Fuzz(func(t *testing.T, typ, key, value, principal string) {
		x := event.Event{Type: typ, Time: t0, Src: &event.Endpoint{IP: value},
			Fields:     map[string]any{key: value, "command_line": []any{value, 1.5, true, nil, map[string]any{key: value}}},
			Credential: &event.Credential{Principal: principal}}
		e.Tag(&x)
		x.Src, x.Credential, x.Fields = nil, nil, nil
		e.Tag(&x)
	})
}
