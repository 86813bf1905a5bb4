package smb

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

var (
	windows = servicetest.Options{OS: "windows_server", Distro: "win2019"}
	debian  = servicetest.Options{OS: "linux", Distro: "debian", Hostname: "files-42"}
)

func withUsers(o servicetest.Options, users ...string) servicetest.Options {
	list := make([]any, len(users))
	for i, u := range users {
		list[i] = u
	}
	o.Config = map[string]any{"users": list}
	return o
}

// run runs a client program and returns its combined output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	bin := testenv.RequireTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	t.Logf("$ %s %s\n%s", name, strings.Join(args, " "), out)
	if err != nil {
		t.Logf("%s: %v", name, err)
	}
	return string(out)
}

// smbclient runs Debian's smbclient against the service's 445.
func smbclient(t *testing.T, r *servicetest.Running, args ...string) string {
	t.Helper()
	return run(t, "smbclient", append([]string{"-p", r.Port(PortDirect), "--option=client min protocol=SMB2_02"}, args...)...)
}

func wait(t *testing.T, r *servicetest.Running, typ string, match func(event.Event) bool) event.Event {
	t.Helper()
	e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool { return e.Type == typ && (match == nil || match(e)) })
	if !ok {
		t.Fatalf("no %s event; got %v", typ, types(r.Events.Events()))
	}
	return e
}

func types(es []event.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func TestSmbclientListSamba(t *testing.T) {
	r := servicetest.Start(t, "smb", PortDirect, debian)
	out := smbclient(t, r, "-L", "//"+r.Addr.String(), "-N")
	for _, want := range []string{"IPC$", "print$", "public", "IPC Service (files-42 server (Samba, Debian))"} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q", want)
		}
	}
	wait(t, r, "smb.rpc.call", func(e event.Event) bool { return e.Fields["operation"] == "NetShareEnumAll" })
}

func TestSmbclientFilesWindows(t *testing.T) {
	r := servicetest.Start(t, "smb", PortDirect, withUsers(windows, "alice:Passw0rd!"))
	out := smbclient(t, r, "//"+r.Addr.String()+"/Public", "-U", "alice%Passw0rd!", "-c", "ls; cd Documents; ls; get Contacts.xlsx /dev/null")
	if !strings.Contains(out, "Documents") || !strings.Contains(out, "Contacts.xlsx") || strings.Contains(out, "NT_STATUS") {
		t.Fatalf("smbclient did not list and get:\n%s", out)
	}
	wait(t, r, "smb.login.success", nil)
	wait(t, r, "smb.file.download", nil)
}

// A wrong password is refused as Windows refuses it, and the response
// becomes a NetNTLMv2 line that the password recomputes.
func TestWrongPasswordCrackLine(t *testing.T) {
	r := servicetest.Start(t, "smb", PortDirect, withUsers(windows, "alice:Passw0rd!"))
	out := smbclient(t, r, "//"+r.Addr.String()+"/Public", "-U", "alice%Summer2024", "-c", "ls")
	if !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Fatalf("smbclient did not get STATUS_LOGON_FAILURE:\n%s", out)
	}
	e := wait(t, r, "smb.login.failed", nil)
	c := e.Credential
	if c == nil || c.CrackMode != 5600 {
		t.Fatalf("credential %+v", c)
	}
	f := strings.Split(c.CrackLine, ":")
	if len(f) != 6 || f[0] != "alice" || f[3] != c.Challenge {
		t.Fatalf("crack line %q", c.CrackLine)
	}
	chal, _ := hex.DecodeString(f[3])
	proof, _ := hex.DecodeString(f[4])
	blob, _ := hex.DecodeString(f[5])
	if _, ok := verifyNTLMv2("Summer2024", f[0], f[2], chal, append(proof, blob...)); !ok {
		t.Fatalf("the line %q does not verify against the password", c.CrackLine)
	}
	// An independent recomputation: HMAC-MD5 over NTOWFv2.
	m := hmac.New(md5.New, ntowfv2("Summer2024", f[0], f[2]))
	m.Write(chal)
	m.Write(blob)
	if !bytes.Equal(m.Sum(nil), proof) {
		t.Fatal("NTProofStr mismatch")
	}
	if e.Fields["status"] != "STATUS_LOGON_FAILURE" {
		t.Errorf("status field %v", e.Fields["status"])
	}
}

// Samba maps an unknown user to guest (map to guest = bad user), and
// refuses a known user's wrong password.
func TestSambaGuestAndFailure(t *testing.T) {
	r := servicetest.Start(t, "smb", PortDirect, withUsers(debian, "bob:secret"))
	out := smbclient(t, r, "//"+r.Addr.String()+"/public", "-U", "mallory%whatever", "-c", "ls")
	if !strings.Contains(out, "README.txt") {
		t.Fatalf("guest could not list public:\n%s", out)
	}
	wait(t, r, "smb.login.success", func(e event.Event) bool { return e.Fields["guest"] == true })
	out = smbclient(t, r, "//"+r.Addr.String()+"/public", "-U", "bob%wrong", "-c", "ls")
	if !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Fatalf("a known user's wrong password was not refused:\n%s", out)
	}
}

// Over 139, smbclient's NetBIOS session request is answered and the
// session proceeds.
func TestNetBIOSSession(t *testing.T) {
	testenv.RequireLowPorts(t) // smbclient speaks NetBIOS sessions on port 139 only
	for _, o := range []servicetest.Options{windows, debian} {
		r := servicetest.Start(t, "smb", PortNetBIOS, withUsers(o, "admin:admin"))
		out := run(t, "smbclient", "-p", r.Port(PortNetBIOS), "//"+r.Addr.String()+"/IPC$", "-U", "admin%admin", "-c", "help")
		if strings.Contains(out, "NT_STATUS") {
			t.Errorf("%s over 139:\n%s", o.Distro, out)
		}
	}
}

// Uploads are quarantined, renames and deletes reported.
func TestWriteRenameDelete(t *testing.T) {
	r := servicetest.Start(t, "smb", PortDirect, withUsers(windows, "alice:Passw0rd!"))
	dir := t.TempDir()
	local := filepath.Join(dir, "payload.exe")
	content := bytes.Repeat([]byte("MZ-payload-"), 5000)
	os.WriteFile(local, content, 0o644)
	out := smbclient(t, r, "//"+r.Addr.String()+"/Public", "-U", "alice%Passw0rd!", "-c",
		"put "+local+" payload.exe; rename payload.exe payload.exe.locked; ls; get payload.exe.locked "+filepath.Join(dir, "back")+"; del payload.exe.locked; ls")
	if strings.Contains(out, "NT_STATUS") {
		t.Fatalf("smbclient:\n%s", out)
	}
	if back, _ := os.ReadFile(filepath.Join(dir, "back")); !bytes.Equal(back, content) {
		t.Errorf("read back %d bytes, wrote %d", len(back), len(content))
	}
	e := wait(t, r, "smb.file.upload", nil)
	sum := sha256.Sum256(content)
	if e.Fields["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("upload sha256 %v", e.Fields["sha256"])
	}
	if q, err := os.ReadFile(filepath.Join(r.QuarDir, hex.EncodeToString(sum[:]))); err != nil || !bytes.Equal(q, content) {
		t.Errorf("quarantine: %v", err)
	}
	wait(t, r, "smb.file.rename", func(e event.Event) bool { return e.Fields["new_path"] == "payload.exe.locked" })
	wait(t, r, "smb.file.delete", func(e event.Event) bool { return e.Fields["path"] == "payload.exe.locked" })
}

// Administrative shares need an administrator; a null session reaches
// only IPC$, and on Windows no pipe.
func TestAccessRules(t *testing.T) {
	r := servicetest.Start(t, "smb", PortDirect, withUsers(windows, "alice:Passw0rd!", "administrator:Adm1n!"))
	if out := smbclient(t, r, "//"+r.Addr.String()+"/C$", "-U", "alice%Passw0rd!", "-c", "ls"); !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("a user reached C$:\n%s", out)
	}
	if out := smbclient(t, r, "//"+r.Addr.String()+"/C$", "-U", "administrator%Adm1n!", "-c", "ls"); !strings.Contains(out, "Windows") {
		t.Errorf("the administrator could not list C$:\n%s", out)
	}
	if out := smbclient(t, r, "//"+r.Addr.String()+"/Public", "-N", "-c", "ls"); !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("a null session reached Public:\n%s", out)
	}
	if out := smbclient(t, r, "//"+r.Addr.String()+"/NoSuch", "-U", "alice%Passw0rd!", "-c", "ls"); !strings.Contains(out, "NT_STATUS_BAD_NETWORK_NAME") {
		t.Errorf("unknown share:\n%s", out)
	}
}

// impacket's smbclient.py lists a Windows persona's shares.
func TestImpacketShares(t *testing.T) {
	testenv.RequireLowPorts(t) // impacket takes 139 or 445 as its port, nothing else
	script := "/usr/share/doc/python3-impacket/examples/smbclient.py"
	if _, err := os.Stat(script); err != nil {
		testenv.RequireTool(t, "impacket-smbclient")
		script = ""
	}
	r := servicetest.Start(t, "smb", PortDirect, withUsers(windows, "alice:Passw0rd!"))
	in := filepath.Join(t.TempDir(), "cmds")
	os.WriteFile(in, []byte("shares\nuse Finance\nls\nexit\n"), 0o644)
	args := []string{"-port", r.Port(PortDirect), "-file", in, "alice:Passw0rd!@" + r.Addr.String()}
	var out string
	if script != "" {
		out = run(t, "/usr/bin/python3", append([]string{script}, args...)...)
	} else {
		out = run(t, "impacket-smbclient", args...)
	}
	for _, e := range r.Events.Events() {
		t.Logf("event %s %v", e.Type, e.Fields)
	}
	for _, want := range []string{"ADMIN$", "C$", "IPC$", "Finance", "Invoices"} {
		if !strings.Contains(out, want) {
			t.Errorf("impacket output lacks %q", want)
		}
	}
}

// A client that encrypts (SMB 3.1.1, AES-GCM) completes its session.
func TestEncryptedSession(t *testing.T) {
	r := servicetest.Start(t, "smb", PortDirect, withUsers(debian, "bob:secret"))
	out := smbclient(t, r, "//"+r.Addr.String()+"/backup", "-U", "bob%secret", "--client-protection=encrypt", "-c", "ls; get README.txt /dev/null")
	if !strings.Contains(out, "README.txt") || strings.Contains(out, "NT_STATUS") {
		t.Fatalf("encrypted session failed:\n%s", out)
	}
}
