package mailbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/persona"
)

func TestBoxSeedsAndBait(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.eml"), []byte("From: CFO <cfo@corp.example>\nSubject: wire transfer\nDate: Tue, 01 Dec 2026 10:00:00 +0000\n\nplease wire it today\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), []byte(`[{"from_addr":"hr@corp.example","from_name":"HR","to_addr":"alice@corp.example","subject":"salaries 2027","body":"see attached\nlines"}]`), 0o644)
	os.WriteFile(filepath.Join(dir, "c.json"), []byte(`not json`), 0o644)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	id := persona.NewIdentity("seed", "decky-1")
	b, err := NewBox(id, "mail.corp.example", now, dir)
	if err == nil || !strings.Contains(err.Error(), "c.json") {
		t.Fatalf("an unreadable seed file is not reported: %v", err)
	}
	msgs := b.For("alice")
	var subjects []string
	for i, m := range msgs {
		if m.UID != uint32(i+1) || !strings.Contains(string(m.Raw), "\r\n\r\n") || strings.Contains(strings.ReplaceAll(string(m.Raw), "\r\n", ""), "\n") {
			t.Fatalf("message %d malformed: uid %d %q", i, m.UID, m.Raw)
		}
		if i > 0 && m.Internal.Before(msgs[i-1].Internal) {
			t.Fatal("mailbox not oldest first")
		}
		subjects = append(subjects, m.Subject)
	}
	all := strings.Join(subjects, "|")
	if !strings.Contains(all, "wire transfer") || !strings.Contains(all, "salaries 2027") || len(msgs) < 6 {
		t.Fatalf("mailbox: %s", all)
	}
	if strings.Contains(string(msgs[0].Raw), "AKIAIOSFODNN7EXAMPLE") {
		t.Fatal("documentation example key in the bait")
	}
	other := b.For("bob")
	if len(other) == len(msgs) && string(other[0].Raw) == string(msgs[0].Raw) {
		t.Fatal("two users have the same mailbox")
	}
	if b.UIDValidity("alice") != b.UIDValidity("ALICE") || b.UIDValidity("alice") < 1_600_000_000 {
		t.Fatalf("uidvalidity %d", b.UIDValidity("alice"))
	}
	if err := (&Settings{Product: "exchange"}).Validate(); err == nil {
		t.Fatal("unknown product accepted")
	}
	if err := (&Settings{Users: []string{"nopassword"}}).Validate(); err == nil {
		t.Fatal("user without password accepted")
	}
}

// TestHoneyBait: a bait message is in every user's mailbox, with its
// body (and credential) in CRLF form, and the generated mail is unchanged.
func TestHoneyBait(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	id := persona.NewIdentity("seed", "decky-1")
	plain, _ := NewBox(id, "mail.corp.example", now, "")
	b, _ := NewBox(id, "mail.corp.example", now, "")
	b.AddBait([]bait.File{{Place: bait.Mail, Path: "Re: read-only access for the reporting job", Age: 72 * time.Hour,
		Content: []byte("host: 10.0.0.4\nuser: svc_report\npassword: Harbor42#qz\n")}})
	for _, user := range []string{"alice", "bob@corp.example"} {
		msgs, before := b.For(user), plain.For(user)
		if len(msgs) != len(before)+1 {
			t.Fatalf("%s: %d messages, want %d", user, len(msgs), len(before)+1)
		}
		found := false
		for _, m := range msgs {
			if m.Subject == "Re: read-only access for the reporting job" {
				found = strings.Contains(string(m.Raw), "password: Harbor42#qz\r\n")
			}
		}
		if !found {
			t.Fatalf("%s: no bait message with its credential", user)
		}
	}
}
