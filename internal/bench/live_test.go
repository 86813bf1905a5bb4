package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/sqlite"
	"github.com/decnet/decnet/internal/testenv"
)

// BenchmarkLiveFeed measures how long an event takes from a decky's spool
// to the dashboard's live feed (the API's /events/stream, which the
// dashboard's EventSource reads) while events are written at 10,000/s
// (DECNET_BENCH_LIVE_RATE) for 20 s, with the real master and agent
// binaries: the same events are stored by the ingester meanwhile. Each
// event carries its write time; the latency is its arrival on the stream
// minus that time (one clock: the same machine).
func BenchmarkLiveFeed(b *testing.B) {
	bin := testenv.DecnetBinary(b)
	rate := envInt("DECNET_BENCH_LIVE_RATE", 10_000)
	const dur = 20 * time.Second
	data := b.TempDir()
	base := 20000 + rand.IntN(20000)
	nats := fmt.Sprintf("127.0.0.1:%d", base+1)
	apiAddr := fmt.Sprintf("127.0.0.1:%d", base+2)
	run(b, bin, "master", "--data", data, "--agents-listen", fmt.Sprintf("127.0.0.1:%d", base), "--nats-listen", nats,
		"--api-listen", apiAddr, "--metrics-listen", "127.0.0.1:0", "--log-level", "error")
	waitListen(b, nats)
	waitListen(b, apiAddr)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "master.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	_, token := benchViewer(b, st)
	adir := b.TempDir()
	run(b, bin, "agent", "--dir", adir, "--socket", filepath.Join(adir, "a.sock"), "--driver", "host", "--host-id", "bench",
		"--nats-url", "nats://"+nats, "--log-level", "error")

	// The stream, as the dashboard opens it (the master's certificate is
	// its own CA's: not verified on loopback here).
	req, _ := http.NewRequest("GET", "https://"+apiAddr+"/api/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := cl.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("stream: %s", resp.Status)
	}
	var (
		mu      sync.Mutex
		lat     []time.Duration
		dropped int
	)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		kind := ""
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case bytes.HasPrefix(line, []byte("event: ")):
				kind = string(line[7:])
			case bytes.HasPrefix(line, []byte("data: ")):
				now := time.Now()
				var e struct {
					Time  time.Time `json:"ts"`
					Count int       `json:"count"`
				}
				_ = json.Unmarshal(line[6:], &e)
				mu.Lock()
				if kind == "dropped" {
					dropped += e.Count
				} else if kind == "event" {
					lat = append(lat, now.Sub(e.Time))
				}
				mu.Unlock()
			}
		}
	}()
	time.Sleep(time.Second) // the subscription is made with the first stream

	sp, err := spool.Open(filepath.Join(adir, "spool", "t", "d"))
	if err != nil {
		b.Fatal(err)
	}
	const tick = 10 * time.Millisecond
	per := rate * int(tick) / int(time.Second)
	sent := 0
	start := time.Now()
	for i := 0; time.Since(start) < dur; i++ {
		for range per {
			e := sampleEvent(sent)
			e.Time = time.Now().UTC()
			sp.Write(&e)
			sent++
		}
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * tick)))
	}
	sp.Close()
	writeDur := time.Since(start)
	stored, _ := st.CountEvents(ctx, store.EventFilter{})
	// The stragglers: until every event came or nothing came for 5 s.
	last, lastN := time.Now(), 0
	for time.Since(last) < 5*time.Second {
		mu.Lock()
		n := len(lat) + dropped
		mu.Unlock()
		if n >= sent {
			break
		}
		if n != lastN {
			last, lastN = time.Now(), n
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no event reached the live feed")
	}
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	fmt.Printf("live feed: %d events written at %d/s for %s (%.0f/s achieved); %d stored meanwhile (%.0f/s); on the stream: %d received, %d dropped (slow reader)\n",
		sent, rate, writeDur.Round(time.Millisecond), float64(sent)/writeDur.Seconds(), stored, float64(stored)/writeDur.Seconds(), len(lat), dropped)
	fmt.Printf("live feed latency, spool write to stream arrival: p50 %s, p99 %s, max %s: p99 %.2f of the 1 s target\n",
		p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), p(0.99).Seconds())
}
