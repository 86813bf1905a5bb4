package mssql_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 NTLM is MD4, and this test checks an NTLM response

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/mssql"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func windows(version string) servicetest.Options {
	return servicetest.Options{OS: "windows_server", Distro: "win2019", Config: map[string]any{"version": version}}
}

// nmapProbe is nmap's ms-sql-s PRELOGIN probe.
const nmapProbe = "\x12\x01\x00\x34\x00\x00\x00\x00\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x0c\x03\x00\x28\x00\x04\xff\x08\x00\x01\x55\x00\x00\x00\x4d\x53\x53\x51\x4c\x53\x65\x72\x76\x65\x72\x00\x48\x0f\x00\x00"

// The PRELOGIN answer echoes the client's options as SQL Server does:
// the exact bytes nmap's ms-sql-s matches read the version from.
func TestPrelogin(t *testing.T) {
	r := servicetest.Start(t, "mssql", 1433, windows("15.0.2000.5"))
	c, err := net.DialTimeout("tcp", r.HostPort(1433), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, nmapProbe)
	got := make([]byte, 37)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	want := []byte("\x04\x01\x00\x25\x00\x00\x01\x00\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x01\x03\x00\x1d\x00\x00\xff\x0f\x00\x07\xd0\x00\x00\x00\x00")
	if !bytes.Equal(got, want) {
		t.Errorf("PRELOGIN answer %x, want %x", got, want)
	}
	e, ok := r.Events.Wait(3*time.Second, event.OfType("mssql.client.prelogin"))
	if !ok || e.Fields["instance"] != "MSSQLServer" || e.Fields["client_version"] != "8.0.341.0" {
		t.Errorf("prelogin event %v", e.Fields)
	}
}

// nmap names the persona's SQL Server and its scripts read the version
// and the NTLM names.
func TestNmap(t *testing.T) {
	if testenv.Short() {
		t.Skip("nmap is slow")
	}
	r := servicetest.Start(t, "mssql", 1433, windows("15.0.2000.5"))
	line := testenv.NmapService(t, r.Addr.String(), r.Port(1433))
	if !strings.Contains(line, "ms-sql-s Microsoft SQL Server 2019 15.00.2000") {
		t.Errorf("nmap -sV says %q", line)
	}
	bin := testenv.RequireTool(t, "nmap")
	args := []string{"-sV", "-Pn", "-n", "-p", r.Port(1433), "--script", "ms-sql-info,ms-sql-ntlm-info", r.Addr.String()}
	if dir := patchedMSSQLLib(t); dir != "" {
		args = append([]string{"--datadir", dir}, args...)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	text := string(out)
	t.Log(text)
	if _, ok := r.Events.Wait(time.Second, event.OfType("mssql.ntlm.challenge")); !ok {
		t.Errorf("no ntlm.challenge: %v", r.Events.Events())
	}
	w := r.Env.Windows()
	for _, want := range []string{
		"name: Microsoft SQL Server 2019 RTM", "number: 15.00.2000.00", "Product: Microsoft SQL Server 2019",
		"NetBIOS_Domain_Name: " + w.NetBIOSDomain, "NetBIOS_Computer_Name: " + w.NetBIOSName,
		"DNS_Domain_Name: " + w.DNSDomain, "DNS_Computer_Name: " + w.DNSName, "Product_Version: 10.0.17763",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("nmap scripts do not show %q", want)
		}
	}
}

// patchedMSSQLLib works around two bugs of nmap 7.93's mssql library that
// silence every ms-sql-* script, against a real SQL Server too:
// GetTargetInstances reads two values from GetDiscoveredInstances, which
// returns one (the script crashes), and InitScript's action tests a table
// keyed by instance name with # (nothing is printed). Both are fixed in
// later nmap. It returns a data directory holding the fixed library, or ""
// when the installed one is fine.
func patchedMSSQLLib(t *testing.T) string {
	lib, err := os.ReadFile("/usr/share/nmap/nselib/mssql.lua")
	if err != nil {
		return ""
	}
	const bug = "local status, instances = Helper.GetDiscoveredInstances(host, port)\n      if status then"
	if !bytes.Contains(lib, []byte(bug)) {
		return ""
	}
	fixed := bytes.Replace(lib, []byte(bug), []byte("local instances = Helper.GetDiscoveredInstances(host, port)\n      if instances then"), 1)
	fixed = bytes.Replace(fixed, []byte("if #output > 0 then"), []byte("if next(output) then"), 1)
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/nselib", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/nselib/mssql.lua", fixed, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tsql (FreeTDS) logs in with a wrong sa password: it prints SQL Server's
// 18456, and the password is captured.
func TestTsql(t *testing.T) {
	bin := testenv.RequireTool(t, "tsql")
	r := servicetest.Start(t, "mssql", 1433, windows(""))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-H", r.Addr.String(), "-p", r.Port(1433), "-U", "sa", "-P", "S3cret!pw")
	cmd.Stdin = strings.NewReader("quit\n")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, _ := cmd.CombinedOutput()
	t.Log(string(out))
	if !strings.Contains(string(out), "Login failed for user 'sa'.") || !strings.Contains(string(out), "Msg 18456") {
		t.Errorf("tsql did not print SQL Server's login failure")
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("mssql.login.failed"))
	if !ok {
		t.Fatalf("no login.failed: %v", r.Events.Events())
	}
	if c := e.Credential; c == nil || c.Principal != "sa" || c.SecretText != "S3cret!pw" {
		t.Errorf("credential %+v", e.Credential)
	}
	if e.Fields["library"] == "" || e.Fields["method"] != "sql" {
		t.Errorf("fields %v", e.Fields)
	}
}

// mssqlclient runs impacket's client: the login is encrypted (TLS inside
// PRELOGIN packets), the reply is 18456 for a SQL login and a NetNTLMv2
// capture the password recomputes for a Windows login.
func mssqlclient(t *testing.T, r *servicetest.Running, args ...string) string {
	t.Helper()
	py := testenv.RequireTool(t, "/usr/bin/python3")
	script := "/usr/share/doc/python3-impacket/examples/mssqlclient.py"
	if _, err := os.Stat(script); err != nil {
		testenv.RequireTool(t, "impacket mssqlclient.py")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{script, "-port", r.Port(1433)}, args...)...)
	cmd.Stdin = strings.NewReader("exit\n")
	out, _ := cmd.CombinedOutput()
	t.Log(string(out))
	return string(out)
}

func TestImpacketSQLLogin(t *testing.T) {
	r := servicetest.Start(t, "mssql", 1433, windows(""))
	out := mssqlclient(t, r, "sa:Passw0rd!@"+r.Addr.String())
	if !strings.Contains(out, "Login failed for user 'sa'.") {
		t.Errorf("mssqlclient did not print the login failure")
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("mssql.login.failed"))
	if !ok {
		t.Fatalf("no login.failed: %v", r.Events.Events())
	}
	if c := e.Credential; c == nil || c.SecretText != "Passw0rd!" || e.Fields["tls"] != true {
		t.Errorf("credential %+v, fields %v", e.Credential, e.Fields)
	}
	if _, ok := r.Events.Wait(time.Second, event.OfType("mssql.tls.handshake")); !ok {
		t.Error("no tls.handshake event")
	}
}

func TestImpacketWindowsAuth(t *testing.T) {
	r := servicetest.Start(t, "mssql", 1433, windows(""))
	out := mssqlclient(t, r, "-windows-auth", "CORP/alice:Summer2024!@"+r.Addr.String())
	if !strings.Contains(out, "untrusted domain") {
		t.Errorf("mssqlclient did not print the integrated login failure")
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("mssql.login.failed"))
	if !ok {
		t.Fatalf("no login.failed: %v", r.Events.Events())
	}
	c := e.Credential
	if c == nil || c.CrackMode != 5600 || !strings.HasPrefix(strings.ToLower(c.CrackLine), "alice::corp:") {
		t.Fatalf("credential %+v", c)
	}
	checkNetNTLMv2(t, c.CrackLine, "Summer2024!")
}

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// checkNetNTLMv2 recomputes a hashcat 5600 line from the password.
func checkNetNTLMv2(t *testing.T, line, password string) {
	t.Helper()
	f := strings.Split(line, ":")
	if len(f) != 6 {
		t.Fatalf("not a 5600 line: %q", line)
	}
	chal, _ := hex.DecodeString(f[3])
	blob, _ := hex.DecodeString(f[5])
	h := md4.New()
	h.Write(utf16le(password))
	m := hmac.New(md5.New, h.Sum(nil))
	m.Write(utf16le(strings.ToUpper(f[0]) + f[2]))
	m = hmac.New(md5.New, m.Sum(nil))
	m.Write(chal)
	m.Write(blob)
	if got := hex.EncodeToString(m.Sum(nil)); got != f[4] {
		t.Errorf("NTProofStr %s does not follow from the password (recomputed %s)", f[4], got)
	}
}
