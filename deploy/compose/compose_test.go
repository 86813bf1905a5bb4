// Package compose holds the docker compose swarm (docker-compose.yml,
// swarm.sh) and its test.
package compose

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

// TestComposeSwarm runs a master and two agents as containers of the
// FROM-scratch image with docker-compose, each agent enrolled with a join
// token; deploys a decky through the API on each agent, logs into both
// with a real ssh client, and finds both logins in the master's events.
func TestComposeSwarm(t *testing.T) {
	testenv.RequireDocker(t)
	compose := testenv.RequireTool(t, "docker-compose")
	sshpass := testenv.RequireTool(t, "sshpass")
	testenv.RequireTool(t, "ssh")
	bin := testenv.DecnetBinary(t)

	r := rand.Uint32() % 100000
	project := fmt.Sprintf("decnet-test-%d", r)
	prefix := fmt.Sprintf("c%d", r)
	image := fmt.Sprintf("decnet-compose-test:%d", r)
	port := testenv.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	a, b := 200+rand.IntN(50), rand.IntN(250)
	env := []string{"COMPOSE_PROJECT_NAME=" + project, "DECNET_IMAGE=" + image, "DECNET_STATE=" + t.TempDir(),
		fmt.Sprintf("DECNET_API_PORT=%d", port), fmt.Sprintf("DECNET_SUBNET=10.%d.%d.0/24", a, b), "DECNET_HOST_PREFIX=" + prefix}
	sh := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// Cleanup runs last-in first-out: compose down, then anything the
	// agents left on the engine, then the image.
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	testenv.CleanupDocker(t, "io.decnet.agent="+prefix+"-1")
	testenv.CleanupDocker(t, "io.decnet.agent="+prefix+"-2")
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command(compose, "logs", "--no-color", "--tail", "60")
			cmd.Dir, cmd.Env = ".", append(os.Environ(), env...)
			out, _ := cmd.CombinedOutput()
			t.Logf("compose logs:\n%s", out)
		}
		cmd := exec.Command("bash", "swarm.sh", "down")
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("swarm.sh down: %v\n%s", err, out)
		}
	})

	sh(bin, "image", "build", "--tag", image, "--binary", bin)
	out := sh("bash", "swarm.sh", "up")
	m := regexp.MustCompile(`admin password: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("swarm.sh up printed no admin password:\n%s", out)
	}
	api := newClient(t, fmt.Sprintf("https://127.0.0.1:%d/api/v1", port), m[1])

	hosts := []string{prefix + "-1", prefix + "-2"}
	testenv.Eventually(t, 90*time.Second, "both agents heartbeating", func() bool {
		var list struct {
			Items []struct {
				ID       string `json:"id"`
				Liveness string `json:"liveness"`
			} `json:"items"`
		}
		api.do("GET", "/hosts", nil, &list)
		seen := 0
		for _, h := range list.Items {
			if (h.ID == hosts[0] || h.ID == hosts[1]) && h.Liveness == "alive" {
				seen++
			}
		}
		return seen == 2
	})

	deckyIPs := map[string]string{}
	for i, h := range hosts {
		ip := fmt.Sprintf("10.%d.%d.10", a, b+1+i)
		spec := map[string]any{
			"name": h + "-lab", "seed": fmt.Sprintf("%032x", rand.Uint64()),
			"lans": []map[string]any{{"name": "lan", "subnet": fmt.Sprintf("10.%d.%d.0/24", a, b+1+i), "driver": "bridge", "dmz": true}},
			"deckies": []map[string]any{{"name": "ssh-" + fmt.Sprint(i+1), "persona": map[string]any{"os": "linux", "distro": "debian"},
				"addresses": []map[string]any{{"lan": "lan", "ip": ip}}, "services": []string{"ssh"},
				"service_config": map[string]any{"ssh": map[string]any{"users": []string{"root:toor"}}}}},
		}
		var top struct {
			ID string `json:"id"`
		}
		api.do("POST", "/topologies", map[string]any{"spec": spec, "host": h}, &top)
		api.do("POST", "/topologies/"+top.ID+"/deploy", nil, nil)
		deckyIPs[h] = ip
		id := top.ID
		t.Cleanup(func() { api.tryDo("POST", "/topologies/"+id+"/teardown") })
		testenv.Eventually(t, 3*time.Minute, h+"'s topology active", func() bool {
			var d struct {
				Status string `json:"status"`
			}
			api.do("GET", "/topologies/"+id, nil, &d)
			if d.Status == "failed" {
				t.Fatalf("%s: the topology failed", h)
			}
			return d.Status == "active"
		})
	}
	for h, ip := range deckyIPs {
		var o []byte
		testenv.Eventually(t, time.Minute, "ssh into the decky of "+h, func() bool {
			var err error
			o, err = exec.Command(sshpass, "-p", "toor", "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
				"-o", "ConnectTimeout=5", "root@"+ip, "id").CombinedOutput()
			return err == nil && strings.Contains(string(o), "uid=0(root)")
		})
		t.Logf("ssh root@%s (%s): %s", ip, h, strings.TrimSpace(string(o)))
	}
	testenv.Eventually(t, 30*time.Second, "both logins in the master's events", func() bool {
		var list struct {
			Items []struct {
				Host string `json:"host"`
			} `json:"items"`
		}
		api.do("GET", "/events?type=ssh.login.success&limit=100", nil, &list)
		got := map[string]bool{}
		for _, e := range list.Items {
			got[e.Host] = true
		}
		return got[hosts[0]] && got[hosts[1]]
	})
}

type client struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

// newClient logs in as admin and sets a new password, as the first login
// must.
func newClient(t *testing.T, base, password string) *client {
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	testenv.Eventually(t, 60*time.Second, "the API answering", func() bool {
		resp, err := c.c.Get(base + "/auth/me")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	c.do("POST", "/auth/login", map[string]string{"username": "admin", "password": password}, &login)
	c.csrf = login.CSRF
	c.do("POST", "/auth/password", map[string]string{"current_password": password, "new_password": "correct horse battery staple"}, &login)
	c.csrf = login.CSRF
	return c
}

func (c *client) request(method, path string, body any) (*http.Response, error) {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	return c.c.Do(req)
}

func (c *client) do(method, path string, body, into any) {
	c.t.Helper()
	resp, err := c.request(method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode >= 300 {
		c.t.Fatalf("%s %s: %s %s", method, path, resp.Status, raw)
	}
	if into != nil {
		if err := json.Unmarshal(raw, into); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

// tryDo is for cleanup: it reports nothing.
func (c *client) tryDo(method, path string) {
	if resp, err := c.request(method, path, nil); err == nil {
		resp.Body.Close()
		time.Sleep(5 * time.Second) // let the agent remove the deckies
	}
}
