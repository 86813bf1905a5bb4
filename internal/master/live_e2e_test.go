package master_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// TestLiveControlsEndToEnd is the acceptance of the live deception
// controls on `decnet up` (host driver): each is set through the API,
// pushed by the reconciler like any spec change and applied by the agent
// to the running decky without restarting it.
//   - Tarpit: curl on the tarpitted HTTP port of web-01 gets a trickle by
//     its deadline while curl on the same decky's Elasticsearch port gets
//     its whole answer at full speed; lifting the tarpit frees the port.
//   - File drop: a file dropped into gw-01 shows in the `ls` and `cat` of
//     an ssh session that was open before the drop.
//   - Rotation: rotating gw-01's services changes the open ports nmap
//     sees while its hostname and SSH host key stay.
func TestLiveControlsEndToEnd(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	sshpass := testenv.RequireTool(t, "sshpass")
	nmap := testenv.RequireTool(t, "nmap")
	keyscan := testenv.RequireTool(t, "ssh-keyscan")
	keygen := testenv.RequireTool(t, "ssh-keygen")
	_, c, _ := upWithAdmin(t)

	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/topologies", nil, 200), &list)
	if len(list.Items) != 1 {
		t.Fatalf("want the demo topology, got %+v", list)
	}
	id := list.Items[0].ID
	var sv master.SpecView
	json.Unmarshal(c.do("GET", "/topologies/"+id+"/spec", nil, 200), &sv)
	var spec topology.Spec
	if err := json.Unmarshal(sv.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	// web-01 gets a second HTTP-speaking port to compare with.
	spec.Decky("web-01").Services = append(spec.Decky("web-01").Services, "elasticsearch")
	c.do("PUT", "/topologies/"+id+"/spec", map[string]any{"spec": spec, "version": sv.Version}, 200)
	web, gw := ipOf(&spec, "web-01"), ipOf(&spec, "gw-01")
	waitActive(t, c, id)
	base := "/topologies/" + id + "/deckies/"

	// ---- tarpit
	const deadline = 4 * time.Second
	fetch := func(url string) (int, time.Duration) {
		start := time.Now()
		out, _ := exec.Command(curl, "-s", "-i", "--max-time", fmt.Sprint(deadline.Seconds()), url).Output()
		return len(out), time.Since(start)
	}
	full, _ := fetch("http://" + web + "/")
	if full < 200 {
		t.Fatalf("web-01's page is %d bytes", full)
	}
	c.do("POST", base+"web-01/deception/tarpits", map[string]any{"port": 80, "rate": 64}, 200)
	var slowN int
	var slowT time.Duration
	testenv.Eventually(t, 30*time.Second, "the tarpit on web-01:80", func() bool {
		slowN, slowT = fetch("http://" + web + "/")
		return slowN < full
	})
	fastN, fastT := fetch("http://" + web + ":9200/")
	slowRate := float64(slowN) / slowT.Seconds()
	fastRate := float64(fastN) / fastT.Seconds()
	t.Logf("tarpitted  http :80   %5d bytes in %v = %.1f B/s (headers and page are %d bytes)", slowN, slowT.Round(time.Millisecond), slowRate, full)
	t.Logf("untouched  es   :9200 %5d bytes in %v = %.1f B/s", fastN, fastT.Round(time.Millisecond), fastRate)
	if slowN == 0 || fastN == 0 || fastRate < 5*slowRate {
		t.Fatalf("the other port is not at least 5x faster: %.1f vs %.1f B/s", fastRate, slowRate)
	}
	var evs struct {
		Items []json.RawMessage `json:"items"`
	}
	testenv.Eventually(t, 30*time.Second, "an http.session.tarpitted event", func() bool {
		json.Unmarshal(c.do("GET", "/events?type=http.session.tarpitted", nil, 200), &evs)
		return len(evs.Items) > 0
	})
	c.do("DELETE", base+"web-01/deception/tarpits?port=80", nil, 200)
	testenv.Eventually(t, 30*time.Second, "the tarpit lifted", func() bool {
		n, _ := fetch("http://" + web + "/")
		return n == full
	})

	// ---- file drop into a running session
	waitActive(t, c, id)
	sess := startSSH(t, sshpass, gw)
	sess.run("ls /root")
	const secret = "db=prod-01 user=svc_backup pass=Spring2026!"
	c.do("POST", base+"gw-01/deception/files", map[string]any{"path": "/root/backup-creds.txt", "content": secret + "\n", "mode": "0600"}, 200)
	testenv.Eventually(t, 30*time.Second, "the dropped file in the open session's ls", func() bool {
		return strings.Contains(sess.run("ls /root"), "backup-creds.txt")
	})
	if out := sess.run("cat /root/backup-creds.txt"); !strings.Contains(out, secret) {
		t.Fatalf("cat of the dropped file: %q", out)
	}
	t.Logf("dropped file seen by the session opened before the drop: %q", sess.run("ls -l /root/backup-creds.txt"))
	sess.close()

	// ---- rotation
	waitActive(t, c, id)
	identity := func() (string, string) {
		out, err := exec.Command(sshpass, "-p", "toor", "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "ConnectTimeout=10", "root@"+gw, "hostname").Output()
		if err != nil {
			t.Fatalf("ssh hostname: %v", err)
		}
		keys, _ := exec.Command(keyscan, "-t", "ed25519", gw).Output()
		cmd := exec.Command(keygen, "-lf", "-")
		cmd.Stdin = strings.NewReader(string(keys))
		fp, _ := cmd.Output()
		return strings.TrimSpace(string(out)), strings.TrimSpace(string(fp))
	}
	ports := func() []string {
		out, _ := exec.Command(nmap, "-sT", "-Pn", "-n", "-p", "21,22,23,6379", gw).Output()
		return regexp.MustCompile(`(?m)^(\d+)/tcp\s+open`).FindAllString(string(out), -1)
	}
	host0, fp0 := identity()
	ports0 := ports()
	if fp0 == "" || len(ports0) != 2 {
		t.Fatalf("before rotation: fingerprint %q, open %v", fp0, ports0)
	}
	c.do("PUT", base+"gw-01/deception/rotation", map[string]any{"pool": []string{"telnet", "ftp", "redis"}, "count": 1, "every": "1h"}, 200)
	var view struct {
		Services []string               `json:"services"`
		History  []store.RotationRecord `json:"rotation_history"`
	}
	json.Unmarshal(c.do("POST", base+"gw-01/deception/rotation/rotate", nil, 200), &view)
	if slices.Contains(view.Services, "telnet") || !slices.Contains(view.Services, "ssh") || len(view.History) != 1 {
		t.Fatalf("rotation: %+v", view)
	}
	var ports1 []string
	testenv.Eventually(t, 60*time.Second, "the rotated ports", func() bool {
		ports1 = ports()
		return len(ports1) == 2 && !slices.Equal(ports1, ports0) && slices.ContainsFunc(ports1, func(s string) bool { return strings.HasPrefix(s, "22/") })
	})
	host1, fp1 := identity()
	t.Logf("before rotation: open %q, hostname %q, host key %s", ports0, host0, fp0)
	t.Logf("after rotation:  open %q, hostname %q, host key %s", ports1, host1, fp1)
	if host1 != host0 || fp1 != fp0 {
		t.Fatal("the rotation changed the decky's identity")
	}
	testenv.Eventually(t, 30*time.Second, "a decky.services.rotated event", func() bool {
		json.Unmarshal(c.do("GET", "/events?type=decky.services.rotated", nil, 200), &evs)
		return len(evs.Items) > 0
	})
}

func ipOf(s *topology.Spec, decky string) string { return s.Decky(decky).Addresses[0].IP }

// waitActive waits until the topology runs its current spec.
func waitActive(t *testing.T, c *upClient, id string) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, "the topology active with its current hash", func() bool {
		var v master.TopologyDetail
		json.Unmarshal(c.do("GET", "/topologies/"+id, nil, 200), &v)
		return v.Status == store.Active && !v.NeedsResync
	})
}

// sshSession is an interactive ssh session driven line by line: each
// command is followed by an echo of a marker, and its output (with the
// terminal's echo of the line) is what comes before the marker.
type sshSession struct {
	t    *testing.T
	cmd  *exec.Cmd
	in   io.WriteCloser
	mu   sync.Mutex
	out  strings.Builder
	seq  int
	done chan struct{}
}

func startSSH(t *testing.T, sshpass, host string) *sshSession {
	t.Helper()
	s := &sshSession{t: t, done: make(chan struct{})}
	s.cmd = exec.Command(sshpass, "-p", "toor", "ssh", "-tt", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10", "root@"+host)
	s.in, _ = s.cmd.StdinPipe()
	stdout, _ := s.cmd.StdoutPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		r := bufio.NewReader(stdout)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sshSession) run(line string) string {
	s.t.Helper()
	s.seq++
	marker := fmt.Sprintf("END-%d-MARK", s.seq)
	s.mu.Lock()
	from := s.out.Len()
	s.mu.Unlock()
	// The echoed command line does not hold the marker; its output does.
	fmt.Fprintf(s.in, "%s; echo END-$((%d+0))-MARK\n", line, s.seq)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		s.mu.Lock()
		text := s.out.String()[from:]
		s.mu.Unlock()
		if i := strings.Index(text, marker); i >= 0 {
			return text[:i]
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.Fatalf("no answer to %q in the ssh session:\n%s", line, s.out.String()[from:])
	return ""
}

func (s *sshSession) close() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.in.Close()
	s.cmd.Process.Kill()
	s.cmd.Wait()
}
