package smb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
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
