package http

import (
	"bufio"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

var volatile = regexp.MustCompile(`(?m)^(Date|Last-Modified|ETag): .*\r$`)

// shape keeps the status line, the header names in order with the values
// that must match, and the body.
func shape(resp string) string {
	return volatile.ReplaceAllString(resp, "$1: *\r")
}

// webRoot makes a reference server's directory and its document root with
// an index page. The server's workers run unprivileged: everything is
// world-readable (so not under t.TempDir).
func webRoot(t *testing.T, prefix, index string) (dir, root string) {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	root = filepath.Join(dir, "html")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "index.html"), []byte(index), 0o644)
	return dir, root
}

// startRealNginx runs Debian's nginx on a loopback port with a static
// root (and /busy answering 503, the page nginx sends over limit_conn) and
// returns its address and version.
func startRealNginx(t *testing.T) (addr, version string) {
	t.Helper()
	bin := testenv.RequireTool(t, "nginx")
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	version = strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: "))
	dir, root := webRoot(t, "decnet-nginx-", NginxIndex)
	lo := netip.MustParseAddr("127.0.0.1")
	port := testenv.FreePort(t, lo)
	// One process (no worker outliving the killed master).
	conf := fmt.Sprintf(`master_process off; worker_processes 1; pid %[1]s/nginx.pid; error_log %[1]s/error.log; daemon off;
events { worker_connections 64; }
http { access_log off; include /etc/nginx/mime.types; default_type application/octet-stream;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server { listen 127.0.0.1:%[2]d; root %[3]s; location /busy { return 503; } } }`, dir, port, root)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	addr = netip.AddrPortFrom(lo, port).String()
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	cmd.WaitDelay = time.Second
	testenv.StartDaemon(t, "nginx", cmd, testenv.Dialable(addr))
	return addr, version
}

// TestMatchesRealNginx sends the same requests to Debian's nginx and to an
// http decky claiming that nginx, and wants byte-identical answers but for
// dates and validators: well-formed requests, then malformed request lines
// and binary junk, which nginx answers with 400 at once.
func TestMatchesRealNginx(t *testing.T) {
	ref, version := startRealNginx(t)
	r := servicetest.Start(t, "http", 80, servicetest.Options{Config: map[string]any{"server_header": version}})
	decky := r.HostPort(80)
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /index.html HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
		"FOO / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"DELETE /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /nope HTTP/1.0\r\n\r\n",
		"garbage\r\n\r\n",
		"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
		"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\nConnection: close\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
		"\x00\x01\x02\x03\r\n\r\n",
		"\r\n\r\n\x80\x81",
		"get / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET  / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1 x\r\nHost: x\r\n\r\n",
		"GET / FOO/1.1\r\nHost: x\r\n\r\n",
		"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
		"G\xc3T / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n",
		"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
		"SSH-2.0-OpenSSH_9.6\r\n",
		// potsnitch's invalid payloads.
		"INVALID / HTTP/1.1\r\nHost: test\r\n\r\n",
		"GET / HTTP/1.1\r\nX-Header: " + strings.Repeat("A", 10000) + "\r\n\r\n",
		"\x00\x01\x02\x03",
	} {
		want, got := shape(servicetest.Exchange(t, ref, req, 5*time.Second)), shape(servicetest.Exchange(t, decky, req, 5*time.Second))
		t.Logf("%q -> %q", req, strings.SplitN(got, "\r\n", 2)[0])
		if want != got {
			t.Errorf("request %.120q\n--- nginx ---\n%s\n--- decky ---\n%s", req, want, got)
		}
	}
}

func TestFlavorsErrorPages(t *testing.T) {
	for _, tc := range []struct{ distro, want string }{
		{"ubuntu20", "<address>Apache/2.4.41 (Ubuntu) Server at "},
		{"win2019", "<title>404 - File or directory not found.</title>"},
	} {
		t.Run(tc.distro, func(t *testing.T) {
			os := map[string]string{"ubuntu20": "linux", "win2019": "windows_server"}[tc.distro]
			r := servicetest.Start(t, "http", 80, servicetest.Options{OS: os, Distro: tc.distro, Hostname: "web01"})
			resp := servicetest.Exchange(t, r.HostPort(80), "GET /missing HTTP/1.1\r\nHost: web01\r\nConnection: close\r\n\r\n", 5*time.Second)
			if !strings.HasPrefix(resp, "HTTP/1.1 404 Not Found\r\n") || !strings.Contains(resp, tc.want) {
				t.Fatalf("404 page:\n%s", resp)
			}
			if strings.Contains(resp, "decky") || strings.Contains(strings.ToLower(resp), "honeypot") {
				t.Fatalf("page leaks the internal name:\n%s", resp)
			}
		})
	}
}

func TestCredentialsWithCurl(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	r := servicetest.Start(t, "http", 80, servicetest.Options{Config: map[string]any{"fake_app": "wordpress"}})
	base := "http://" + r.HostPort(80)
	run := func(args ...string) string {
		out, err := exec.Command(curl, append([]string{"-s", "--max-time", "10"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v %s", args, err, out)
		}
		return string(out)
	}
	// HTTP Basic.
	run("-u", "admin:s3cret", base+"/private")
	e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool { return e.Type == "http.login.failed" && e.Credential.Method == "Basic" })
	if !ok || e.Credential.Principal != "admin" || e.Credential.SecretText != "s3cret" {
		t.Fatalf("basic credential: %+v", e.Credential)
	}
	// WordPress form.
	page := run("-d", "log=editor&pwd=hunter2&wp-submit=Log+In", base+"/wp-login.php")
	if !strings.Contains(page, "The password you entered for the username <strong>editor</strong> is incorrect") {
		t.Fatalf("wordpress answer: %s", page)
	}
	e, ok = r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "http.login.failed" && e.Credential.Method == "form"
	})
	if !ok || e.Credential.Principal != "editor" || e.Credential.SecretText != "hunter2" || e.Fields["app"] != "wordpress" {
		t.Fatalf("form credential: %+v %v", e.Credential, e.Fields)
	}
	// A request body is captured within its bound.
	run("-X", "POST", "--data-binary", "id=1&cmd=wget%20x", base+"/cgi-bin/test.cgi")
	e, ok = r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "http.request.received" && e.Fields["path"] == "/cgi-bin/test.cgi"
	})
	if !ok || e.Fields["body_preview"] != "id=1&cmd=wget%20x" || e.Fields["status"] != 405 {
		t.Fatalf("body capture: %v", e.Fields)
	}
	// Bearer.
	run("-H", "Authorization: Bearer eyJhbGciOi.x.y", base+"/api")
	if _, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool { return e.Credential != nil && e.Credential.Kind == "bearer_token" }); !ok {
		t.Fatal("no bearer credential")
	}
}

func TestDigestCrackLine(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	r := servicetest.Start(t, "http", 80, servicetest.Options{Config: map[string]any{"fake_app": "admin_panel"}})
	out, _ := exec.Command(curl, "-s", "--max-time", "10", "--digest", "-u", "root:toor", "http://"+r.HostPort(80)+"/admin/").CombinedOutput()
	if !strings.Contains(string(out), "401") {
		t.Fatalf("no 401 page: %s", out)
	}
	e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool { return e.Credential != nil && e.Credential.Kind == "http_digest_md5" })
	if !ok || e.Credential.CrackMode != 11400 {
		t.Fatalf("digest credential: %+v", e.Credential)
	}
	// Check the line by recomputing the response for the known password.
	f := strings.Split(strings.TrimPrefix(e.Credential.CrackLine, "$sip$*"), "*")
	user, realm, method, uri, nonce, cnonce, nc, qop, resp := f[2], f[3], f[4], f[6], f[8], f[9], f[10], f[11], f[13]
	h := func(s string) string { s2 := md5.Sum([]byte(s)); return hex.EncodeToString(s2[:]) }
	want := h(h(user+":"+realm+":toor") + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + h(method+":"+uri))
	if resp != want {
		t.Fatalf("crack line does not verify: %s", e.Credential.CrackLine)
	}
}

func TestHTTPSFingerprintAndCertificate(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	r := servicetest.Start(t, "https", 443, servicetest.Options{Hostname: "intranet01"})
	out, err := exec.Command(curl, "-sk", "--max-time", "10", "https://"+r.HostPort(443)+"/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Welcome to nginx!") {
		t.Fatalf("curl https: %v %s", err, out)
	}
	// The harness's readiness probe made a handshake that failed; wait for
	// curl's.
	e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool { return e.Type == "http.tls.handshake" && e.Outcome == "success" })
	if !ok || e.Fields["ja3_hash"] == nil || !strings.HasPrefix(e.Fields["ja4"].(string), "t1") {
		t.Fatalf("tls event: %v", e.Fields)
	}
	conn, err := tls.Dial("tcp", r.HostPort(443), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	if leaf.Subject.CommonName != "intranet01" || leaf.Issuer.CommonName == leaf.Subject.CommonName || !strings.Contains(leaf.Issuer.CommonName, "Issuing CA") {
		t.Fatalf("certificate subject %q issuer %q", leaf.Subject, leaf.Issuer)
	}
	if time.Until(leaf.NotAfter) < 0 || time.Since(leaf.NotBefore) < 24*time.Hour {
		t.Fatalf("implausible validity %v - %v", leaf.NotBefore, leaf.NotAfter)
	}
}

func TestKeepAliveAndLimits(t *testing.T) {
	r := servicetest.Start(t, "http", 80, servicetest.Options{})
	c, err := net.Dial("tcp", r.HostPort(80))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := range 3 {
		fmt.Fprintf(c, "GET /n%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 404") {
			t.Fatalf("request %d on one connection: %q %v", i, line, err)
		}
		for {
			l, _ := br.ReadString('\n')
			if l == "\r\n" {
				break
			}
		}
		io.CopyN(io.Discard, br, 153)
	}
	// An oversized header block is refused, not buffered.
	resp := servicetest.Exchange(t, r.HostPort(80), "GET / HTTP/1.1\r\nHost: x\r\nX: "+strings.Repeat("a", 40<<10)+"\r\n\r\n", 5*time.Second)
	if !strings.HasPrefix(resp, "HTTP/1.1 4") {
		t.Fatalf("oversized headers: %.80q", resp)
	}
}

// TestOverLimitLikeNginx: a connection over the per-source limit gets the
// 503 page nginx sends when it refuses one, byte for byte but the date.
func TestOverLimitLikeNginx(t *testing.T) {
	ref, version := startRealNginx(t)
	r := servicetest.Start(t, "http", 80, servicetest.Options{Config: map[string]any{"server_header": version},
		Limits: serve.Limits{PerSource: 1, Total: 16, Idle: time.Minute, Life: time.Minute}})
	// The first connection is in service (kept alive) once it answered;
	// until servicetest's readiness probe is released it may be refused.
	var hold net.Conn
	testenv.Eventually(t, 5*time.Second, "a connection in service", func() bool {
		c, err := net.Dial("tcp", r.HostPort(80))
		if err != nil {
			return false
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 404") {
			c.Close()
			return false
		}
		hold = c
		return true
	})
	defer hold.Close()
	got := shape(servicetest.Exchange(t, r.HostPort(80), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second))
	// One over limit_conn is closed.
	want := shape(servicetest.Exchange(t, ref, "GET /busy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second))
	t.Logf("over the limit:\n%s", got)
	if got != want {
		t.Errorf("over the limit\n--- nginx ---\n%s\n--- decky ---\n%s", want, got)
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /a?b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("\r\nGET  /a/../b HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("GET /%2e%2e/x HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, nginxRules := range []bool{false, true} {
			req, err := readRequest(bufio.NewReader(strings.NewReader(string(data))), nginxRules)
			if err == nil && len(req.Body) > maxBody {
				t.Fatal("body over its bound")
			}
		}
	})
}

func FuzzParseDigest(f *testing.F) {
	f.Add(`username="a", realm="r", nonce="n", uri="/x", response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="c"`)
	f.Fuzz(func(t *testing.T, s string) {
		p := parseDigest(s)
		digestCrackLine(p, "GET")
	})
}

// startRealApache runs Debian's apache2 in the foreground (-X) on a
// loopback port with a static root and returns its address.
func startRealApache(t *testing.T) string {
	t.Helper()
	bin := testenv.RequireTool(t, "/usr/sbin/apache2")
	testenv.RequireRoot(t) // it switches to www-data
	dir, root := webRoot(t, "decnet-apache-", "<html><body><h1>It works!</h1></body></html>\n")
	lo := netip.MustParseAddr("127.0.0.1")
	addr := netip.AddrPortFrom(lo, testenv.FreePort(t, lo)).String()
	mods := "/usr/lib/apache2/modules/"
	conf := fmt.Sprintf(`LoadModule mpm_prefork_module %[1]smod_mpm_prefork.so
LoadModule authz_core_module %[1]smod_authz_core.so
LoadModule mime_module %[1]smod_mime.so
LoadModule dir_module %[1]smod_dir.so
ServerName localhost
Listen %[2]s
PidFile %[3]s/pid
ErrorLog %[3]s/error.log
DocumentRoot %[4]s
User www-data
Group www-data
TypesConfig /etc/mime.types
<Directory %[4]s>
  Require all granted
</Directory>
`, mods, addr, dir, root)
	os.WriteFile(filepath.Join(dir, "apache2.conf"), []byte(conf), 0o644)
	cmd := exec.Command(bin, "-X", "-f", filepath.Join(dir, "apache2.conf"))
	cmd.WaitDelay = time.Second
	testenv.StartDaemon(t, "apache2", cmd, testenv.Dialable(addr))
	return addr
}

// TestMalformedLikeRealApache sends malformed requests to Debian's Apache
// and to an Apache decky and compares what can be compared across the
// releases (Debian's apache2 is newer than any release a persona claims):
// the status line, and whether the server answered at once or waited for
// the rest of the line.
func TestMalformedLikeRealApache(t *testing.T) {
	ref := startRealApache(t)
	r := servicetest.Start(t, "http", 80, servicetest.Options{Distro: "ubuntu20"})
	decky := r.HostPort(80)
	status := func(addr, req string) string {
		out, closed := testenv.Converse(t, addr, []byte(req), 2*time.Second)
		line, _, _ := strings.Cut(string(out), "\r\n")
		if !closed {
			line += " <open>"
		}
		return line
	}
	for _, req := range []string{
		"garbage\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
		"\x00\x01\x02\x03\r\n\r\n",
		"get / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1 x\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / FOO/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\nConnection: close\r\n\r\n",
		"INVALID / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	} {
		want, got := status(ref, req), status(decky, req)
		t.Logf("%q: apache %q, decky %q", req, want, got)
		if want != got {
			t.Errorf("%q: decky %q, apache %q", req, got, want)
		}
	}
}
