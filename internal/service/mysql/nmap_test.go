package mysql_test

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
		{"debian", `3306/tcp\s+open\s+mysql\s+MySQL 5\.5\.5-10\.11\.6-MariaDB-0\+deb12u1`},
		{"ubuntu22", `3306/tcp\s+open\s+mysql\s+MySQL 8\.0\.39-0ubuntu0\.22\.04\.1`},
	}
	for _, tc := range cases {
		t.Run(tc.distro, func(t *testing.T) {
			r := servicetest.Start(t, "mysql", 3306, servicetest.Options{Distro: tc.distro})
			out, err := exec.Command(bin, "-sV", "-Pn", "--version-intensity", "9", "-p", "3306", r.Addr.String()).CombinedOutput()
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
