package snmp_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	_ "github.com/decnet/decnet/internal/service/snmp"
	"github.com/decnet/decnet/internal/testenv"
)

// snmpCmd runs one net-snmp client (numeric OIDs, no MIB files) against
// addr and returns its output and whether it succeeded.
func snmpCmd(t *testing.T, tool, addr string, args ...string) (string, error) {
	t.Helper()
	bin := testenv.RequireTool(t, tool)
	// The agent address goes between the options and the OIDs.
	opts, oids := split(args)
	cmd := exec.Command(bin, append(append(append([]string{"-m", "", "-On", "-t", "1", "-r", "0"}, opts...), addr), oids...)...)
	cmd.Env = append(os.Environ(), "MIBS=", "SNMPCONFPATH="+t.TempDir(), "SNMP_PERSISTENT_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var kept []string
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if !strings.HasPrefix(l, "Created directory: ") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, ""), err
}

// split separates client options (leading "-x value" pairs) from OIDs.
func split(args []string) (opts, oids []string) {
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			opts = append(opts, args[i])
			if strings.Contains(" -c -u -l -a -A -x -X ", " "+args[i]+" ") && i+1 < len(args) {
				i++
				opts = append(opts, args[i])
			}
			continue
		}
		oids = append(oids, args[i:]...)
		break
	}
	return opts, oids
}

func mustSNMP(t *testing.T, tool, addr string, args ...string) string {
	t.Helper()
	out, err := snmpCmd(t, tool, addr, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	return out
}

func TestClientsAgainstDecky(t *testing.T) {
	r := start(t, servicetest.Options{Distro: "debian", Hostname: "mon-01"})
	addr := r.HostPort(161)

	walk := mustSNMP(t, "snmpwalk", addr, "-v2c", "-c", "public")
	want := "Linux mon-01 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64"
	for _, line := range []string{
		`.1.3.6.1.2.1.1.1.0 = STRING: "` + want + `"`,
		`.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10`,
		`.1.3.6.1.2.1.1.5.0 = STRING: "mon-01"`,
		`.1.3.6.1.2.1.1.7.0 = INTEGER: 72`,
		`.1.3.6.1.2.1.2.2.1.2.1 = STRING: "lo"`,
		".1.3.6.1.2.1.4.20.1.1." + r.Addr.String() + " = IpAddress: " + r.Addr.String(),
	} {
		if !strings.Contains(walk, line+"\n") {
			t.Errorf("walk lacks %q", line)
		}
	}
	mac := strings.ToUpper(strings.ReplaceAll(r.Env.Identity.MACFor(r.Env.Persona.Family, 0), ":", " "))
	if !strings.Contains(walk, ".1.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: "+mac) {
		t.Errorf("walk lacks the decky's MAC %s", mac)
	}
	if n := strings.Count(walk, "\n"); n < 300 {
		t.Errorf("walk has only %d lines", n)
	}

	// Counters move forward between two reads and never back.
	read := func() (ticks, octets uint64) {
		out := mustSNMP(t, "snmpget", addr, "-v2c", "-c", "public", "-Oqvt", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.31.1.1.1.6.2")
		if _, err := fmt.Sscan(out, &ticks, &octets); err != nil {
			t.Fatalf("read counters %q: %v", out, err)
		}
		return ticks, octets
	}
	t1, o1 := read()
	time.Sleep(1100 * time.Millisecond)
	t2, o2 := read()
	if t2 <= t1 || o2 <= o1 {
		t.Errorf("uptime %d -> %d, octets %d -> %d: not growing", t1, t2, o1, o2)
	}

	bulk := mustSNMP(t, "snmpbulkwalk", addr, "-v2c", "-c", "public", "-Cr25", "1.3.6.1.2.1.2")
	if !strings.Contains(bulk, ".1.3.6.1.2.1.2.2.1.22.2 = OID: .0.0") {
		t.Errorf("bulkwalk of interfaces incomplete:\n%s", bulk)
	}

	out, _ := snmpCmd(t, "snmpget", addr, "-v2c", "-c", "public", "1.3.6.1.2.1.1.1", "1.3.6.1.2.1.99.0")
	if !strings.Contains(out, "No Such Instance") || !strings.Contains(out, "No Such Object") {
		t.Errorf("v2c exceptions: %s", out)
	}
	out, _ = snmpCmd(t, "snmpget", addr, "-v1", "-c", "public", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.1")
	if !strings.Contains(out, "noSuchName") || !strings.Contains(out, "Failed object: .1.3.6.1.2.1.1.1\n") {
		t.Errorf("v1 noSuchName: %s", out)
	}
	out, _ = snmpCmd(t, "snmpgetnext", addr, "-v2c", "-c", "public", "1.4")
	if !strings.Contains(out, "No more variables left in this MIB View") {
		t.Errorf("end of MIB: %s", out)
	}

	out, err := snmpCmd(t, "snmpget", addr, "-v2c", "-c", "s3cr3t", "1.3.6.1.2.1.1.1.0")
	if err == nil || !strings.Contains(out, "Timeout") {
		t.Errorf("wrong community answered: %v %s", err, out)
	}
	e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "snmp.login.failed" && e.Credential != nil && e.Credential.SecretText == "s3cr3t"
	})
	if !ok || e.Fields["version"] != "2c" {
		t.Errorf("no login.failed for the wrong community: %+v", e)
	}
	if _, ok := r.Events.Wait(time.Second, func(e event.Event) bool {
		return e.Type == "snmp.login.success" && e.Credential.SecretText == "public"
	}); !ok {
		t.Errorf("no login.success for public")
	}

	out, _ = snmpCmd(t, "snmpset", addr, "-v2c", "-c", "public", "1.3.6.1.2.1.1.6.0", "s", "pwned")
	if !strings.Contains(out, "Reason: noAccess") {
		t.Errorf("set: %s", out)
	}
	e, ok = r.Events.Wait(5*time.Second, event.OfType("snmp.request.set"))
	if !ok || fmt.Sprint(e.Fields["values"]) != "[STRING: pwned]" || e.Fields["error"] != "noAccess" {
		t.Errorf("set event: %+v", e)
	}

	out, _ = snmpCmd(t, "snmpget", addr, "-v3", "-l", "authNoPriv", "-u", "nagios", "-a", "SHA", "-A", "monitor123", "1.3.6.1.2.1.1.1.0")
	if !strings.Contains(out, "Unknown user name") {
		t.Errorf("v3 unknown user: %s", out)
	}
	e, ok = r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "snmp.login.failed" && e.Credential != nil && e.Credential.Principal == "nagios"
	})
	if !ok || e.Credential.CrackMode != 25000 || !strings.HasPrefix(e.Credential.CrackLine, "$SNMPv3$0$") {
		t.Errorf("v3 user event: %+v", e)
	}
	if _, ok := r.Events.Wait(time.Second, event.OfType("snmp.engine.discovery")); !ok {
		t.Errorf("no discovery event")
	}
	reads := 0
	for _, e := range r.Events.Events() {
		if e.Type == "snmp.request.read" {
			reads++
		}
	}
	if reads > 20 {
		t.Errorf("%d read events: walks are not coalesced", reads)
	}
}

func TestWindowsPersona(t *testing.T) {
	r := start(t, servicetest.Options{OS: "windows_server", Distro: "win2019"})
	out := mustSNMP(t, "snmpget", r.HostPort(161), "-v2c", "-c", "public", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.7.0")
	if !regexp.MustCompile(`STRING: "Hardware: Intel64 Family 6 Model \d+ Stepping \d+ AT/AT COMPATIBLE - Software: Windows Version 6.3 \(Build 17763 Multiprocessor Free\)"`).MatchString(out) ||
		!strings.Contains(out, "OID: .1.3.6.1.4.1.311.1.1.3.1.2") || !strings.Contains(out, "INTEGER: 76") {
		t.Errorf("windows system group:\n%s", out)
	}
	if out, err := snmpCmd(t, "snmpget", r.HostPort(161), "-v3", "-l", "noAuthNoPriv", "-u", "x", "1.3.6.1.2.1.1.1.0"); err == nil {
		t.Errorf("windows answered v3: %s", out)
	}
}

func TestSystemOnlyView(t *testing.T) {
	r := start(t, servicetest.Options{Config: map[string]any{"view": "systemonly", "communities": []any{"n0c"}}})
	walk := mustSNMP(t, "snmpwalk", r.HostPort(161), "-v2c", "-c", "n0c", ".1")
	for _, l := range strings.Split(strings.TrimSpace(walk), "\n") {
		if strings.HasPrefix(l, ".") && !strings.HasPrefix(l, ".1.3.6.1.2.1.1.") && !strings.HasPrefix(l, ".1.3.6.1.2.1.25.1.") {
			t.Errorf("outside the view: %s", l)
		}
	}
	if out, err := snmpCmd(t, "snmpget", r.HostPort(161), "-v2c", "-c", "public", "1.3.6.1.2.1.1.1.0"); err == nil {
		t.Errorf("public answered though not configured: %s", out)
	}
}

// shape reduces a walk to what must match between two agents: each
// object (the OID without its instance for the groups compared) and the
// type of its value.
func shape(walk string, prefixes ...string) []string {
	set := map[string]bool{}
	for _, l := range strings.Split(walk, "\n") {
		oid, val, ok := strings.Cut(l, " = ")
		if !ok {
			continue
		}
		for _, p := range prefixes {
			if !strings.HasPrefix(oid, p) {
				continue
			}
			typ, _, _ := strings.Cut(val, ":")
			if val == `""` {
				typ = "STRING"
			}
			if typ == "Hex-STRING" {
				typ = "STRING"
			}
			obj := oid
			if rest := strings.TrimPrefix(oid, p); strings.Count(rest, ".") > 0 && p != ".1.3.6.1.2.1.1." {
				obj = p + strings.SplitN(rest, ".", 2)[0]
			}
			if p == ".1.3.6.1.2.1.1." && strings.HasPrefix(oid, ".1.3.6.1.2.1.1.9.1.") {
				obj = strings.Join(strings.Split(oid, ".")[:11], ".")
			}
			set[obj+" "+typ] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestAgainstRealNetSNMP runs Debian's snmpd beside the decky and
// compares what nmap and the net-snmp clients see of both.
func TestAgainstRealNetSNMP(t *testing.T) {
	snmpd := testenv.RequireTool(t, "snmpd")
	testenv.RequireTool(t, "snmpwalk")
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	os.WriteFile(conf, []byte("sysLocation    Sitting on the Dock of the Bay\nsysContact     Me <me@example.org>\nsysServices    72\nrocommunity  public default\n"), 0o644)
	realIP := fmt.Sprintf("127.%d.%d.%d", 20+rand.IntN(200), rand.IntN(256), 2+rand.IntN(250))
	port := fmt.Sprint(testenv.FreePort(t, netip.MustParseAddr(realIP)))
	cmd := exec.Command(snmpd, "-f", "-Lf", filepath.Join(dir, "log"), "-C", "-c", conf, "-p", filepath.Join(dir, "pid"), "udp:"+realIP+":"+port)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=")
	realAddr := net.JoinHostPort(realIP, port)
	testenv.StartDaemon(t, "snmpd", cmd, func() bool {
		_, err := snmpCmd(t, "snmpget", realAddr, "-v2c", "-c", "public", "1.3.6.1.2.1.1.5.0")
		return err == nil
	})

	// The decky takes this machine's name so that sysName and nmap's
	// Service Info compare equal.
	hostname, _ := os.Hostname()
	r := start(t, servicetest.Options{Distro: "debian", Hostname: hostname})
	decky := r.HostPort(161)

	realWalk := mustSNMP(t, "snmpwalk", realAddr, "-v2c", "-c", "public", "1.3.6.1.2.1.1")
	realWalk += mustSNMP(t, "snmpwalk", realAddr, "-v2c", "-c", "public", "1.3.6.1.2.1.2")
	realWalk += mustSNMP(t, "snmpwalk", realAddr, "-v2c", "-c", "public", "1.3.6.1.2.1.31.1.1")
	realWalk += mustSNMP(t, "snmpwalk", realAddr, "-v2c", "-c", "public", "1.3.6.1.2.1.25.1")
	deckyWalk := mustSNMP(t, "snmpwalk", decky, "-v2c", "-c", "public", "1.3.6.1.2.1.1")
	deckyWalk += mustSNMP(t, "snmpwalk", decky, "-v2c", "-c", "public", "1.3.6.1.2.1.2")
	deckyWalk += mustSNMP(t, "snmpwalk", decky, "-v2c", "-c", "public", "1.3.6.1.2.1.31.1.1")
	deckyWalk += mustSNMP(t, "snmpwalk", decky, "-v2c", "-c", "public", "1.3.6.1.2.1.25.1")
	groups := []string{".1.3.6.1.2.1.1.", ".1.3.6.1.2.1.2.2.1.", ".1.3.6.1.2.1.2.1.", ".1.3.6.1.2.1.31.1.1.1.", ".1.3.6.1.2.1.25.1."}
	if a, b := strings.Join(shape(realWalk, groups...), "\n"), strings.Join(shape(deckyWalk, groups...), "\n"); a != b {
		t.Errorf("walk shapes differ\nreal:\n%s\n\ndecky:\n%s", a, b)
	}
	for _, oid := range []string{"1.3.6.1.2.1.1.4.0", "1.3.6.1.2.1.1.6.0", "1.3.6.1.2.1.1.8.0", "1.3.6.1.2.1.1.9.1.3.4"} {
		a := mustSNMP(t, "snmpget", realAddr, "-v2c", "-c", "public", oid)
		b := mustSNMP(t, "snmpget", decky, "-v2c", "-c", "public", oid)
		if a != b {
			t.Errorf("%s: real %q decky %q", oid, a, b)
		}
	}

	// Errors and refusals, client transcripts side by side.
	for _, args := range [][]string{
		{"snmpget", "-v2c", "-c", "public", "1.3.6.1.2.1.1.1", "1.3.6.1.2.1.99.0", "1.3.6.1.2.1.2.2.1.99.1", "1.3.6.1.2.1.2.2.1.2.99", "1.3.6.1.2.1.1.1.0.0"},
		{"snmpget", "-v1", "-c", "public", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.1"},
		{"snmpgetnext", "-v2c", "-c", "public", "1.3.6.1.6.3.99", "1.4"},
		{"snmpgetnext", "-v1", "-c", "public", "1.4"},
		{"snmpset", "-v2c", "-c", "public", "1.3.6.1.2.1.1.6.0", "s", "x"},
		{"snmpset", "-v1", "-c", "public", "1.3.6.1.2.1.1.6.0", "s", "x"},
		{"snmpset", "-v2c", "-c", "public", "1.3.6.1.2.1.99.0", "i", "1"},
		{"snmpget", "-v2c", "-c", "private", "1.3.6.1.2.1.1.5.0"},
		{"snmpget", "-v3", "-l", "noAuthNoPriv", "-u", "alice", "1.3.6.1.2.1.1.5.0"},
		{"snmpget", "-v3", "-l", "authPriv", "-u", "bob", "-a", "SHA", "-A", "password1", "-x", "AES", "-X", "password2", "1.3.6.1.2.1.1.5.0"},
	} {
		a, errA := snmpCmd(t, args[0], realAddr, args[1:]...)
		b, errB := snmpCmd(t, args[0], decky, args[1:]...)
		a = strings.ReplaceAll(a, realAddr, "ADDR")
		b = strings.ReplaceAll(b, decky, "ADDR")
		if a != b || (errA == nil) != (errB == nil) {
			t.Errorf("%v:\nreal  (%v) %q\ndecky (%v) %q", args, errA, a, errB, b)
		}
	}

	// The v3 engine id has net-snmp's layout: enterprise 8072, format
	// 128, four random bytes and a little-endian time_t.
	for name, a := range map[string]string{"real": realAddr, "decky": decky} {
		out := mustSNMP(t, "snmpget", a, "-v2c", "-c", "public", "1.3.6.1.6.3.10.2.1.1.0")
		if !regexp.MustCompile(`Hex-STRING: 80 00 1F 88 80( [0-9A-F]{2}){8} 00 00 00 00 $`).MatchString(strings.Join(strings.Fields(out), " ") + " ") {
			t.Errorf("%s engine id: %s", name, out)
		}
	}

	a := testenv.NmapUDPService(t, realIP, port)
	b := testenv.NmapUDPService(t, r.Addr.String(), r.Port(161))
	t.Logf("nmap real: %s\nnmap decky: %s", a, b)
	if a != b {
		t.Errorf("nmap -sU -sV differs:\nreal  %s\ndecky %s", a, b)
	}
}
