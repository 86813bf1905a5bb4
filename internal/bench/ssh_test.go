package bench

import (
	"bufio"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/decnet/decnet/internal/testenv"
)

// startSSHD runs Debian's OpenSSH server on addr with PAM (so a wrong
// password costs what it costs on a real host) and room for many
// unauthenticated connections.
func startSSHD(b *testing.B, addr string) *exec.Cmd {
	sshd := testenv.RequireTool(b, "/usr/sbin/sshd")
	keygen := testenv.RequireTool(b, "ssh-keygen")
	dir := b.TempDir()
	key := filepath.Join(dir, "host_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		b.Fatalf("ssh-keygen: %v %s", err, out)
	}
	host, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf("Port %s\nListenAddress %s\nHostKey %s\nPidFile %s/sshd.pid\nUsePAM yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nMaxStartups 2000\nMaxAuthTries 6\nLoginGraceTime 300\nStrictModes no\n",
		port, host, key, dir)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListen(b, addr)
	return cmd
}

// startDecky runs `decnet decky run` with one service, as a process of its
// own so its memory can be read.
func startDecky(b *testing.B, ip, svc string, cfg string) *exec.Cmd {
	bin := testenv.DecnetBinary(b)
	dir := b.TempDir()
	spec := fmt.Sprintf(`name: bench
seed: 00112233445566778899aabbccddeeff
lans: [{name: lo, subnet: %s.0/24, dmz: true}]
deckies:
  - name: d
    persona: {os: linux, distro: debian, hostname: srv01}
    addresses: [{lan: lo, ip: %s}]
    services: [%s]
%s`, ip[:strings.LastIndex(ip, ".")], ip, svc, cfg)
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(spec), 0o600)
	cmd := exec.Command(bin, "decky", "run", "--spec", filepath.Join(dir, "spec.yaml"), "--decky", "d", "--spool", filepath.Join(dir, "spool"), "--log-level", "error")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func waitListen(b *testing.B, addr string) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s never listened", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failedLogins runs workers that each connect, exchange keys and try a
// wrong password, for d; it returns completed attempts per second.
func failedLogins(addr string, workers int, d time.Duration) float64 {
	var done atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the load over 16 source addresses, as many attackers
			// would: the decky limits concurrent connections per source.
			dialer := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+w%16))}}
			cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.Password("wrong-password")},
				HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}
			for time.Now().Before(stop) {
				c, err := dialer.Dial("tcp", addr)
				if err != nil {
					continue
				}
				c.SetDeadline(time.Now().Add(30 * time.Second))
				_, _, _, err = ssh.NewClientConn(c, addr, cfg)
				c.Close()
				if err != nil && strings.Contains(err.Error(), "unable to authenticate") {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / d.Seconds()
}

// idle opens n connections that finish the version and key exchange and
// then sit at authentication, and returns a closer.
func idle(b *testing.B, addr string, n int) func() {
	var conns []net.Conn
	for i := range n {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(1+i%250))}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		// The client's banner and KEXINIT are enough to make both servers
		// keep the connection and its state.
		fmt.Fprintf(c, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7\r\n")
		bufio.NewReader(c).ReadString('\n')
		conns = append(conns, c)
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
	}
}

// rssKiB sums the proportional set size (shared pages divided among the
// processes that share them) of pid and its descendants, so that a forking
// server is not charged once per process for the same pages.
func rssKiB(pid int) int64 {
	var total int64
	var walk func(int)
	walk = func(p int) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err == nil {
			for _, l := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(l, "Pss:") {
					n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
					total += n
				}
			}
		}
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
		for _, k := range strings.Fields(string(kids)) {
			c, _ := strconv.Atoi(k)
			walk(c)
		}
	}
	walk(pid)
	return total
}

// BenchmarkSSHAgainstOpenSSH compares the SSH decky with OpenSSH's sshd:
// failed-password logins per second under the same concurrent load, and
// memory with 1,000 idle connections.
func BenchmarkSSHAgainstOpenSSH(b *testing.B) {
	testenv.RequireRoot(b)
	realAddr := "127.0.0.1:2222"
	deckyIP := "127.88.0.10"
	deckyAddr := deckyIP + ":22"
	sshd := startSSHD(b, realAddr)
	// The reference sshd runs with MaxStartups 2000: so does the decky.
	decky := startDecky(b, deckyIP, "ssh", "    service_config: {ssh: {max_startups: \"2000\"}}\n")
	waitListen(b, deckyAddr)
	const dur = 10 * time.Second
	for range b.N {
		// Both answer a wrong password after about 2 s (PAM's delay, and
		// the decky's imitation of it), so throughput is bound by
		// concurrency until the CPU runs out.
		for _, workers := range []int{64, 256} {
			real := failedLogins(realAddr, workers, dur)
			ours := failedLogins(deckyAddr, workers, dur)
			fmt.Printf("failed-password logins/s, %d concurrent clients, %s: OpenSSH sshd %.1f, ssh decky %.1f, ratio %.2f\n", workers, dur, real, ours, ours/real)
		}

		closeReal := idle(b, realAddr, 1000)
		time.Sleep(2 * time.Second)
		realRSS := rssKiB(sshd.Process.Pid)
		closeReal()
		closeOurs := idle(b, deckyAddr, 1000)
		time.Sleep(2 * time.Second)
		ourRSS := rssKiB(decky.Process.Pid)
		closeOurs()
		fmt.Printf("memory (PSS) with 1000 idle connections: OpenSSH sshd %.1f MiB, ssh decky %.1f MiB, ratio %.3f\n",
			float64(realRSS)/1024, float64(ourRSS)/1024, float64(ourRSS)/float64(realRSS))
	}
}

var execCommand = exec.Command

// failDelays measures, over workers concurrent clients for d, how long
// the server at addr takes to refuse a wrong password: from the password
// request to the refusal.
func failDelays(addr string, workers int, d time.Duration) []time.Duration {
	var mu sync.Mutex
	var out []time.Duration
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				var sent time.Time
				cfg := &ssh.ClientConfig{User: "nosuchuser", HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
					Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
						sent = time.Now()
						return "wrong-password", nil
					}), 1)}}
				c, err := ssh.Dial("tcp", addr, cfg)
				if err == nil {
					c.Close()
					continue
				}
				if !sent.IsZero() && strings.Contains(err.Error(), "unable to authenticate") {
					mu.Lock()
					out = append(out, time.Since(sent))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return out
}

func delayStats(ds []time.Duration) (mean, sd, lo, hi float64) {
	lo = 1e9
	for _, d := range ds {
		s := d.Seconds()
		mean += s
		lo, hi = min(lo, s), max(hi, s)
	}
	mean /= float64(len(ds))
	for _, d := range ds {
		sd += (d.Seconds() - mean) * (d.Seconds() - mean)
	}
	return mean, math.Sqrt(sd / float64(len(ds))), lo, hi
}

// delayModes counts the delays to the nearest 50 ms: OpenSSH answers at a
// per-user time doubled past PAM's delay, so a few values take them all.
func delayModes(ds []time.Duration) map[float64]int {
	m := map[float64]int{}
	for _, d := range ds {
		m[math.Round(d.Seconds()*20)/20]++
	}
	return m
}

// BenchmarkFailedPasswordDelay compares how long the SSH decky and
// OpenSSH's sshd with PAM take to refuse a wrong password: mean, spread
// and range of the delay, measured the same way in the same run.
func BenchmarkFailedPasswordDelay(b *testing.B) {
	testenv.RequireRoot(b)
	realAddr := "127.0.0.1:2223"
	deckyIP := "127.88.0.11"
	startSSHD(b, realAddr)
	startDecky(b, deckyIP, "ssh", "")
	waitListen(b, deckyIP+":22")
	for range b.N {
		real := failDelays(realAddr, 8, 20*time.Second)
		ours := failDelays(deckyIP+":22", 8, 20*time.Second)
		if len(real) < 20 || len(ours) < 20 {
			b.Fatalf("too few refusals measured: sshd %d, decky %d", len(real), len(ours))
		}
		rm, rs, rlo, rhi := delayStats(real)
		om, os_, olo, ohi := delayStats(ours)
		fmt.Printf("failed-password delay, OpenSSH sshd (PAM), %d samples: mean %.3f s, sd %.3f s, range %.3f-%.3f s\n", len(real), rm, rs, rlo, rhi)
		fmt.Printf("failed-password delay, ssh decky, %d samples: mean %.3f s, sd %.3f s, range %.3f-%.3f s\n", len(ours), om, os_, olo, ohi)
		fmt.Printf("replies at (s: count), sshd %v, decky %v\n", delayModes(real), delayModes(ours))
		fmt.Printf("ratio decky/sshd: mean %.2f, sd %.2f\n", om/rm, os_/rs)
	}
}

// anonKiB is a process's proportional anonymous memory (its heap and
// stacks: what it does not share with other deckies).
func anonKiB(pid int) int64 { return smapsKiB(strconv.Itoa(pid), "Pss_Anon:") }

// smapsKiB reads one field of /proc/<pid>/smaps_rollup ("self" for this
// process), in KiB.
func smapsKiB(pid, field string) int64 {
	data, err := os.ReadFile("/proc/" + pid + "/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, field) {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

func killPid(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
