package postgres

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func psql(t *testing.T, bin, addr, port, user, password, db, sslmode string, cmds ...string) (string, error) {
	t.Helper()
	args := []string{"-h", addr, "-p", port, "-U", user, "-d", db, "-w", "-X"}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGSSLMODE="+sslmode, "PGCONNECT_TIMEOUT=5", "PGAPPNAME=", "PGCLIENTENCODING=UTF8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPsqlWrongPasswordSCRAM: Debian 12's PostgreSQL 15 asks for
// SCRAM-SHA-256 over TLS; psql gets the real FATAL, and the captured
// exchange verifies against the password typed.
func TestPsqlWrongPasswordSCRAM(t *testing.T) {
	bin := testenv.RequireTool(t, "psql")
	r := servicetest.Start(t, "postgres", Port, servicetest.Options{Distro: "debian"})
	out, err := psql(t, bin, r.Addr.String(), r.Port(Port), "postgres", "Winter2024!", "postgres", "prefer", "select 1")
	if err == nil {
		t.Fatalf("psql succeeded: %s", out)
	}
	want := `FATAL:  password authentication failed for user "postgres"`
	if !strings.Contains(out, want) {
		t.Fatalf("psql said %q, want %q", out, want)
	}
	hs, ok := r.Events.Wait(5*time.Second, event.OfType("postgres.tls.handshake"))
	if !ok || hs.Fields["established"] != true {
		t.Errorf("tls handshake = %+v", hs.Fields)
	}
	st, ok := r.Events.Wait(5*time.Second, event.OfType("postgres.client.startup"))
	if !ok || st.Fields["user"] != "postgres" || st.Fields["tls"] != true {
		t.Errorf("startup = %+v", st.Fields)
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("postgres.login.failed"))
	if !ok || e.Credential == nil {
		t.Fatalf("no login.failed: %+v", e)
	}
	m := e.Credential.Material
	if e.Credential.Method != "SCRAM-SHA-256-PLUS" || m["iterations"] != scramIterations {
		t.Errorf("credential = %+v", e.Credential)
	}
	salt, _ := base64.StdEncoding.DecodeString(m["salt_b64"].(string))
	proof, _ := base64.StdEncoding.DecodeString(m["client_proof"].(string))
	am := m["auth_message"].(string)
	if !bytes.Equal(scramProof("Winter2024!", salt, scramIterations, am), proof) {
		t.Errorf("captured proof does not verify for the password typed")
	}
	if bytes.Equal(scramProof("Winter2024", salt, scramIterations, am), proof) {
		t.Errorf("a wrong password verifies")
	}
	t.Logf("psql: %s", strings.TrimSpace(out))
}

var md5Line = regexp.MustCompile(`^\$postgres\$([^*]+)\*([0-9a-f]{8})\*([0-9a-f]{32})$`)

// TestPsqlMD5CrackLine: with md5, the capture is a hashcat 11100 line
// that recomputes from the password and the salt.
func TestPsqlMD5CrackLine(t *testing.T) {
	bin := testenv.RequireTool(t, "psql")
	r := servicetest.Start(t, "postgres", Port, servicetest.Options{Distro: "debian", Config: map[string]any{"auth_method": "md5"}})
	out, err := psql(t, bin, r.Addr.String(), r.Port(Port), "dbadmin", "hunter2", "crm", "disable", "select 1")
	if err == nil || !strings.Contains(out, `FATAL:  password authentication failed for user "dbadmin"`) {
		t.Fatalf("psql: %v %s", err, out)
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("postgres.login.failed"))
	if !ok || e.Credential == nil {
		t.Fatal("no login.failed")
	}
	c := e.Credential
	mm := md5Line.FindStringSubmatch(c.CrackLine)
	if mm == nil || c.CrackMode != 11100 || c.CrackFormat != "hashcat" || mm[1] != "dbadmin" || mm[2] != c.Challenge {
		t.Fatalf("crack line %q mode %d challenge %s", c.CrackLine, c.CrackMode, c.Challenge)
	}
	salt, _ := hex.DecodeString(mm[2])
	inner := md5.Sum([]byte("hunter2dbadmin"))
	outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), salt...))
	if hex.EncodeToString(outer[:]) != mm[3] {
		t.Errorf("hash %s does not recompute from the password and salt", mm[3])
	}
	t.Logf("crack line: %s", c.CrackLine)
}

// TestPsqlAcceptedLogin: an accepted credential gets a session where
// \l, \dt and simple SELECTs work, and every statement is recorded.
func TestPsqlAcceptedLogin(t *testing.T) {
	bin := testenv.RequireTool(t, "psql")
	r := servicetest.Start(t, "postgres", Port, servicetest.Options{Distro: "debian",
		Config: map[string]any{"users": []any{"app:S3cret!"}, "databases": []any{"app_production"}}})
	out, _ := psql(t, bin, r.Addr.String(), r.Port(Port), "app", "S3cret!", "app_production", "prefer",
		`\l`, `\dt`, "select version()", "SELECT current_user", "select 1", "select * from users limit 2", "selec 1")
	t.Logf("psql:\n%s", out)
	for _, want := range []string{"app_production", "template0", "List of databases", "List of relations", "api_keys", "customers",
		"PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu", "(2 rows)", "password_hash",
		`ERROR:  syntax error at or near "selec"`} {
		if !strings.Contains(out, want) {
			t.Errorf("psql output lacks %q", want)
		}
	}
	if e, ok := r.Events.Wait(5*time.Second, event.OfType("postgres.login.success")); !ok || e.Credential.Method != "SCRAM-SHA-256-PLUS" {
		t.Errorf("login.success = %+v", e)
	}
	if _, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "postgres.query.input" && e.Fields["query"] == "select version()" && e.Fields["result"] == "SELECT 1"
	}); !ok {
		t.Error("no postgres.query for select version()")
	}
	// Extended protocol (pgx): prepared statements with Describe.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://app:S3cret!@%s/app_production?sslmode=disable", r.HostPort(Port)))
	if err != nil {
		t.Fatalf("pgx: %v", err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "select version()").Scan(&v); err != nil || !strings.HasPrefix(v, "PostgreSQL 15.18") {
		t.Errorf("pgx version() = %q, %v", v, err)
	}
	_, err = conn.Exec(ctx, "select * from nosuch where id = $1", 1)
	if err == nil || !strings.Contains(err.Error(), `relation "nosuch" does not exist (SQLSTATE 42P01)`) {
		t.Errorf("pgx nosuch: %v", err)
	}
}

// rawSCRAM runs a SCRAM login with a wrong password and returns every
// byte the server sent after the client's final message.
func rawSCRAM(t *testing.T, addr, user, password string) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	body := binary.BigEndian.AppendUint32(nil, 3<<16)
	body = append(body, "user\x00"+user+"\x00database\x00postgres\x00\x00"...)
	c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...))
	br := bufio.NewReader(c)
	read := func() (byte, []byte) {
		var h [5]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("read: %v", err)
		}
		b := make([]byte, binary.BigEndian.Uint32(h[1:])-4)
		io.ReadFull(br, b)
		return h[0], b
	}
	typ, b := read()
	if typ != 'R' || binary.BigEndian.Uint32(b) != 10 {
		t.Fatalf("want AuthenticationSASL, got %c %q", typ, b)
	}
	cnonce := "rOprNGfwEbeRWgbNEkqO"
	first := "n,,n=,r=" + cnonce
	msg := func(data []byte) []byte {
		return append([]byte{'p'}, append(binary.BigEndian.AppendUint32(nil, uint32(len(data)+4)), data...)...)
	}
	init := append([]byte("SCRAM-SHA-256\x00"), binary.BigEndian.AppendUint32(nil, uint32(len(first)))...)
	c.Write(msg(append(init, first...)))
	typ, b = read()
	if typ != 'R' || binary.BigEndian.Uint32(b) != 11 {
		t.Fatalf("want SASLContinue, got %c %q", typ, b)
	}
	sf := string(b[4:])
	var nonce, saltB64 string
	iter := 0
	for _, a := range strings.Split(sf, ",") {
		switch {
		case strings.HasPrefix(a, "r="):
			nonce = a[2:]
		case strings.HasPrefix(a, "s="):
			saltB64 = a[2:]
		case strings.HasPrefix(a, "i="):
			fmt.Sscan(a[2:], &iter)
		}
	}
	salt, _ := base64.StdEncoding.DecodeString(saltB64)
	if len(salt) != 16 || iter != 4096 || len(nonce) != len(cnonce)+24 {
		t.Errorf("server-first %q", sf)
	}
	wp := "c=biws,r=" + nonce
	proof := scramProof(password, salt, iter, "n=,r="+cnonce+","+sf+","+wp)
	c.Write(msg([]byte(wp + ",p=" + base64.StdEncoding.EncodeToString(proof))))
	rest, _ := io.ReadAll(br)
	return rest
}

// probe sends raw bytes and returns what the server answered until it
// closed.
func probe(t *testing.T, addr string, b []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(b)
	out, _ := io.ReadAll(c)
	return out
}

func startupPacket(code uint32, params string) []byte {
	body := binary.BigEndian.AppendUint32(nil, code)
	body = append(body, params...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...)
}

// TestAgainstRealPostgres15 runs Debian's PostgreSQL 15 beside a Debian
// decky and compares what nmap -sV and raw protocol probes get.
func TestAgainstRealPostgres15(t *testing.T) {
	testenv.RequireRoot(t)
	nmap := testenv.RequireTool(t, "nmap")
	pgbin := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(filepath.Join(pgbin, "postgres")); err != nil {
		testenv.RequireTool(t, "postgresql-15 (/usr/lib/postgresql/15/bin/postgres)")
	}
	dir, err := os.MkdirTemp("", "pgreal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chown(dir, postgresUID(t), -1)
	os.Chmod(dir, 0o700)
	realIP := fmt.Sprintf("127.%d.%d.%d", 20+rand.IntN(200), rand.IntN(256), 2+rand.IntN(250))
	as := func(args ...string) *exec.Cmd {
		return exec.Command("su", "postgres", "-s", "/bin/sh", "-c", strings.Join(args, " "))
	}
	pwfile := filepath.Join(dir, "pw")
	os.WriteFile(pwfile, []byte("RealSecret\n"), 0o644)
	if out, err := as(pgbin+"/initdb", "-D", dir+"/data", "-U", "postgres", "-A", "scram-sha-256", "--pwfile="+pwfile, "--locale=C.UTF-8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("listen_addresses = '%s'\nport = 5432\nunix_socket_directories = '%s'\nssl = on\nssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil.pem'\nssl_key_file = '%s/server.key'\n", realIP, dir, dir)
	key, err := os.ReadFile("/etc/ssl/private/ssl-cert-snakeoil.key")
	if err != nil {
		t.Skipf("no snakeoil key (ssl-cert): %v", err)
	}
	os.WriteFile(dir+"/server.key", key, 0o600)
	os.Chown(dir+"/server.key", postgresUID(t), -1)
	f, _ := os.OpenFile(dir+"/data/postgresql.conf", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(conf)
	f.Close()
	f, _ = os.OpenFile(dir+"/data/pg_hba.conf", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("host all all 0.0.0.0/0 scram-sha-256\n")
	f.Close()
	if out, err := as(pgbin+"/pg_ctl", "-D", dir+"/data", "-l", dir+"/log", "-w", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(dir + "/log")
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() { as(pgbin+"/pg_ctl", "-D", dir+"/data", "-m", "immediate", "stop").Run() })

	r := servicetest.Start(t, "postgres", Port, servicetest.Options{Distro: "debian"})
	realAddr := net.JoinHostPort(realIP, "5432")
	decky := r.HostPort(Port)

	// Raw probes: nmap's SMBProgNeg (an unsupported protocol), no user,
	// a bad layout, trailing data after SSLRequest, a wrong password.
	smb := []byte("\x00\x00\x00\xa4\xff\x53\x4d\x42\x72\x00\x00\x00\x00\x08\x01\x40")
	smb = append(smb, make([]byte, 0xa4+4-len(smb))...)
	probes := map[string][]byte{
		"smbprogneg":   smb,
		"no user":      startupPacket(3<<16, "database\x00x\x00\x00"),
		"bad layout":   startupPacket(3<<16, "user\x00postgres\x00database"),
		"ssl and data": append(startupPacket(codeSSLRequest, ""), "junk"...),
		"gss then bad": append(startupPacket(codeGSSENCRequest, ""), startupPacket(2<<16, "")...),
	}
	for name, p := range probes {
		want, got := probe(t, realAddr, p), probe(t, decky, p)
		if !bytes.Equal(want, got) {
			t.Errorf("%s: real %q\ndecky %q", name, want, got)
		}
	}
	wantFail, gotFail := rawSCRAM(t, realAddr, "postgres", "wrong"), rawSCRAM(t, decky, "postgres", "wrong")
	if !bytes.Equal(wantFail, gotFail) {
		t.Errorf("wrong password: real %q\ndecky %q", wantFail, gotFail)
	}
	wantFail, gotFail = rawSCRAM(t, realAddr, "nosuchrole", "x"), rawSCRAM(t, decky, "nosuchrole", "x")
	if !bytes.Equal(wantFail, gotFail) {
		t.Errorf("unknown role: real %q\ndecky %q", wantFail, gotFail)
	}
	t.Logf("wrong password answer: %q", gotFail)

	if bin, err := exec.LookPath("psql"); err == nil {
		a, _ := psql(t, bin, realIP, "5432", "postgres", "wrong", "postgres", "prefer", "select 1")
		b, _ := psql(t, bin, r.Addr.String(), r.Port(Port), "postgres", "wrong", "postgres", "prefer", "select 1")
		if strings.ReplaceAll(a, realIP, "ADDR") != strings.ReplaceAll(b, r.Addr.String(), "ADDR") {
			t.Errorf("psql: real %q, decky %q", a, b)
		}
	}

	nm := func(ip string) string {
		out, err := exec.Command(nmap, "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", "5432", ip).CombinedOutput()
		if err != nil {
			t.Fatalf("nmap: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "5432/tcp") {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		t.Fatalf("no 5432 line:\n%s", out)
		return ""
	}
	if r.Port(Port) != "5432" {
		t.Skip("decky not on 5432: no nmap comparison")
	}
	realLine, deckyLine := nm(realIP), nm(r.Addr.String())
	t.Logf("nmap real:  %s", realLine)
	t.Logf("nmap decky: %s", deckyLine)
	if realLine != deckyLine || !strings.Contains(deckyLine, "PostgreSQL DB") {
		t.Errorf("nmap: real %q, decky %q", realLine, deckyLine)
	}
}

func postgresUID(t *testing.T) int {
	out, err := exec.Command("id", "-u", "postgres").Output()
	if err != nil {
		t.Skipf("no postgres user: %v", err)
	}
	var uid int
	fmt.Sscan(string(out), &uid)
	return uid
}
