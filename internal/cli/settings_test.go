package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSettings(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A flag beats the environment, which beats the file, which beats the
// default; secrets and URL passwords never print.
func TestMasterSettingsPrecedence(t *testing.T) {
	file := writeSettings(t, `
data: /srv/decnet
api-listen: 0.0.0.0:9443
log-level: warn
address: [master.lab, 10.0.0.5]
retention: 720h
log-json: true
db: postgres://decnet:hunter2@db.lab/decnet
webhook-secret: 0123456789abcdef0123
`)
	t.Setenv("DECNET_MASTER_LOG_LEVEL", "debug")
	t.Setenv("DECNET_MASTER_METRICS_LISTEN", "127.0.0.1:9999")
	code, out, errOut := run(t, "", "master", "config", "--config", file, "--api-listen", "127.0.0.1:1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"api-listen":     "127.0.0.1:1",    // flag over file
		"log-level":      "debug",          // environment over file
		"metrics-listen": "127.0.0.1:9999", // environment over default
		"data":           "/srv/decnet",    // file over default
		"retention":      "720h0m0s",
		"log-json":       true,
		"agents-listen":  ":7946", // default
		"db":             "postgres://decnet:REDACTED@db.lab/decnet",
		"webhook-secret": "REDACTED",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if a, _ := got["address"].([]any); len(a) != 2 || a[0] != "master.lab" {
		t.Errorf("address = %v", got["address"])
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "0123456789abcdef") {
		t.Fatalf("a secret printed:\n%s", out)
	}
}

// The printed YAML is itself a settings file that gives the same result.
func TestSettingsRoundTrip(t *testing.T) {
	t.Setenv("DECNET_AGENT_DIR", "/var/lib/decnet/agent")
	t.Setenv("DECNET_AGENT_DRIVER", "host")
	code, first, errOut := run(t, "", "agent", "config")
	if code != 0 || !strings.Contains(first, "dir: /var/lib/decnet/agent\n") || !strings.Contains(first, "driver: host\n") {
		t.Fatalf("exit %d: %s%s", code, first, errOut)
	}
	os.Unsetenv("DECNET_AGENT_DIR")
	os.Unsetenv("DECNET_AGENT_DRIVER")
	code, second, errOut := run(t, "", "agent", "config", "--config", writeSettings(t, first))
	if code != 0 || second != first {
		t.Fatalf("exit %d %s; the printed settings read back differently:\n%s\nvs\n%s", code, errOut, first, second)
	}
}

func TestSettingsErrorsSayWhatToFix(t *testing.T) {
	for _, c := range []struct {
		name, file, env, want string
	}{
		{"unknown key", "bogus: 1\n", "", `unknown setting "bogus"`},
		{"mapping value", "data: {a: 1}\n", "", "not a mapping"},
		{"bad duration in the file", "retention: soon\n", "", `invalid argument "soon" for "--retention"`},
		{"bad duration in the environment", "", "yesterday", `DECNET_MASTER_RETENTION: invalid argument "yesterday"`},
		{"not YAML", "[1, 2\n", "", "settings file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"master", "config"}
			if c.file != "" {
				args = append(args, "--config", writeSettings(t, c.file))
			}
			if c.env != "" {
				t.Setenv("DECNET_MASTER_RETENTION", c.env)
			}
			code, _, errOut := run(t, "", args...)
			if code == 0 || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, errOut, c.want)
			}
		})
	}
	t.Setenv("DECNET_MASTER_CONFIG", "/nonexistent/master.yaml")
	if code, _, errOut := run(t, "", "master", "config"); code == 0 || !strings.Contains(errOut, "/nonexistent/master.yaml") {
		t.Fatalf("a missing file named by DECNET_MASTER_CONFIG: exit %d %s", code, errOut)
	}
}

// The commands themselves read the settings before they start anything.
func TestMasterAndAgentReadTheirSettings(t *testing.T) {
	bad := writeSettings(t, "bogus: 1\n")
	for _, cmd := range []string{"master", "agent"} {
		if code, _, errOut := run(t, "", cmd, "--config", bad); code == 0 || !strings.Contains(errOut, `unknown setting "bogus"`) {
			t.Fatalf("decnet %s --config: exit %d %s", cmd, code, errOut)
		}
	}
	// The socket from the agent's file: without it the agent would
	// complain of nothing to listen on before the missing directory.
	t.Setenv("DECNET_AGENT_DIR", "")
	code, _, errOut := run(t, "", "agent", "--config", writeSettings(t, "socket: "+filepath.Join(t.TempDir(), "a.sock")+"\n"))
	if code == 0 || !strings.Contains(errOut, "no agent directory") {
		t.Fatalf("exit %d %s", code, errOut)
	}
}
