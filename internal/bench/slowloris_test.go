package bench

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

// BenchmarkSlowloris holds 10,000 idle connections, spread over 200
// source addresses, against the Redis decky and against Debian's
// redis-server (maxclients 10000, its default) in the same run, then asks
// a real client from a new address for PING: memory of each server, how
// many of the flood's connections it still holds, and whether (and how
// fast) the real client is served.
func BenchmarkSlowloris(b *testing.B) {
	redisServer := testenv.RequireTool(b, "redis-server")
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 65536 {
		// The servers inherit it: redis-server needs maxclients + 32.
		want := syscall.Rlimit{Cur: 65536, Max: max(65536, lim.Max)}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
			want = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
			_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
		}
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); lim.Cur < 12000 {
			b.Skipf("cannot raise the open-file limit to hold 10,000 sockets (limit %d)", lim.Cur)
		}
	}
	const flood, sources = 10000, 200
	const port = 6379 // the decky serves the standard port; each server has its own address
	real := fmt.Sprintf("127.0.5.%d", 1+rand.IntN(250))
	deckyIP := fmt.Sprintf("127.0.6.%d", 1+rand.IntN(250))
	cmd := exec.Command(redisServer, "--bind", real, "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no",
		"--maxclients", "10000", "--protected-mode", "no", "--logfile", "")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	decky := startDecky(b, deckyIP, "redis", "")
	for _, tc := range []struct {
		name string
		addr string
		pid  int
	}{{"redis-server", net.JoinHostPort(real, fmt.Sprint(port)), cmd.Process.Pid}, {"redis decky", net.JoinHostPort(deckyIP, fmt.Sprint(port)), decky.Process.Pid}} {
		waitListen(b, tc.addr)
		before := rssKiB(tc.pid)
		conns := openIdle(tc.addr, flood, sources)
		time.Sleep(2 * time.Second) // let the server settle (evictions, refusals)
		rss := rssKiB(tc.pid)
		held := stillOpen(conns)
		start := time.Now()
		answer := realClient(tc.addr)
		took := time.Since(start)
		fmt.Printf("slowloris %-13s: %d idle connections from %d sources attempted, %d held; memory %.1f MiB (%.1f MiB before); a new client's PING: %q in %v\n",
			tc.name, flood, sources, held, float64(rss)/1024, float64(before)/1024, answer, took.Round(time.Millisecond))
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		time.Sleep(time.Second)
	}
}

// openIdle opens n connections from sources addresses (127.0.7.x), in
// parallel, and leaves them silent.
func openIdle(addr string, n, sources int) []net.Conn {
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 7, byte(1+i%sources))}}
			if c, err := d.Dial("tcp", addr); err == nil {
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	return conns
}

// stillOpen counts the connections the server has not closed.
func stillOpen(conns []net.Conn) int {
	var n int
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 500)
	for _, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, err := c.Read(make([]byte, 64))
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// realClient sends PING from a new address and returns the first line
// answered (or the error).
func realClient(addr string) string {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 8, 1)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "*1\r\n$4\r\nPING\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "read: " + err.Error()
	}
	return strings.TrimSpace(line)
}
