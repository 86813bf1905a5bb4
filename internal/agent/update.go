package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/wire"
)

// An update from the master goes: fetch the master's build over mutual
// TLS into <dir>/bin, check its SHA-256 against the order and that it
// runs here, point <dir>/bin/current at it (a symlink swapped by rename,
// so it is always whole), and restart into it (RestartError; the process
// keeps its pid). The new build must heartbeat within UpdateDeadline; if
// it cannot, it points current back at the build it came from, leaves
// bin/rollback.json for the master, and restarts into the old one, which
// reports the failure on its next heartbeat.

// UpdateEnv carries a pending update (PendingUpdate as JSON) into the
// restarted process.
const UpdateEnv = "DECNET_AGENT_UPDATE"

// UpdateDeadline is how long a new build has to heartbeat.
var UpdateDeadline = 2 * time.Minute

// maxBinary bounds a downloaded build.
const maxBinary = 512 << 20

// FaultNoHeartbeat, set at link time (-X ...agent.FaultNoHeartbeat=yes),
// makes every heartbeat fail: the update tests build a broken agent with
// it to see the rollback. Nothing else sets it.
var FaultNoHeartbeat = ""

// RestartError asks the process to replace itself with Binary (same
// arguments, the environment plus Env), once every goroutine has stopped.
type RestartError struct {
	Binary string
	Env    []string
	Reason string
}

func (e *RestartError) Error() string { return "restart into " + e.Binary + ": " + e.Reason }

// PendingUpdate is an update the running build is on trial for.
type PendingUpdate struct {
	From     string    `json:"from"` // the build to go back to
	SHA256   string    `json:"sha256"`
	Version  string    `json:"version"`
	Deadline time.Time `json:"deadline"`
}

// FileSHA256 hashes a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (a *Agent) binDir() string { return filepath.Join(a.dir, "bin") }

// CurrentBinary returns the build an earlier update switched this agent
// to, when it is not the one running and is newer than it (a package
// upgrade after the update wins); "" otherwise.
func CurrentBinary(dir, self string) string {
	cur := filepath.Join(dir, "bin", "current")
	target, err := filepath.EvalSymlinks(cur)
	if err != nil {
		return ""
	}
	selfReal, _ := filepath.EvalSymlinks(self)
	if target == selfReal {
		return ""
	}
	lst, err1 := os.Lstat(cur)
	st, err2 := os.Stat(selfReal)
	if err1 != nil || err2 != nil || st.ModTime().After(lst.ModTime()) {
		return ""
	}
	return target
}

// stage fetches the ordered build, checks it, and makes it current; it
// returns the restart into it.
func (a *Agent) stage(ctx context.Context, en *Enrollment, client *http.Client, self string, order *wire.UpdateOrder) error {
	if len(order.SHA256) != 64 {
		return fmt.Errorf("update order without a SHA-256")
	}
	dir := a.binDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+en.Master+wire.PathAgentBinary, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch the build: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch the build: master answered %s", resp.Status)
	}
	final := filepath.Join(dir, "decnet-"+order.SHA256[:16])
	tmp, err := os.CreateTemp(dir, ".download-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, maxBinary+1))
	if err == nil && n > maxBinary {
		err = fmt.Errorf("the build is over %d bytes", maxBinary)
	}
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fetch the build: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != order.SHA256 || resp.Header.Get(wire.HeaderBinarySHA256) != order.SHA256 {
		return fmt.Errorf("the fetched build's SHA-256 is %s, the order says %s: refused", got, order.SHA256)
	}
	// It must run here (architecture, a whole file) before it replaces us.
	vctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(vctx, tmp.Name(), "version", "--json").Output(); err != nil || !strings.Contains(string(out), `"version"`) {
		return fmt.Errorf("the fetched build does not run here: %v", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return err
	}
	if err := swapLink(filepath.Join(dir, "current"), final); err != nil {
		return err
	}
	p := PendingUpdate{From: self, SHA256: order.SHA256, Version: order.Version, Deadline: time.Now().Add(UpdateDeadline)}
	b, _ := json.Marshal(p)
	a.log.Info("update staged; restarting into it", "version", order.Version, "sha256", order.SHA256, "binary", final)
	return &RestartError{Binary: final, Env: []string{UpdateEnv + "=" + string(b)}, Reason: "update to " + order.Version}
}

// swapLink points link at target atomically (a new symlink renamed over
// the old).
func swapLink(link, target string) error {
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}

// rollbackFile holds an update that went back, until the master took it.
func (a *Agent) rollbackFile() string { return filepath.Join(a.binDir(), "rollback.json") }

// watchUpdate waits for the new build's first heartbeat; past the
// deadline it goes back to the build it came from.
func (a *Agent) watchUpdate(ctx context.Context, p *PendingUpdate, beat <-chan struct{}) error {
	t := time.NewTimer(time.Until(p.Deadline))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-beat:
		a.log.Info("update took: the new build heartbeats", "version", p.Version)
		return nil
	case <-t.C:
	}
	msg := fmt.Sprintf("no heartbeat within %s of the switch", UpdateDeadline.Round(time.Second))
	a.log.Error("update failed; going back", "version", p.Version, "from", p.From, "err", msg)
	b, _ := json.Marshal(wire.UpdateFailure{SHA256: p.SHA256, Version: p.Version, Error: msg})
	if err := os.MkdirAll(a.binDir(), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(a.rollbackFile(), b, 0o600); err != nil {
		return err
	}
	if err := swapLink(filepath.Join(a.binDir(), "current"), p.From); err != nil {
		return err
	}
	return &RestartError{Binary: p.From, Reason: "rollback: " + msg}
}

// pendingFailure is the rolled-back update to report, nil when none.
func (a *Agent) pendingFailure() *wire.UpdateFailure {
	b, err := os.ReadFile(a.rollbackFile())
	if err != nil {
		return nil
	}
	var f wire.UpdateFailure
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &f
}

var errNoHeartbeat = errors.New("heartbeats disabled in this build (FaultNoHeartbeat)")
