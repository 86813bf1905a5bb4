package decky

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// realismCase is one persona and what nmap -sV must say about each port.
type realismCase struct {
	distro, os string
	services   []string
	want       map[int][]string // port -> substrings of nmap's product/version line
	config     map[string]map[string]any
}

// TestNmapNamesPersonaProducts runs whole deckies and asks nmap -sV what
// it sees: it must name each persona's product and version, and never a
// honeypot.
func TestNmapNamesPersonaProducts(t *testing.T) {
	nmap := testenv.RequireTool(t, "nmap")
	testenv.RequireRoot(t)
	cases := []realismCase{
		{"debian", "linux", []string{"ssh", "telnet", "http", "ftp", "redis", "mysql"}, map[int][]string{
			22: {"OpenSSH", "9.2p1 Debian 2+deb12u"}, 23: {"Linux telnetd"}, 80: {"nginx", "1.22.1"}, 21: {"vsftpd", "3.0.3"}, 6379: {"Redis key-value store", "7.0.15"},
			3306: {"MySQL", "10.11.6-MariaDB-0+deb12u1"}}, nil},
		{"ubuntu22", "linux", []string{"ssh", "redis", "mysql"}, map[int][]string{
			22: {"OpenSSH", "8.9p1 Ubuntu 3ubuntu0.1"}, 6379: {"Redis key-value store", "6.0.16"}, 3306: {"MySQL", "8.0.39-0ubuntu0.22.04.1"}}, nil},
		{"ubuntu20", "linux", []string{"http"}, map[int][]string{80: {"Apache httpd", "2.4.41", "Ubuntu"}}, nil},
		{"centos7", "linux", []string{"ftp"}, map[int][]string{21: {"vsftpd", "3.0.2"}}, nil},
		{"debian", "linux", []string{"ftp"}, map[int][]string{21: {"ProFTPD"}}, map[string]map[string]any{"ftp": {"banner": "proftpd"}}},
		{"busybox", "embedded", []string{"telnet", "http"}, map[int][]string{23: {"BusyBox telnetd"}, 80: {"lighttpd", "1.4.55"}}, nil},
		{"win2019", "windows_server", []string{"http"}, map[int][]string{80: {"Microsoft IIS httpd", "10.0"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.distro+"/"+strings.Join(tc.services, "+"), func(t *testing.T) {
			t.Parallel() // one decky per loopback address: independent
			svcs := tc.services
			ip := fmt.Sprintf("127.%d.%d.%d", 20+rand.IntN(200), rand.IntN(256), 2+rand.IntN(250))
			spec := &topology.Spec{ID: "realism", Name: "realism", Seed: fmt.Sprint(rand.Uint64()),
				LANs: []topology.LAN{{Name: "lo", Subnet: ip[:strings.LastIndex(ip, ".")] + ".0/24", DMZ: true}},
				Deckies: []topology.Decky{{Name: "d", Persona: topology.Persona{OS: tc.os, Distro: tc.distro, Hostname: "srv01"},
					Addresses: []topology.Address{{LAN: "lo", IP: ip}}, Services: svcs, ServiceConfig: tc.config}}}
			rt, err := New(spec, "d", Options{SpoolDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- rt.Run(ctx) }()
			defer func() { cancel(); <-done }()
			var ports []string
			for p := range tc.want {
				ports = append(ports, fmt.Sprint(p))
				waitPort(t, net.JoinHostPort(ip, fmt.Sprint(p)))
			}
			out, err := exec.Command(nmap, "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", strings.Join(ports, ","), ip).CombinedOutput()
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			text := string(out)
			t.Logf("nmap -sV:\n%s", text)
			if strings.Contains(strings.ToLower(text), "honeypot") {
				t.Fatalf("nmap says honeypot:\n%s", text)
			}
			for p, wants := range tc.want {
				line := portLine(text, p)
				for _, w := range wants {
					if !strings.Contains(line, w) {
						t.Errorf("port %d: nmap line %q lacks %q\n%s", p, line, w, text)
					}
				}
			}
		})
	}
}

func portLine(nmapOut string, port int) string {
	for _, l := range strings.Split(nmapOut, "\n") {
		if strings.HasPrefix(l, fmt.Sprintf("%d/tcp", port)) {
			return l
		}
	}
	return ""
}

func waitPort(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never opened", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
