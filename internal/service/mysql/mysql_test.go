package mysql_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/mysql"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// nativePassword computes the mysql_native_password response:
// SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw))).
func nativePassword(salt []byte, pw string) []byte {
	h1 := sha1.Sum([]byte(pw))
	h2 := sha1.Sum(h1[:])
	h3 := sha1.Sum(append(append([]byte(nil), salt...), h2[:]...))
	out := make([]byte, 20)
	for i := range out {
		out[i] = h1[i] ^ h3[i]
	}
	return out
}

var crackRE = regexp.MustCompile(`^\$mysqlna\$([0-9a-f]{40})\*([0-9a-f]{40})$`)

func TestMySQLClient(t *testing.T) {
	bin := testenv.RequireTool(t, "mysql")
	cases := []struct {
		name, distro, clientPlugin, password string
		wantPw                               string
	}{
		{"mariadb wrong password", "debian", "mysql_native_password", "Winter2024!", "YES"},
		{"mysql8 caching_sha2 switch", "ubuntu22", "caching_sha2_password", "hunter2", "YES"},
		{"empty password", "debian", "mysql_native_password", "", "NO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := servicetest.Start(t, "mysql", 3306, servicetest.Options{Distro: tc.distro})
			args := []string{"-h", r.Addr.String(), "-P", r.Port(3306), "-u", "root", "--connect-timeout=5", "-e", "select 1"}
			if tc.password != "" {
				args = append(args, "-p"+tc.password)
			}
			if strings.Contains(mysqlHelp(bin), "ssl-mode") {
				args = append(args, "--ssl-mode=DISABLED")
			} else {
				args = append(args, "--skip-ssl")
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err == nil {
				t.Fatalf("mysql succeeded: %s", out)
			}
			want := "ERROR 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: " + tc.wantPw + ")"
			if !strings.Contains(string(out), want) {
				t.Fatalf("mysql said %q, want %q", out, want)
			}
			hello, ok := r.Events.Wait(5*time.Second, event.OfType("mysql.client.hello"))
			if !ok || hello.Fields["user"] != "root" || hello.Fields["auth_plugin"] != tc.clientPlugin {
				t.Errorf("hello = %+v", hello)
			}
			e, ok := r.Events.Wait(5*time.Second, event.OfType("mysql.login.failed"))
			if !ok || e.Credential == nil {
				t.Fatalf("no login event with a credential: %+v", e)
			}
			cr := e.Credential
			if cr.Kind != "mysql_native" || cr.Principal != "root" {
				t.Errorf("credential = %+v", cr)
			}
			if tc.password == "" {
				if cr.CrackLine != "" {
					t.Errorf("crack line for an empty password: %s", cr.CrackLine)
				}
				return
			}
			m := crackRE.FindStringSubmatch(cr.CrackLine)
			if m == nil || cr.CrackMode != 11200 || cr.CrackFormat != "hashcat" {
				t.Fatalf("crack line %q mode %d", cr.CrackLine, cr.CrackMode)
			}
			if m[1] != cr.Challenge {
				t.Errorf("crack salt %s != challenge %s", m[1], cr.Challenge)
			}
			saltB, _ := hex.DecodeString(m[1])
			if bytes.IndexByte(saltB, 0) >= 0 {
				t.Errorf("salt has NUL: %x", saltB)
			}
			resp, _ := hex.DecodeString(m[2])
			if !bytes.Equal(resp, nativePassword(saltB, tc.password)) {
				t.Errorf("response %x does not verify against the salt for %q", resp, tc.password)
			}
			if bytes.Equal(resp, nativePassword(saltB, tc.password+"x")) {
				t.Error("a wrong password verifies")
			}
		})
	}
}

func mysqlHelp(bin string) string {
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	return string(out)
}
