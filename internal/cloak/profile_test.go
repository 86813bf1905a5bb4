package cloak

import (
	"math/bits"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/persona"
)

// osEntry is one nmap-os-db fingerprint: its name, its test lines in
// order, and their attributes by test ("T1") and key ("DF").
type osEntry struct {
	name  string
	lines []string
	tests map[string]map[string]string
}

// parseOSDB reads nmap-os-db text into entries, leaving out comments and
// the Class, CPE and MatchPoints lines.
func parseOSDB(text string) []osEntry {
	var out []osEntry
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "Fingerprint "):
			out = append(out, osEntry{name: strings.TrimPrefix(l, "Fingerprint "), tests: map[string]map[string]string{}})
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "Class ") || strings.HasPrefix(l, "CPE ") || len(out) == 0:
		default:
			e := &out[len(out)-1]
			e.lines = append(e.lines, l)
			name, body, ok := strings.Cut(l, "(")
			if !ok {
				continue
			}
			attrs := map[string]string{}
			for _, kv := range strings.Split(strings.TrimSuffix(body, ")"), "%") {
				k, v, _ := strings.Cut(kv, "=")
				attrs[k] = v
			}
			e.tests[name] = attrs
		}
	}
	return out
}

var optRe = regexp.MustCompile(`M[0-9A-F]+|W[0-9A-F]+|T[01][01]|[NSL]`)

// layoutOf turns an nmap options string (M5B4NW8NNS) into a layout
// (MNWNNS), and returns the window scale it carries (-1 without).
func layoutOf(o string) (string, int) {
	var b strings.Builder
	ws := -1
	for _, tok := range optRe.FindAllString(o, -1) {
		b.WriteByte(tok[0])
		if tok[0] == 'W' {
			v, _ := strconv.ParseInt(tok[1:], 16, 32)
			ws = int(v)
		}
	}
	return b.String(), ws
}

// TestProfilesMatchNmapDB checks every profile, and its family's sysctls,
// against the nmap-os-db entry it follows (testdata/fingerprints.txt), and
// that entry against nmap's own database when nmap is installed, so that
// neither the data nor its source can drift.
func TestProfilesMatchNmapDB(t *testing.T) {
	raw, err := os.ReadFile("testdata/fingerprints.txt")
	if err != nil {
		t.Fatal(err)
	}
	ours := parseOSDB(string(raw))
	var db []osEntry
	if b, err := os.ReadFile("/usr/share/nmap/nmap-os-db"); err == nil {
		db = parseOSDB(string(b))
	} else {
		t.Logf("nmap-os-db not installed: the excerpt is not compared with it (%v)", err)
	}
	for _, fam := range Families() {
		p, _ := Lookup(fam)
		i := slices.IndexFunc(ours, func(e osEntry) bool { return e.name == p.Fingerprint })
		if i < 0 {
			t.Errorf("%s: fingerprint %q is not in testdata/fingerprints.txt", fam, p.Fingerprint)
			continue
		}
		e := ours[i]
		if db != nil && !slices.ContainsFunc(db, func(d osEntry) bool { return d.name == e.name && slices.Equal(d.lines, e.lines) }) {
			t.Errorf("%s: %q is not in nmap-os-db as testdata has it", fam, e.name)
		}
		checkProfile(t, p, e)
	}
}

func checkProfile(t *testing.T, p Profile, e osEntry) {
	t.Helper()
	fam := p.Family
	sys := fam.SysctlMap()
	hexv := func(test, key string) int {
		v, err := strconv.ParseInt(e.tests[test][key], 16, 32)
		if err != nil {
			t.Errorf("%s: %s.%s = %q", fam, test, key, e.tests[test][key])
		}
		return int(v)
	}
	yes := func(test, key, want string) bool { return e.tests[test][key] == want }
	if got := hexv("T1", "TG"); got != int(p.TTL) || sys["net.ipv4.ip_default_ttl"] != strconv.Itoa(got) {
		t.Errorf("%s: TTL %d, sysctl %s, nmap TG=%d", fam, p.TTL, sys["net.ipv4.ip_default_ttl"], got)
	}
	if yes("T1", "DF", "Y") != p.DF {
		t.Errorf("%s: DF %v, nmap T1 DF=%s", fam, p.DF, e.tests["T1"]["DF"])
	}
	if got := hexv("WIN", "W1"); got != int(p.Window) {
		t.Errorf("%s: window %#x, nmap W1=%#x", fam, p.Window, got)
	}
	if got := hexv("WIN", "W6"); got != int(p.WindowNoWS) {
		t.Errorf("%s: window without scaling %#x, nmap W6=%#x", fam, p.WindowNoWS, got)
	}
	rmem := strings.Fields(sys["net.ipv4.tcp_rmem"])
	max, _ := strconv.Atoi(rmem[len(rmem)-1])
	kernelWS := bits.Len(uint(max)) - 1 - 15
	var all string
	for _, k := range []string{"O1", "O2", "O3", "O4", "O5", "O6"} {
		all += e.tests["OPS"][k]
	}
	for _, o := range []string{"O1", "O2", "O3", "O4", "O5", "O6", "ECN"} {
		v := e.tests["OPS"][o]
		if o == "ECN" {
			v = e.tests["ECN"]["O"]
		}
		l, ws := layoutOf(v)
		if !slices.Contains(p.Layouts, l) {
			t.Errorf("%s: no layout %s for nmap %s=%s", fam, l, o, v)
		}
		if ws >= 0 && ws != kernelWS {
			t.Errorf("%s: nmap %s=%s has window scale %d, tcp_rmem %s gives %d", fam, o, v, ws, sys["net.ipv4.tcp_rmem"], kernelWS)
		}
	}
	on := func(k string) bool { return sys["net.ipv4."+k] != "0" }
	if strings.Contains(all, "T") != on("tcp_timestamps") || strings.Contains(all, "S") != on("tcp_sack") ||
		strings.Contains(all, "W") != on("tcp_window_scaling") {
		t.Errorf("%s: options %s against sysctls %v", fam, all, sys)
	}
	if yes("ECN", "CC", "Y") != on("tcp_ecn") {
		t.Errorf("%s: ECN CC=%s, tcp_ecn %s", fam, e.tests["ECN"]["CC"], sys["net.ipv4.tcp_ecn"])
	}
	if want := map[string]IPID{"I": IPIDIncremental, "RD": IPIDRandom, "Z": IPIDZeroDF}[e.tests["SEQ"]["TI"]]; want != p.IPID {
		t.Errorf("%s: IP ID %q, nmap TI=%s", fam, p.IPID, e.tests["SEQ"]["TI"])
	}
	if yes("T2", "R", "Y") != (p.OpenNoSYN == AnswerRSTAck) {
		t.Errorf("%s: open-port probe without SYN answered %q, nmap T2 %v", fam, p.OpenNoSYN, e.tests["T2"])
	}
	t3 := map[string]Answer{"": AnswerNone, "AR": AnswerRSTAck, "AS": AnswerAsSYN}[e.tests["T3"]["F"]]
	if t3 != p.OpenSYNFIN {
		t.Errorf("%s: SYN+FIN answered %q, nmap T3 %v", fam, p.OpenSYNFIN, e.tests["T3"])
	}
	if yes("T4", "A", "O") != p.BareRSTAck || yes("T6", "A", "O") != p.BareRSTAck {
		t.Errorf("%s: bare RST ack %v, nmap T4/T6 A=%s/%s", fam, p.BareRSTAck, e.tests["T4"]["A"], e.tests["T6"]["A"])
	}
	closed := p.Closed != nil
	if yes("T5", "S", "A") && (!closed || !p.Closed.SeqFromAck) || yes("T5", "S", "Z") && closed && p.Closed.SeqFromAck {
		t.Errorf("%s: closed-port reset %+v, nmap T5 S=%s", fam, p.Closed, e.tests["T5"]["S"])
	}
	if yes("T7", "A", "S") != (closed && p.Closed.AckNoFIN) {
		t.Errorf("%s: closed-port reset %+v, nmap T7 A=%s", fam, p.Closed, e.tests["T7"]["A"])
	}
	if yes("IE", "CD", "Z") != p.EchoCodeZero || yes("IE", "DFI", "S") != p.EchoDF {
		t.Errorf("%s: echo code zero %v, echo DF %v, nmap IE %v", fam, p.EchoCodeZero, p.EchoDF, e.tests["IE"])
	}
	if yes("U1", "IPL", "38") != p.QuoteHeaderOnly {
		t.Errorf("%s: quote header only %v, nmap U1 IPL=%s", fam, p.QuoteHeaderOnly, e.tests["U1"]["IPL"])
	}
	mss := regexp.MustCompile(`^M[0-9A-F]+`)
	if mssEcho := mss.FindString(e.tests["OPS"]["O2"]) != mss.FindString(e.tests["OPS"]["O1"]); mssEcho != p.MSSEcho {
		t.Errorf("%s: MSS echo %v, nmap O1 %s O2 %s", fam, p.MSSEcho, e.tests["OPS"]["O1"], e.tests["OPS"]["O2"])
	}
}

// TestLinuxNeedsNoCloak: the families running as plain Linux have no
// profile, and every family with a profile has a persona.
func TestLinuxNeedsNoCloak(t *testing.T) {
	for _, f := range []persona.Family{persona.Linux, persona.Embedded} {
		if _, ok := Lookup(f); ok {
			t.Errorf("%s has a cloak profile", f)
		}
	}
	for _, f := range Families() {
		if _, ok := persona.LookupFamily(f); !ok {
			t.Errorf("profile for unknown family %s", f)
		}
	}
}
