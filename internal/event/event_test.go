package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func testEvent(i int, user string) *Event {
	return &Event{Schema: SchemaVersion, ID: NewID(), Type: "ssh.login.failed", Decky: "d", Service: "ssh",
		Src:        &Endpoint{IP: "10.0.0.5", Port: 40000 + i},
		Credential: NewCredential("plaintext", "password", user, []byte("pw\n"), true)}
}

func TestEncodersCannotBeForged(t *testing.T) {
	evil := "root\n<134>1 2026-01-01T00:00:00Z fake decnet - ssh.login.success [decnet@32473 x=\"y\"] \x1b[31mred\x1b[0m\"]\\\u2028\u0085"
	e := testEvent(1, evil)
	line, err := JSONLine(e)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(line, []byte("\n")) != 1 || !bytes.HasSuffix(line, []byte("\n")) {
		t.Fatalf("JSON line split: %q", line)
	}
	var back Event
	if err := json.Unmarshal(line, &back); err != nil || back.Credential.Principal != evil {
		t.Fatalf("principal not kept verbatim: %v %q", err, back.Credential.Principal)
	}
	msg, err := Syslog(e, "decky host")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(msg, "\n\r\x1b") {
		t.Fatalf("syslog message has raw control bytes: %q", msg)
	}
	// Parse the SD element as a receiver would: the first unescaped ']'
	// ends it, and what follows must be the JSON document.
	rest := string(msg[strings.Index(string(msg), "[decnet@"):])
	end := -1
	for i := 0; i < len(rest); i++ {
		if rest[i] == '\\' {
			i++
			continue
		}
		if rest[i] == ']' {
			end = i
			break
		}
	}
	if end < 0 || !strings.HasPrefix(rest[end:], "] {") || strings.Count(rest[:end], `="`) != 8 {
		t.Fatalf("SD element forged or broken: %s", rest)
	}
	e.Severity = 2
	msg, _ = Syslog(e, "h")
	if !strings.HasPrefix(string(msg), "<132>1 ") {
		t.Fatalf("header %q", msg[:12])
	}
}

func FuzzEncoders(f *testing.F) {
	f.Add("root", "pw", "ssh.login.failed")
	f.Add("a\nb", "\x00\xff", "x]y\"")
	f.Fuzz(func(t *testing.T, user, secret, typ string) {
		e := &Event{ID: NewID(), Type: typ, Credential: NewCredential("plaintext", "password", user, []byte(secret), true),
			Fields: map[string]any{"v": Text([]byte(secret), MaxField)}}
		line, err := JSONLine(e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(line, []byte("\n")) != 1 {
			t.Fatalf("json line split: %q", line)
		}
		msg, err := Syslog(e, user)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(msg, "\n\r") {
			t.Fatalf("syslog split: %q", msg)
		}
		if !utf8.Valid(line) {
			t.Fatal("invalid utf-8")
		}
	})
}

func TestTextEscapesInvalidBytes(t *testing.T) {
	if got := Text([]byte("a\xffb"), 100); got != `a\xffb` {
		t.Fatalf("got %q", got)
	}
	if got := Text([]byte(strings.Repeat("é", 100)), 11); len(got) > 11 || !utf8.ValidString(got) {
		t.Fatalf("cut badly: %q", got)
	}
}
