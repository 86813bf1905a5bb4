package http

import (
	"bufio"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

var volatile = regexp.MustCompile(`(?m)^(Date|Last-Modified|ETag): .*\r$`)

// shape keeps the status line, the header names in order with the values
// that must match, and the body.
func shape(resp string) string {
	return volatile.ReplaceAllString(resp, "$1: *\r")
}

// TestMatchesRealNginx sends the same requests to Debian's nginx and to an
// http decky claiming that nginx, and wants byte-identical answers but for
// dates and validators.
func TestMatchesRealNginx(t *testing.T) {
	bin := testenv.RequireTool(t, "nginx")
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	version := strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: "))
	// nginx's workers run unprivileged: the test's files must be readable.
	dir, err := os.MkdirTemp("", "decnet-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	root := filepath.Join(dir, "html")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "index.html"), []byte(nginxIndex), 0o644)
	port := 20000 + int(time.Now().UnixNano()%20000)
	conf := fmt.Sprintf(`worker_processes 1; pid %[1]s/nginx.pid; error_log %[1]s/error.log; daemon off;
events { worker_connections 64; }
http { access_log off; include /etc/nginx/mime.types; default_type application/octet-stream;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server { listen 127.0.0.1:%[2]d; root %[3]s; } }`, dir, port, root)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ref := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", ref); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal("nginx did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
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
	} {
		want, got := shape(servicetest.Exchange(t, ref, req, 5*time.Second)), shape(servicetest.Exchange(t, decky, req, 5*time.Second))
		if want != got {
			t.Errorf("request %q\n--- nginx ---\n%s\n--- decky ---\n%s", req, want, got)
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

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /a?b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ReadRequest(bufio.NewReader(strings.NewReader(string(data))))
		if err == nil && len(req.Body) > maxBody {
			t.Fatal("body over its bound")
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
