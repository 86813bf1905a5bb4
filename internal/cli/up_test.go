package cli

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

// TestUpEndToEnd runs `decnet up` as a user would, attacks a decky with a
// real ssh client, and finds the login in the API's event list and on the
// live stream, then stops it with Ctrl-C and checks the teardown.
func TestUpEndToEnd(t *testing.T) {
	testenv.RequireRoot(t)
	sshpass := testenv.RequireTool(t, "sshpass")
	bin := testenv.DecnetBinary(t)
	up := testenv.StartUp(t, bin)
	api, out := up.API, up.Out
	gw := []string{"", up.Gateway}
	pw := []string{"", up.Password}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var csrf string
	post := func(path string, body any) map[string]any {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", api+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %s %v", path, resp.Status, v)
		}
		return v
	}
	csrf = post("/auth/login", map[string]string{"username": "admin", "password": pw[1]})["csrf_token"].(string)
	csrf = post("/auth/password", map[string]string{"current_password": pw[1], "new_password": "correct horse battery staple"})["csrf_token"].(string)

	// Open the live stream first, then attack.
	resp, err := c.Get(api + "/events/stream?type=ssh.login.success")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	got := make(chan time.Time, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data:") && strings.Contains(sc.Text(), "ssh.login.success") {
				got <- time.Now()
				return
			}
		}
	}()
	ssh := exec.Command(sshpass, "-p", "toor", "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "root@"+gw[1], "id")
	if o, err := ssh.CombinedOutput(); err != nil || !strings.Contains(string(o), "uid=0(root)") {
		t.Fatalf("ssh to the demo: %v %s", err, o)
	}
	sent := time.Now()
	select {
	case at := <-got:
		t.Logf("the ssh login reached the live stream %v after ssh returned", at.Sub(sent).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the ssh login never reached the live stream")
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	for {
		lr, err := c.Get(api + "/events?type=ssh.login.success")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(lr.Body).Decode(&list)
		lr.Body.Close()
		if len(list.Items) > 0 {
			break
		}
		if time.Since(sent) > 10*time.Second {
			t.Fatal("the ssh login never reached the API's event list")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the ssh login was in the API's event list %v after ssh returned", time.Since(sent).Round(time.Millisecond))
	if list.Items[0]["decky"] != "gw-01" {
		t.Fatalf("event list: %v", list.Items)
	}

	// What a new user sees before the dashboard URL: a few lines, none of
	// them the log, which goes to <data>/decnet.log.
	before, _, _ := strings.Cut(out.String(), "Dashboard:")
	if n := strings.Count(before, "\n"); n > 15 || strings.Contains(out.String(), "level=") {
		t.Fatalf("decnet up printed %d lines before the dashboard URL, or log lines:\n%s", n, out.String())
	}
	t.Logf("decnet up printed %d lines before the dashboard URL", strings.Count(before, "\n"))
	log, err := os.ReadFile(filepath.Join(up.Data, "decnet.log"))
	if err != nil || !strings.Contains(string(log), `msg="master running"`) {
		t.Fatalf("the log file: %v\n%s", err, log)
	}
	// One push: the first heartbeats must not read as deckies lost.
	if n := strings.Count(string(log), `msg="pushing topology"`); n != 1 || strings.Contains(string(log), "objects missing") {
		t.Fatalf("the demo was pushed %d times:\n%s", n, log)
	}
	if strings.Contains(string(log), "JETSTREAM") {
		t.Fatal("nats-server's banner reached the log at the default level")
	}

	if err := up.Stop(t); err != nil || !strings.Contains(out.String(), "Done.") {
		t.Fatalf("decnet up did not stop cleanly: %v\n%s", err, out.String())
	}
	if dial(gw[1] + ":22") {
		t.Fatal("the demo still answers after Ctrl-C")
	}
}

func dial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}
