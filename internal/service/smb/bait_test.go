package smb

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// TestBaitInFirstShare: the bait script is in the first bait share
// (Finance on a Windows server), in its folders, and smbclient gets it.
func TestBaitInFirstShare(t *testing.T) {
	o := withUsers(windows, "alice:Passw0rd!")
	o.Bait = []bait.File{{Place: bait.SMB, Path: "IT/Scripts/map_drives.bat", Age: 72 * time.Hour,
		Content: []byte("net use S: \\\\fs01\\Shared /user:CORP\\svc_backup Harbor42#qz\r\n")}}
	r := servicetest.Start(t, "smb", PortDirect, o)
	dst := filepath.Join(t.TempDir(), "got.bat")
	out := smbclient(t, r, "//"+r.Addr.String()+"/Finance", "-U", "alice%Passw0rd!", "-c", `cd IT\Scripts; get map_drives.bat `+dst)
	b, err := os.ReadFile(dst)
	if err != nil || !strings.Contains(string(b), "svc_backup Harbor42#qz") {
		t.Fatalf("smbclient get: %v %q\n%s", err, b, out)
	}
	wait(t, r, "smb.file.download", func(e event.Event) bool {
		for _, v := range e.Fields {
			if s, ok := v.(string); ok && strings.Contains(s, "map_drives.bat") {
				return true
			}
		}
		return false
	})
}

// TestDropsInBaitShare: a file the operator drops into the running decky
// shows in the bait share at the client's next request, in an smbclient
// session opened before the drop, and goes when withdrawn.
func TestDropsInBaitShare(t *testing.T) {
	bin := testenv.RequireTool(t, "smbclient")
	// smbclient buffers what it prints to a pipe; stdbuf makes it write
	// each line as it comes.
	stdbuf := testenv.RequireTool(t, "stdbuf")
	o := withUsers(windows, "alice:Passw0rd!")
	live := serve.NewLive()
	o.Live = live
	r := servicetest.Start(t, "smb", PortDirect, o)
	cmd := exec.Command(stdbuf, "-oL", bin, "-p", r.Port(PortDirect), "--option=client min protocol=SMB2_02", "//"+r.Addr.String()+"/Finance", "-U", "alice%Passw0rd!")
	stdin, _ := cmd.StdinPipe()
	var out testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	ls := func() string {
		t.Helper()
		from := len(out.String())
		io.WriteString(stdin, "ls\n")
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if text := out.String()[from:]; strings.Contains(text, "blocks available") {
				return text
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no listing in the session:\n%s", out.String())
		return ""
	}
	if strings.Contains(ls(), "vpn-users.txt") {
		t.Fatal("listed before the drop")
	}
	live.Set(nil, []bait.File{{Place: bait.SMB, Path: "/vpn-users.txt", Content: []byte("ops;Winter2026!\r\n"), Mode: 0o644}})
	if text := ls(); !strings.Contains(text, "vpn-users.txt") {
		t.Fatalf("the dropped file is not listed in the open session:\n%s", text)
	}
	dst := filepath.Join(t.TempDir(), "got.txt")
	smbclient(t, r, "//"+r.Addr.String()+"/Finance", "-U", "alice%Passw0rd!", "-c", `get vpn-users.txt `+dst)
	if b, err := os.ReadFile(dst); err != nil || string(b) != "ops;Winter2026!\r\n" {
		t.Fatalf("smbclient get: %v %q", err, b)
	}
	live.Set(nil, nil)
	if strings.Contains(ls(), "vpn-users.txt") {
		t.Fatal("still listed after the withdrawal")
	}
}
