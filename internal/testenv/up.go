package testenv

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Up is a `decnet up --driver host` a test runs, with what its banner
// says.
type Up struct {
	Out *Buffer
	// Password, Dashboard and Gateway are read from the banner: the admin
	// password, the dashboard URL, and the address of the demo's SSH
	// gateway.
	Password, Dashboard, Gateway string
	// API is the API's base URL (https://127.0.0.1:port/api/v1).
	API string
	// Data is its data directory (decnet.log is there).
	Data   string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// StartUp runs `decnet up` from bin on a fresh data directory and a random
// API port, waits for its banner, and stops it (Ctrl-C) when the test ends
// if the test has not.
func StartUp(t testing.TB, bin string) *Up {
	t.Helper()
	return StartUpIn(t, bin, t.TempDir())
}

// StartUpIn is StartUp on the data directory data, which may hold a
// previous run's (then the banner shows no password, and Password is "").
func StartUpIn(t testing.TB, bin, data string) *Up {
	t.Helper()
	port := 20000 + rand.IntN(20000)
	cmd := exec.Command(bin, "up", "--driver", "host", "--data", data, "--api-listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--metrics-listen", "127.0.0.1:0")
	u := &Up{Out: &Buffer{}, API: fmt.Sprintf("https://127.0.0.1:%d/api/v1", port), Data: data, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = u.Out, u.Out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { u.err = cmd.Wait(); close(u.exited) }()
	t.Cleanup(func() { u.Stop(t) })
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(u.Out.String(), "Ctrl-C stops") {
		select {
		case <-u.exited:
			t.Fatalf("decnet up exited (%v) before it came up:\n%s", u.err, u.Out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("decnet up did not come up:\n%s", u.Out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	text := u.Out.String()
	if m := regexp.MustCompile(`admin / (\S+)`).FindStringSubmatch(text); m != nil {
		u.Password = m[1]
	}
	for _, f := range []struct {
		dst *string
		re  string
	}{{&u.Gateway, `ssh root@(\S+)`}, {&u.Dashboard, `Dashboard: (\S+)`}} {
		m := regexp.MustCompile(f.re).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("the banner lacks %s:\n%s", f.re, text)
		}
		*f.dst = m[1]
	}
	return u
}

// Stop sends Ctrl-C, waits up to a minute for decnet up to tear the demo
// down and exit (killing it after that), and returns how it exited.
func (u *Up) Stop(t testing.TB) error {
	t.Helper()
	_ = u.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-u.exited:
	case <-time.After(60 * time.Second):
		_ = u.cmd.Process.Kill()
		<-u.exited
		return fmt.Errorf("decnet up did not stop within a minute")
	}
	return u.err
}
