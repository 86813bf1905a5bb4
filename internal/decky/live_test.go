package decky

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

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
