package ftp_test

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
	cases := []struct {
		name, distro string
		config       map[string]any
		want         string
	}{
		{"vsftpd debian", "debian", nil, `21/tcp\s+open\s+ftp\s+vsftpd 3\.0\.3`},
		{"vsftpd centos7", "centos7", nil, `21/tcp\s+open\s+ftp\s+vsftpd 3\.0\.2`},
		{"proftpd", "debian", map[string]any{"banner": "proftpd"}, `21/tcp\s+open\s+ftp\s+ProFTPD`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := servicetest.Start(t, "ftp", 21, servicetest.Options{Distro: tc.distro, Config: tc.config})
			out, err := exec.Command(bin, "-sV", "-Pn", "--version-intensity", "9", "-p", "21", r.Addr.String()).CombinedOutput()
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
