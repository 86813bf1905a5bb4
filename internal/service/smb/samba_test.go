package smb

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

// startSamba runs Debian's smbd beside the decky: a standalone server in
// WORKGROUP as Debian's default smb.conf makes it, with a public share,
// on 127.0.0.1 (smbd binds only addresses of an interface, and lo has
// that one) ports 445 and 139. It needs root for the ports.
func startSamba(t *testing.T) string {
	t.Helper()
	bin := testenv.RequireTool(t, "smbd")
	testenv.RequireRoot(t)
	dir := t.TempDir()
	for _, d := range []string{"private", "lock", "state", "cache", "pid", "ncalrpc", "share"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "share", "README.txt"), []byte("hello\n"), 0o644)
	conf := filepath.Join(dir, "smb.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[global]
  workgroup = WORKGROUP
  server string = %%h server (Samba, Debian)
  netbios name = FILES-42
  server role = standalone server
  interfaces = lo
  bind interfaces only = yes
  smb ports = 445 139
  private dir = %[1]s/private
  lock directory = %[1]s/lock
  state directory = %[1]s/state
  cache directory = %[1]s/cache
  pid directory = %[1]s/pid
  ncalrpc dir = %[1]s/ncalrpc
  binddns dir = %[1]s/private
  passdb backend = tdbsam:%[1]s/private/passdb.tdb
  map to guest = bad user
  load printers = no
  disable netbios = yes
  usershare path =
[print$]
  comment = Printer Drivers
  path = %[1]s/share
  read only = yes
[public]
  path = %[1]s/share
  guest ok = yes
  read only = yes
`, dir)), 0o644)
	cmd := exec.Command(bin, "--foreground", "--no-process-group", "--debug-stdout", "-s", conf)
	log, _ := os.Create(filepath.Join(dir, "smbd.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	testenv.Eventually(t, 15*time.Second, "smbd listening on 127.0.0.1:445", func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:445", time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "127.0.0.1"
}
