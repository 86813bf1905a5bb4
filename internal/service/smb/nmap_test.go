package smb

import (
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// nmapScripts runs nmap's SMB scripts on port 445 and returns the host
// script results with the date lines taken out.
func nmapScripts(t *testing.T, host, port string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "nmap")
	out, err := exec.Command(bin, "-Pn", "-n", "-p", port, "--script",
		"smb-os-discovery,smb-protocols,smb2-security-mode,smb2-time,smb2-capabilities", host).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	t.Logf("nmap scripts on %s:%s:\n%s", host, port, out)
	text := string(out)
	i := strings.Index(text, "Host script results:")
	if i < 0 {
		t.Fatalf("no host script results:\n%s", text)
	}
	text = text[i:]
	text = text[:strings.Index(text, "\n\n")]
	text = regexp.MustCompile(`(?m)^\|\s+date: .*\n`).ReplaceAllString(text, "")
	// nmap runs the scripts at once: their order varies, so sort them.
	var blocks []string
	for _, l := range strings.Split(text, "\n")[1:] {
		if regexp.MustCompile(`^\| [\w-]+: ?$`).MatchString(l) || len(blocks) == 0 {
			blocks = append(blocks, "")
		}
		blocks[len(blocks)-1] += l + "\n"
	}
	sort.Strings(blocks)
	return strings.Join(blocks, "")
}

// A Debian persona is what Debian 12's Samba is, to nmap -sV and to the
// SMB scripts.
func TestNmapAgainstRealSamba(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	real := startSamba(t)
	r := servicetest.Start(t, "smb", PortDirect, debian)
	for _, port := range []uint16{PortDirect, PortNetBIOS} {
		want := testenv.NmapService(t, real, r.Port(port))
		got := testenv.NmapService(t, r.Addr.String(), r.Port(port))
		t.Logf("port %d: real %q, decky %q", port, want, got)
		if got != want {
			t.Errorf("port %d: nmap -sV says %q of the decky, %q of Samba", port, got, want)
		}
	}
	if want, got := nmapScripts(t, real, "445"), nmapScripts(t, r.Addr.String(), r.Port(PortDirect)); got != want {
		t.Errorf("scripts differ:\ndecky:\n%s\nsamba:\n%s", got, want)
	}
}

func TestNmapWindows(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	testenv.RequireRoot(t)
	for _, tc := range []struct {
		name    string
		o       servicetest.Options
		signing string
		ports   []uint16
	}{
		// nmap -sV spends two minutes on a 445 that drops SMB1, as on a
		// real Windows: do it once.
		{"member", windows, "Message signing enabled but not required", []uint16{PortDirect, PortNetBIOS}},
		{"dc", servicetest.Options{OS: "windows_server", Distro: "win2022", Archetype: "domain-controller"}, "Message signing enabled and required", []uint16{PortNetBIOS}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := servicetest.Start(t, "smb", PortDirect, tc.o)
			for _, port := range tc.ports {
				got := testenv.NmapService(t, r.Addr.String(), r.Port(port))
				t.Logf("port %d: %q", port, got)
				if port == PortNetBIOS && !strings.Contains(got, "Microsoft Windows netbios-ssn") || port == PortDirect && got != "open microsoft-ds?" {
					t.Errorf("%d: nmap -sV says %q, not what it says of Windows", port, got)
				}
			}
			out := nmapScripts(t, r.Addr.String(), r.Port(PortDirect))
			for _, want := range []string{"311", "302", "202", tc.signing, "start_date"} {
				if !strings.Contains(out, want) {
					t.Errorf("scripts lack %q", want)
				}
			}
		})
	}
}
