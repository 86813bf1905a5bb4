package decky

import (
	"encoding/json"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/topology"
)

// TestWriteLiveFollowsNoLink: links the decky may plant in its own
// directory (at the file's name or anywhere) are replaced, never written
// through.
func TestWriteLiveFollowsNoLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, LiveFileName)
	for _, name := range []string{LiveFileName, LiveFileName + ".tmp"} {
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	live := &topology.Live{Tarpits: []topology.Tarpit{{Port: 22, Rate: 8}}}
	if err := WriteLive(path, live); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("written through a link: %q", b)
	}
	var got topology.Live
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &got) != nil || len(got.Tarpits) != 1 || got.Tarpits[0].Rate != 8 {
		t.Fatalf("live file: %v %s", err, b)
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeSymlink != 0 || fi.Mode().Perm() != 0o644 {
		t.Fatalf("live file mode %v", fi.Mode())
	}
}

// FuzzLiveFile: whatever a live file holds, applying it never panics, a
// tarpit never widens to every source because its source is bad, and
// lookups stay safe.
func FuzzLiveFile(f *testing.F) {
	f.Add([]byte(`{"tarpits":[{"port":22,"source":"203.0.113.7"}]}`))
	rt := &Runtime{live: serve.NewLive(), places: []string{"shell", "ftp"}, log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l topology.Live
		if json.Unmarshal(data, &l) != nil {
			return
		}
		rt.SetLive(&l)
		outside := netip.MustParseAddr("198.51.100.1")
		for _, tp := range l.Tarpits {
			if tp.Source != "" && !tp.Matches(outside) {
				if _, ok := rt.live.Tarpit(tp.Port, outside); ok && !slices.ContainsFunc(l.Tarpits, func(o topology.Tarpit) bool {
					return o.Port == tp.Port && (o.Source == "" || o.Matches(outside))
				}) {
					t.Fatalf("tarpit %+v caught a source it does not name", tp)
				}
			}
		}
		rt.live.Files("shell")
	})
}
