package testenv

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// NmapService runs `nmap -sV` on one TCP port and returns what nmap says
// of it: the port line's state, service and version columns (the port
// number left out, so a decky and a reference daemon on other ports
// compare) and the "Service Info" line when there is one. It fails the test
// when nmap calls the port a honeypot.
func NmapService(t testing.TB, host, port string) string {
	t.Helper()
	return nmapVersion(t, host, port, "tcp")
}

// NmapUDPService is NmapService for a UDP port (`nmap -sU -sV`).
func NmapUDPService(t testing.TB, host, port string) string {
	t.Helper()
	return nmapVersion(t, host, port, "udp")
}

func nmapVersion(t testing.TB, host, port, proto string) string {
	t.Helper()
	bin := RequireTool(t, "nmap")
	args := []string{"-sV", "-Pn", "-n", "-p", port, host}
	if proto == "udp" {
		RequireRoot(t) // nmap scans UDP only as root
		args = append([]string{"-sU"}, args...)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap -sV %s:%s: %v\n%s", host, port, err, out)
	}
	text := string(out)
	if strings.Contains(strings.ToLower(text), "honeypot") {
		t.Fatalf("nmap calls %s:%s a honeypot:\n%s", host, port, text)
	}
	var said []string
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, port+"/"+proto+" "):
			said = append(said, strings.Join(strings.Fields(l)[1:], " "))
		case strings.HasPrefix(l, "Service Info: "):
			said = append(said, strings.TrimSpace(l))
		}
	}
	if len(said) == 0 {
		t.Fatalf("nmap -sV %s:%s printed no port line:\n%s", host, port, text)
	}
	return strings.Join(said, "\n")
}

var osGuessRe = regexp.MustCompile(`^(.*?) \((\d+%)\)`)

// NmapTopOSGuess returns the best OS guess in the output of nmap -O and
// its accuracy: the "OS details" line (an exact match) or the first of the
// "Aggressive OS guesses" (run nmap with --osscan-guess so that it always
// prints them when nothing matches exactly).
func NmapTopOSGuess(out string) (guess, accuracy string) {
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "OS details: "):
			return strings.TrimPrefix(l, "OS details: "), "exact match"
		case strings.HasPrefix(l, "Aggressive OS guesses: "):
			rest := strings.TrimPrefix(l, "Aggressive OS guesses: ")
			if m := osGuessRe.FindStringSubmatch(rest); m != nil {
				return m[1], m[2]
			}
			return rest, "?"
		}
	}
	return "", "no guess"
}
