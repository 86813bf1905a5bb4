package shell

import (
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/bait"
)

func TestDropsAppearInARunningShell(t *testing.T) {
	var gen uint64
	var files []bait.File
	sh := newShell(t, "debian")
	sh.M.Drops = func() (uint64, []bait.File) { return gen, files }
	run := func(line string) string {
		out, _ := run(sh, line)
		return out
	}
	if out := run("ls /root"); strings.Contains(out, "vpn.txt") {
		t.Fatalf("dropped too early: %q", out)
	}
	gen, files = 1, []bait.File{{Place: bait.Shell, Path: "/root/vpn.txt", Content: []byte("user=ops pass=Winter2026!\n"), Mode: 0o600, Owner: "root"},
		{Place: bait.Shell, Path: "/opt/new/dir/key.pem", Content: []byte("KEY\n"), Mode: 0o644}}
	if out := run("ls /root"); !strings.Contains(out, "vpn.txt") {
		t.Fatalf("ls does not show the dropped file: %q", out)
	}
	if out := run("cat /root/vpn.txt /opt/new/dir/key.pem"); out != "user=ops pass=Winter2026!\nKEY\n" {
		t.Fatalf("cat: %q", out)
	}
	if f := strings.Fields(run("ls -l /root/vpn.txt")); len(f) < 5 || f[0] != "-rw-------" || f[2] != "root" || f[4] != "26" {
		t.Fatalf("ls -l: %q", f)
	}
	// A drop never replaces a directory; a withdrawn drop goes.
	gen, files = 2, []bait.File{{Place: bait.Shell, Path: "/etc", Content: []byte("x")}}
	if out := run("ls /root; ls -d /etc"); strings.Contains(out, "vpn.txt") || !strings.Contains(out, "/etc") {
		t.Fatalf("after withdrawal: %q", out)
	}
	if out := run("ls /etc/passwd"); !strings.Contains(out, "/etc/passwd") {
		t.Fatalf("a drop replaced /etc: %q", out)
	}
}

// TestDropsSharedTree: a second shell on the tree of the first (another
// channel of one SSH connection) neither re-drops nor undoes what the
// session did to a dropped file.
func TestDropsSharedTree(t *testing.T) {
	files := []bait.File{{Place: bait.Shell, Path: "/root/a.txt", Content: []byte("one\n"), Mode: 0o644}}
	drops := func() (uint64, []bait.File) { return 1, files }
	first := newShell(t, "debian")
	first.M.Drops = drops
	if out, _ := run(first, "echo two >> /root/a.txt; cat /root/a.txt"); out != "one\ntwo\n" {
		t.Fatalf("first shell: %q", out)
	}
	second := newShell(t, "debian")
	second.M.Drops = drops
	second.FS = first.FS
	second.SyncDrops()
	if out, _ := run(second, "cat /root/a.txt"); out != "one\ntwo\n" {
		t.Fatalf("a second channel undid the session's change: %q", out)
	}
}
