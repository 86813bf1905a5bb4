package ldap

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 NTLM is MD4, and the test recomputes an NTLM response

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

var dc = servicetest.Options{OS: "windows_server", Distro: "win2019", Hostname: "WIN-DC01ABCDEFG"}

func ldapsearch(t *testing.T, r *servicetest.Running, args ...string) (string, error) {
	t.Helper()
	bin := testenv.RequireTool(t, "ldapsearch")
	out, err := exec.Command(bin, append([]string{"-x", "-o", "ldif-wrap=no", "-H", "ldap://" + r.HostPort(Port)}, args...)...).CombinedOutput()
	return string(out), err
}

// A domain controller's rootDSE answers anyone, and nmap names it as
// Active Directory with the persona's domain.
func TestDomainControllerRootDSE(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	r := servicetest.Start(t, "ldap", Port, dc)
	w := r.Env.Windows()
	out, err := ldapsearch(t, r, "-s", "base", "-b", "")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"dsServiceName: CN=NTDS Settings,CN=" + w.NetBIOSName + ",CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,",
		"dnsHostName: " + w.DNSName, "defaultNamingContext: " + baseDN(w.DNSDomain, true), "domainControllerFunctionality: 7",
		"supportedSASLMechanisms: GSS-SPNEGO",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rootDSE lacks %q:\n%s", want, out)
		}
	}
	said := testenv.NmapService(t, r.Addr.String(), r.Port(Port))
	if want := "Microsoft Windows Active Directory LDAP (Domain: " + w.DNSDomain + ", Site: Default-First-Site-Name)"; !strings.Contains(said, want) {
		t.Errorf("nmap says %q, want %q", said, want)
	}
}

// Anonymous searches are refused as AD refuses them; a wrong password is
// captured in clear and refused with AD's words; a configured account
// reads the bait directory.
func TestDomainControllerBinds(t *testing.T) {
	o := dc
	o.Config = map[string]any{"users": []any{"helpdesk:Spring2025!"}}
	r := servicetest.Start(t, "ldap", Port, o)
	w := r.Env.Windows()
	base := baseDN(w.DNSDomain, true)
	if out, _ := ldapsearch(t, r, "-b", base, "(objectClass=user)"); !strings.Contains(out, "000004DC") || !strings.Contains(out, "result: 1 Operations error") {
		t.Errorf("anonymous search:\n%s", out)
	}
	out, _ := ldapsearch(t, r, "-D", "jsmith@"+w.DNSDomain, "-w", "Winter2024", "-b", base)
	if !strings.Contains(out, "Invalid credentials (49)") || !strings.Contains(out, "data 52e") {
		t.Errorf("wrong password:\n%s", out)
	}
	e, ok := r.Events.Wait(3*time.Second, event.OfType("ldap.login.failed"))
	if !ok || e.Credential == nil || e.Credential.SecretText != "Winter2024" {
		t.Fatalf("no clear-text capture: %+v", e)
	}
	out, err := ldapsearch(t, r, "-D", "helpdesk@"+w.DNSDomain, "-w", "Spring2025!", "-b", base, "(&(objectClass=user)(sAMAccountName=svc_*))", "sAMAccountName", "description")
	if err != nil || !strings.Contains(out, "sAMAccountName: svc_backup") || !strings.Contains(out, "password") {
		t.Fatalf("bound search: %v\n%s", err, out)
	}
	e, ok = r.Events.Wait(3*time.Second, func(e event.Event) bool { return e.Type == "ldap.search.request" && e.Fields["bound"] == true })
	if !ok || !strings.Contains(e.Fields["filter"].(string), "sAMAccountName=svc_*") {
		t.Fatalf("search event %+v", e.Fields)
	}
}

// ldap3's NTLM bind (Sicily, as impacket-era tools use) leaves a
// NetNTLMv2 line that the password recomputes.
func TestNTLMBindCaptured(t *testing.T) {
	py := testenv.RequireTool(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import ldap3").Run(); err != nil {
		if os.Getenv("DECNET_REQUIRE_TOOLS") == "1" {
			t.Fatal("python3-ldap3 is not installed")
		}
		t.Skip("SKIP: python3-ldap3 is not installed")
	}
	r := servicetest.Start(t, "ldap", Port, dc)
	w := r.Env.Windows()
	script := fmt.Sprintf(`import ldap3
s = ldap3.Server(%q, port=%s, get_info=ldap3.NONE)
c = ldap3.Connection(s, user=%q, password="Autumn2025", authentication=ldap3.NTLM)
print(c.bind(), c.result["result"])`, r.Addr.String(), r.Port(Port), w.NetBIOSDomain+`\mwalker`)
	// OpenSSL 3 keeps MD4, which NTLM needs, in its legacy provider.
	conf := filepath.Join(t.TempDir(), "openssl.cnf")
	os.WriteFile(conf, []byte("openssl_conf = init\n[init]\nproviders = prov\n[prov]\ndefault = on\nlegacy = on\n[on]\nactivate = 1\n"), 0o644)
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf)
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "False 49") {
		t.Errorf("ldap3 NTLM bind: %s", out)
	}
	e, ok := r.Events.Wait(3*time.Second, event.OfType("ldap.login.failed"))
	if !ok || e.Credential == nil || e.Credential.CrackMode != 5600 {
		t.Fatalf("no NTLM capture (%s): %+v", out, e)
	}
	f := strings.Split(e.Credential.CrackLine, ":")
	chal, _ := hex.DecodeString(f[3])
	proof, _ := hex.DecodeString(f[4])
	blob, _ := hex.DecodeString(f[5])
	h := md4.New()
	h.Write(utf16le("Autumn2025"))
	m := hmac.New(md5.New, h.Sum(nil))
	m.Write(utf16le(strings.ToUpper(f[0]) + f[2]))
	m2 := hmac.New(md5.New, m.Sum(nil))
	m2.Write(chal)
	m2.Write(blob)
	if f[0] != "mwalker" || !bytes.Equal(m2.Sum(nil), proof) {
		t.Fatalf("%s does not verify", e.Credential.CrackLine)
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// startSlapd runs Debian's OpenLDAP with its packaged access rules on a
// free port, as the reference a Linux persona is compared with.
func startSlapd(t *testing.T, suffix string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "/usr/sbin/slapd")
	testenv.RequireRoot(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "db"), 0o755)
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
database mdb
suffix "%[2]s"
rootdn "cn=admin,%[2]s"
rootpw secret
directory %[1]s/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`, dir, suffix)
	os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o644)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, netip.AddrFrom4([4]byte{127, 0, 0, 1})))
	cmd := exec.Command(bin, "-d", "0", "-h", "ldap://"+addr+"/", "-f", filepath.Join(dir, "slapd.conf"))
	testenv.StartDaemon(t, "slapd", cmd, testenv.Dialable(addr))
	return addr
}

// rootAttrs lists the attribute names of a rootDSE search.
func rootAttrs(out string) string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if name, _, ok := strings.Cut(l, ": "); ok && !strings.HasPrefix(l, "#") && name != "dn" && name != "search" && name != "result" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// A Linux persona is Debian's slapd to nmap and to ldapsearch.
func TestAgainstRealSlapd(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	r := servicetest.Start(t, "ldap", Port, servicetest.Options{})
	ref := startSlapd(t, "dc=example,dc=lan")
	wantc := make(chan string, 1)
	go func() { // the two scans at once: each waits out nmap's probes
		said := ""
		defer func() { wantc <- said }()
		host, port, _ := net.SplitHostPort(ref)
		said = testenv.NmapService(t, host, port)
	}()
	got := testenv.NmapService(t, r.Addr.String(), r.Port(Port))
	want := <-wantc
	if want != got {
		t.Errorf("nmap: slapd %q, decky %q", want, got)
	}
	bin := testenv.RequireTool(t, "ldapsearch")
	for _, attrs := range [][]string{nil, {"+"}, {"*", "+"}} {
		args := append([]string{"-x", "-H", "ldap://" + ref, "-s", "base", "-b", ""}, attrs...)
		refOut, _ := exec.Command(bin, args...).CombinedOutput()
		gotOut, _ := ldapsearch(t, r, append([]string{"-s", "base", "-b", ""}, attrs...)...)
		if a, b := rootAttrs(string(refOut)), rootAttrs(gotOut); a != b {
			t.Errorf("rootDSE %v: slapd %s\ndecky %s", attrs, a, b)
		}
	}
	refOut, _ := exec.Command(bin, "-x", "-H", "ldap://"+ref, "-D", "cn=admin,dc=example,dc=lan", "-w", "wrong", "-s", "base", "-b", "").CombinedOutput()
	gotOut, _ := ldapsearch(t, r, "-D", "cn=admin,"+r.Env.Settings.(*Settings).BaseDN, "-w", "wrong", "-s", "base", "-b", "")
	if strings.TrimSpace(string(refOut)) != strings.TrimSpace(gotOut) {
		t.Errorf("wrong password: slapd %q, decky %q", refOut, gotOut)
	}
}

func FuzzMessage(f *testing.F) {
	f.Add([]byte("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x02\x04\x00\x80\x00"))
	f.Add([]byte("\x30\x84\x00\x00\x00\x2d\x02\x01\x07\x63\x84\x00\x00\x00\x24\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x64\x01\x01\x00\x87\x0b\x6f\x62\x6a\x65\x63\x74\x43\x6c\x61\x73\x73\x30\x84\x00\x00\x00\x00"))
	f.Add([]byte("\x30\x25\x02\x01\x02\x63\x20\x04\x00\x0a\x01\x02\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\xa0\x0b\xa3\x09\x04\x01\x61\x04\x04\x74\x65\x73\x74\x30\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, _, err := parse(b, 0)
		if err != nil {
			return
		}
		count := 0
		if fl, ok := parseFilter(n, &count); ok {
			_ = fl.String()
			fl.match(&entry{attrs: []attr{{"cn", []string{"x"}}}})
		}
		n.encode(true)
	})
}

func FuzzSession(f *testing.F) {
	r := servicetest.Start(f, "ldap", Port, dc)
	servicetest.FuzzSession(f, r, Port,
		"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"+"\x30\x25\x02\x01\x02\x63\x20\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\x87\x0bobjectClass\x30\x00",
		"\x30\x16\x02\x01\x01\x60\x11\x02\x01\x03\x04\x00\xa3\x0a\x04\x08GSS-SPNEGO")
}
