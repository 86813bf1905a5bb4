package event

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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

// flaky fails every publish after the first ok ones.
type flaky struct {
	sink *FileSink
	ok   int
}

func (f *flaky) Publish(ctx context.Context, ev []Event) error {
	if f.ok <= 0 {
		return errors.New("down")
	}
	f.ok--
	return f.sink.Publish(ctx, ev)
}

func readSink(t *testing.T, path string) []Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Event
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestSpoolShipperRotationRestartNoLossNoDup(t *testing.T) {
	root := t.TempDir()
	spoolDir := filepath.Join(root, "spool", "topo", "decky")
	sp, err := OpenSpool(spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	sp.maxFile = 4096 // rotate often
	const n = 600
	ids := map[string]bool{}
	for i := range n {
		e := testEvent(i, "u")
		ids[e.ID] = true
		if err := sp.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := SpoolFiles(spoolDir)
	if len(files) < 5 {
		t.Fatalf("no rotation: %d files", len(files))
	}
	sinkPath := filepath.Join(root, "events.jsonl")
	cursor := filepath.Join(root, "cursor.json")

	// First shipper: two batches succeed, then the bus goes down.
	sink, _ := OpenFileSink(sinkPath, 1000)
	sh, err := NewShipper(filepath.Join(root, "spool"), cursor, "host-1", &flaky{sink: sink, ok: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sh.MaxBatch = 7
	for range 5 {
		sh.ShipOnce(context.Background())
	}
	sink.Close()

	// Restart: a new shipper from the saved cursor, more events arriving.
	for i := range 50 {
		e := testEvent(i, "v")
		ids[e.ID] = true
		sp.Write(e)
	}
	sp.Close()
	sink, _ = OpenFileSink(sinkPath, 1000)
	defer sink.Close()
	sh, err = NewShipper(filepath.Join(root, "spool"), cursor, "host-1", sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	for {
		k, err := sh.ShipOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	got := readSink(t, sinkPath)
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("event %s shipped twice", e.ID)
		}
		seen[e.ID] = true
		if e.Host != "host-1" {
			t.Fatalf("host not stamped: %q", e.Host)
		}
	}
	if len(got) != len(ids) {
		t.Fatalf("shipped %d of %d", len(got), len(ids))
	}
	files, _ = SpoolFiles(spoolDir)
	if len(files) != 1 {
		t.Fatalf("shipped files not cleaned: %d left", len(files))
	}
}

func TestFileSinkSkipsReplayedBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s, _ := OpenFileSink(path, 100)
	batch := []Event{*testEvent(1, "a"), *testEvent(2, "b")}
	s.Publish(context.Background(), batch)
	s.Close()
	s, _ = OpenFileSink(path, 100)
	defer s.Close()
	s.Publish(context.Background(), batch) // the replay after a crash
	if got := readSink(t, path); len(got) != 2 {
		t.Fatalf("%d events, want 2", len(got))
	}
}

func TestSpoolReportsDrops(t *testing.T) {
	dir := t.TempDir()
	sp, _ := OpenSpool(dir)
	defer sp.Close()
	sp.maxTotal = 2000
	var failed int
	for i := range 40 {
		if err := sp.Write(testEvent(i, "u")); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("spool never filled")
	}
	sp.maxTotal = 1 << 30
	sp.Write(testEvent(99, "u"))
	files, _ := SpoolFiles(dir)
	data, _ := os.ReadFile(files[len(files)-1])
	if !strings.Contains(string(data), "system.events.dropped") {
		t.Fatal("drops not reported")
	}
}

func TestCatalogueDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	for typ := range Catalogue {
		if !strings.Contains(string(doc), "`"+typ+"`") {
			t.Errorf("event type %s is not in docs/events.md", typ)
		}
	}
}
