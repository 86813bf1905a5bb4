package http

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// tlsScan is what nmap's ssl-enum-ciphers reports: the suites of each
// protocol version, and the key exchange group of each suite.
func tlsScan(t *testing.T, nmap, host, port string) map[string][]string {
	t.Helper()
	out, err := exec.Command(nmap, "-Pn", "-n", "-p", port, "--script", "ssl-enum-ciphers", host).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	scan := map[string][]string{}
	proto := ""
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(strings.TrimLeft(l, "|_ "))
		switch {
		case len(f) == 1 && strings.HasPrefix(f[0], "TLSv"):
			proto = strings.TrimSuffix(f[0], ":")
			scan[proto] = nil
		case len(f) >= 2 && strings.HasPrefix(f[0], "TLS_") && proto != "":
			scan[proto] = append(scan[proto], f[0]+" "+f[1])
		}
	}
	return scan
}

// startRealNginxTLS runs Debian's nginx with TLS as Debian's nginx.conf
// sets it (ssl_protocols TLSv1 to TLSv1.3, server preference, the default
// ciphers) and an ECDSA P-256 certificate, like the decky's.
func startRealNginxTLS(t *testing.T) string {
	t.Helper()
	bin := testenv.RequireTool(t, "nginx")
	dir, root := webRoot(t, "decnet-nginx-tls-", NginxIndex)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "intranet01"}, DNSNames: []string{"intranet01"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	lo := netip.MustParseAddr("127.0.0.1")
	port := testenv.FreePort(t, lo)
	conf := fmt.Sprintf(`master_process off; worker_processes 1; pid %[1]s/nginx.pid; error_log %[1]s/error.log; daemon off;
events { worker_connections 64; }
http { access_log off; include /etc/nginx/mime.types;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers on;
  server { listen 127.0.0.1:%[2]d ssl; ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem; root %[3]s; } }`, dir, port, root)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	addr := netip.AddrPortFrom(lo, port).String()
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	cmd.WaitDelay = time.Second
	testenv.StartDaemon(t, "nginx", cmd, testenv.Dialable(addr))
	return addr
}

// goLacks are the suites OpenSSL offers and crypto/tls does not
// implement: the only ones the decky may leave out.
func goLacks(suite string) bool {
	for _, s := range []string{"_CCM", "_ARIA_", "_CAMELLIA_", "AES_256_CBC_SHA384", "_DHE_"} {
		if strings.Contains(suite, s) {
			return true
		}
	}
	return false
}

// TestTLSLikeRealNginx scans Debian's nginx and an https decky claiming
// it with nmap's ssl-enum-ciphers: the same protocol versions, and in TLS
// 1.2 nginx's suites but those crypto/tls lacks, none more. What Go
// decides itself (the TLS 1.2 key exchange group follows the client's
// order, the suites' order) is printed, not compared (docs/realism.md).
func TestTLSLikeRealNginx(t *testing.T) {
	nmap := testenv.RequireTool(t, "nmap")
	real := startRealNginxTLS(t)
	r := servicetest.Start(t, "https", 443, servicetest.Options{Hostname: "intranet01"})
	rh, rp, _ := net.SplitHostPort(real)
	want, got := tlsScan(t, nmap, rh, rp), tlsScan(t, nmap, r.Addr.String(), r.Port(443))
	t.Logf("nginx: %v", want)
	t.Logf("decky: %v", got)
	if wp, gp := slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)); !slices.Equal(wp, gp) || len(wp) == 0 {
		t.Fatalf("protocols: nginx %v, decky %v", wp, gp)
	}
	name := func(s string) string { return strings.Fields(s)[0] }
	var expect, have []string
	for _, s := range want["TLSv1.2"] {
		if !goLacks(name(s)) {
			expect = append(expect, name(s))
		}
	}
	for _, s := range got["TLSv1.2"] {
		have = append(have, name(s))
	}
	slices.Sort(expect)
	slices.Sort(have)
	if !slices.Equal(expect, have) {
		t.Fatalf("TLS 1.2 suites: nginx offers %v (those crypto/tls implements), the decky %v", expect, have)
	}
}

// TestTLSProfiles: SChannel's versions follow the Windows build, and no
// persona offers the post-quantum group Go would add by default.
func TestTLSProfiles(t *testing.T) {
	for _, c := range []struct {
		f        flavor
		distro   string
		min, max uint16
	}{
		{iis, "win2019", tls.VersionTLS10, tls.VersionTLS12},
		{iis, "win2022", tls.VersionTLS10, tls.VersionTLS13},
		{nginx, "debian", tls.VersionTLS12, 0},
		{apache, "ubuntu22", tls.VersionTLS12, 0},
	} {
		d, ok := persona.LookupDistro(c.distro)
		if !ok {
			t.Fatalf("no distro %s", c.distro)
		}
		cfg := tlsProfile(c.f, d, tls.Certificate{})
		if cfg.MinVersion != c.min || cfg.MaxVersion != c.max || slices.Contains(cfg.CurvePreferences, tls.X25519MLKEM768) || len(cfg.CipherSuites) == 0 {
			t.Errorf("%v %s: versions %x-%x, groups %v", c.f, c.distro, cfg.MinVersion, cfg.MaxVersion, cfg.CurvePreferences)
		}
	}
}
