package master_test

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
)

// TestHoneyCredentialEndToEnd is the acceptance of the honey credentials:
// on `decnet up`, an attacker reads the bait shell history of the SSH
// decky (gw-01) over real ssh, then logs into the database decky's
// (db-01) MySQL with the database login it found there, with the real
// mysql client. The built-in honey credential rule raises one high alert
// that names both deckies and links the read (the ssh command event) to
// the attempt (the mysql.login.failed event).
func TestHoneyCredentialEndToEnd(t *testing.T) {
	sshpass := testenv.RequireTool(t, "sshpass")
	mysql := testenv.RequireTool(t, "mysql")
	up, c, h := upWithAdmin(t)
	dbIP := regexp.MustCompile(`mysql -h (\S+)`).FindStringSubmatch(up.Out.String())
	if dbIP == nil {
		t.Fatalf("the banner names no mysql decky:\n%s", up.Out.String())
	}
	var rules struct {
		Items []struct {
			ID, Name  string
			Severity  int
			Condition struct{ Kind string }
		} `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/alert-rules", nil, 200), &rules)
	rule := ""
	for _, r := range rules.Items {
		if r.Condition.Kind == "honey_credential" && r.Severity == 3 {
			rule = r.ID
		}
	}
	if rule == "" {
		t.Fatalf("no built-in honey credential rule: %+v", rules.Items)
	}

	hc := string(c.do("GET", "/honey-credentials?decky=gw-01", nil, 200))
	if !strings.Contains(hc, `"path":"/root/.bash_history"`) || !strings.Contains(hc, `"place":"shell"`) || strings.Contains(hc, "secret") {
		t.Fatalf("honey credentials of gw-01: %s", hc)
	}

	out, err := exec.Command(sshpass, "-p", "toor", "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "PreferredAuthentications=password", "-o", "ConnectTimeout=10", "root@"+up.Gateway, "cat /root/.bash_history").CombinedOutput()
	if err != nil {
		t.Fatalf("ssh cat: %v %s", err, out)
	}
	login := regexp.MustCompile(`mysql -h (\S+) -u (\S+) -p'([^']+)' (\S+)`).FindStringSubmatch(string(out))
	if login == nil {
		t.Fatalf("the bait history holds no mysql login:\n%s", out)
	}
	if login[1] != dbIP[1] {
		t.Fatalf("the history's database host %s is not the database decky %s", login[1], dbIP[1])
	}
	t.Logf("read on gw-01: mysql -h %s -u %s -p'...' %s", login[1], login[2], login[4])

	// The read reaches the master on its own time (each decky's spool is
	// shipped apart); an intruder takes longer than that to use what he
	// read, so the test waits for it to be stored.
	testenv.Eventually(t, 20*time.Second, "the ssh command stored", func() bool {
		return strings.Contains(string(c.do("GET", "/events?type=ssh.command.input&limit=5", nil, 200)), ".bash_history")
	})
	start := time.Now()
	out, _ = exec.Command(mysql, "-h", login[1], "-u", login[2], "-p"+login[3], "--connect-timeout=10", "-e", "select 1", login[4]).CombinedOutput()
	if !strings.Contains(string(out), "Access denied") {
		t.Fatalf("mysql: %s", out)
	}
	at, body := h.arrival(t, rule, 15*time.Second)
	var list struct {
		Items []store.Alert `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/alerts?rule="+rule, nil, 200), &list)
	if len(list.Items) != 1 {
		t.Fatalf("honey alerts: %+v", list.Items)
	}
	a := list.Items[0]
	if a.Severity != 3 || !strings.Contains(a.Title, "db-01") || !strings.Contains(a.Title, "gw-01") || !strings.Contains(a.Title, "/root/.bash_history") ||
		!strings.Contains(body, a.ID) || len(a.EventIDs) != 2 {
		t.Fatalf("alert %+v", a)
	}
	var read, tried string
	testenv.Eventually(t, 10*time.Second, "the evidence stored", func() bool {
		var evs struct {
			Items []struct {
				ID, Type, Decky string
			} `json:"items"`
		}
		json.Unmarshal(c.do("GET", "/events?limit=200", nil, 200), &evs)
		kinds := map[string]string{}
		for _, e := range evs.Items {
			kinds[e.ID] = e.Decky + " " + e.Type
		}
		read, tried = kinds[a.EventIDs[0]], kinds[a.EventIDs[1]]
		return read != "" && tried != ""
	})
	if !strings.HasPrefix(read, "gw-01 ssh.") || tried != "db-01 mysql.login.failed" {
		t.Fatalf("evidence: read %q, tried %q", read, tried)
	}
	t.Logf("alert %q\n  evidence: %s (read), %s (tried); at the webhook %dms after mysql started (the decoy answers a failed login after its delay)",
		a.Title, read, tried, at.Sub(start).Milliseconds())
}
