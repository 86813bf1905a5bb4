package bench

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/postgres"
	"github.com/decnet/decnet/internal/store/sqlite"
	"github.com/decnet/decnet/internal/testenv"
)

func sampleEvent(i int) event.Event {
	return event.Event{Schema: 1, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed", Decky: fmt.Sprintf("decky-%02d", i%20), Service: "ssh",
		Session: event.NewID(), Seq: 2, Transport: "tcp",
		Src: &event.Endpoint{IP: fmt.Sprintf("203.0.%d.%d", i%250, (i/250)%250), Port: 1024 + i%60000}, Dst: &event.Endpoint{IP: "10.0.0.5", Port: 22},
		Credential: event.NewCredential("plaintext", "password", "root", []byte(fmt.Sprint("pw", i%5000)), true),
		Fields:     map[string]any{"client_version": "SSH-2.0-libssh2_1.10.0"}}
}

// BenchmarkIngestEndToEnd measures decky-to-database ingest: the real
// master and agent binaries, events written to a decky spool, shipped over
// the bus and stored, on SQLite and (when DECNET_TEST_POSTGRES names a
// database) PostgreSQL.
func BenchmarkIngestEndToEnd(b *testing.B) {
	bin := testenv.DecnetBinary(b)
	backends := []struct{ name, db string }{{"sqlite", ""}}
	if dsn := os.Getenv("DECNET_TEST_POSTGRES"); dsn != "" {
		backends = append(backends, struct{ name, db string }{"postgres", dsn})
	}
	const n = 50000
	for _, be := range backends {
		data := b.TempDir()
		base := 20000 + rand.IntN(20000)
		nats := fmt.Sprintf("127.0.0.1:%d", base+1)
		args := []string{"master", "--data", data, "--agents-listen", fmt.Sprintf("127.0.0.1:%d", base), "--nats-listen", nats,
			"--api-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-level", "error"}
		if be.db != "" {
			args = append(args, "--db", be.db)
		}
		run(b, bin, args...)
		waitListen(b, nats)
		adir := b.TempDir()
		run(b, bin, "agent", "--dir", adir, "--socket", filepath.Join(adir, "a.sock"), "--driver", "host", "--host-id", "bench", "--nats-url", "nats://"+nats, "--log-level", "error")
		var st store.Store
		var err error
		if be.db == "" {
			st, err = sqlite.Open(context.Background(), filepath.Join(data, "master.db"))
		} else {
			st, err = postgres.Open(context.Background(), be.db)
		}
		if err != nil {
			b.Fatal(err)
		}
		before, _ := st.CountEvents(context.Background(), store.EventFilter{})
		tagged0, _ := st.CountEvents(context.Background(), store.EventFilter{Tag: "T1110.001"})
		sp, err := spool.Open(filepath.Join(adir, "spool", "t", "d"))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := range n {
			e := sampleEvent(i)
			sp.Write(&e)
		}
		sp.Close()
		waitCount(b, st, store.EventFilter{}, before+n, start, 50*time.Millisecond, "stored")
		d := time.Since(start)
		fmt.Printf("end-to-end ingest (%s): %d events from a decky spool to the database in %s: %.0f events/s\n", be.name, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
		// The ATT&CK tagger consumes the same stream on its own: every
		// sample event is a password guess, tagged T1110.001.
		waitCount(b, st, store.EventFilter{Tag: "T1110.001"}, tagged0+n, start, 250*time.Millisecond, "tagged")
		dt := time.Since(start)
		fmt.Printf("ATT&CK tagging (%s), same run: %d events tagged %s after the first was written: %.0f events/s (%.2f of the ingest rate)\n",
			be.name, n, dt.Round(time.Millisecond), float64(n)/dt.Seconds(), d.Seconds()/dt.Seconds())
		st.Close()
	}
}

// waitCount polls until the store counts want events matching f, for at
// most 10 minutes from start.
func waitCount(b *testing.B, st store.Store, f store.EventFilter, want int64, start time.Time, every time.Duration, what string) {
	for {
		c, _ := st.CountEvents(context.Background(), f)
		if c >= want {
			return
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("only %d of %d events %s", c, want, what)
		}
		time.Sleep(every)
	}
}

func run(b *testing.B, bin string, args ...string) {
	cmd := execCommand(bin, args...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// BenchmarkAPIEventsAtOneMillion stores 1,000,000 events in SQLite and
// measures GET /api/v1/events latency with 200 concurrent clients.
func BenchmarkAPIEventsAtOneMillion(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "m.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const total, batch = 1_000_000, 2000
	fill := time.Now()
	for i := 0; i < total; i += batch {
		evs := make([]event.Event, batch)
		for j := range evs {
			evs[j] = sampleEvent(i + j)
		}
		if _, err := st.InsertEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Printf("stored %d events in %s\n", total, time.Since(fill).Round(time.Second))
	u := &store.User{Name: "bench", Role: store.Viewer, PasswordHash: "x"}
	if err := st.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	token := "dnt_benchmarktoken0123456789abcdef"
	sum := sha256.Sum256([]byte(token))
	if err := st.CreateAPIToken(ctx, &store.APIToken{UserID: u.ID, Name: "bench", Hash: hex.EncodeToString(sum[:]), CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	srv, err := api.New(api.Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(l)
	defer hs.Close()
	url := "http://" + l.Addr().String() + "/api/v1/events?limit=100"
	const clients = 200
	const dur = 20 * time.Second
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	tr := &http.Transport{MaxIdleConnsPerHost: clients, TLSClientConfig: &tls.Config{}}
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
			var mine []time.Duration
			for time.Now().Before(stop) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no successful request")
	}
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	fmt.Printf("GET /api/v1/events?limit=100 with %d events stored, %d concurrent clients, %s: %d requests (%.0f/s), p50 %s, p99 %s\n",
		total, clients, dur, len(lat), float64(len(lat))/dur.Seconds(), p(0.50).Round(time.Millisecond), p(0.99).Round(time.Millisecond))
}
