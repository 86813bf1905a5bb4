package redis_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func TestNmapVersion(t *testing.T) {
	bin := testenv.RequireTool(t, "nmap")
	cases := []struct{ distro, want string }{
		{"debian", `6379/tcp\s+open\s+redis\s+Redis key-value store 7\.0\.15`},
		{"ubuntu22", `6379/tcp\s+open\s+redis\s+Redis key-value store 6\.0\.16`},
	}
	for _, tc := range cases {
		t.Run(tc.distro, func(t *testing.T) {
			r := servicetest.Start(t, "redis", 6379, servicetest.Options{Distro: tc.distro})
			out, err := exec.Command(bin, "-sV", "-Pn", "--version-intensity", "9", "-p", "6379", r.Addr.String()).CombinedOutput()
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			t.Logf("nmap:\n%s", out)
			if !regexp.MustCompile(tc.want).Match(out) {
				t.Errorf("nmap does not say %s", tc.want)
			}
			if strings.Contains(strings.ToLower(string(out)), "honeypot") {
				t.Error("nmap says honeypot")
			}
		})
	}
}
