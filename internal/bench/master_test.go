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
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/geo/geotest"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/postgres"
	"github.com/decnet/decnet/internal/store/sqlite"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/web"
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
// database) PostgreSQL. The reference, measured first in the same run on
// a fresh database of the same backend, is the store alone inserting the
// same events in the ingester's batches. DECNET_BENCH_EVENTS sets the
// number of events (default 100,000).
func BenchmarkIngestEndToEnd(b *testing.B) {
	bin := testenv.DecnetBinary(b)
	backends := []struct{ name, db string }{{"sqlite", ""}}
	if dsn := os.Getenv("DECNET_TEST_POSTGRES"); dsn != "" {
		backends = append(backends, struct{ name, db string }{"postgres", dsn})
	}
	n := envInt("DECNET_BENCH_EVENTS", 100_000)
	events := make([]event.Event, n)
	for i := range events {
		events[i] = sampleEvent(i)
	}
	for _, be := range backends {
		open := func() (store.Store, string) {
			if be.db == "" {
				p := filepath.Join(b.TempDir(), "master.db")
				st, err := sqlite.Open(context.Background(), p)
				if err != nil {
					b.Fatal(err)
				}
				return st, p
			}
			dsn := testenv.PostgresSchema(b, be.db)
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			return st, dsn
		}
		// The reference: the store alone, the same events in the
		// ingester's batches, one after the other.
		ref, _ := open()
		batch := master.NewIngester(ref, nil).Batch
		t0 := time.Now()
		for i := 0; i < n; i += batch {
			if _, err := ref.InsertEvents(context.Background(), events[i:min(i+batch, n)]); err != nil {
				b.Fatal(err)
			}
		}
		refRate := float64(n) / time.Since(t0).Seconds()
		ref.Close()
		fmt.Printf("store alone (%s): %d events in batches of %d: %.0f events/s\n", be.name, n, batch, refRate)

		st, db := open()
		// What an operator sets against brute force: five failed logins
		// from one source within a minute. Every sample event matches it.
		rule := &store.AlertRuleRow{ID: "bench-brute-force", Name: "brute force", Enabled: true,
			Spec: []byte(`{"severity":3,"match":{"types":["*.login.failed"],"tags":["T1110"]},"condition":{"kind":"threshold","count":5,"window":"1m"}}`)}
		if err := st.CreateAlertRule(context.Background(), rule); err != nil {
			b.Fatal(err)
		}
		base := 20000 + rand.IntN(20000)
		nats := fmt.Sprintf("127.0.0.1:%d", base+1)
		data := b.TempDir()
		if be.db == "" {
			data = filepath.Dir(db) // the master's database is data/master.db
		}
		// A city database covering every sample source: each event's new
		// address is looked up and its enrichment stored.
		city := filepath.Join(b.TempDir(), "GeoLite2-City.mmdb")
		geotest.WriteCity(b, city, geotest.City{Network: "203.0.0.0/16", Country: "AU", CountryName: "Australia", City: "Sydney"})
		args := []string{"master", "--data", data, "--agents-listen", fmt.Sprintf("127.0.0.1:%d", base), "--nats-listen", nats,
			"--api-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-level", "error", "--geoip-city", city}
		if be.db != "" {
			args = append(args, "--db", db)
		}
		run(b, bin, args...)
		waitListen(b, nats)
		adir := b.TempDir()
		run(b, bin, "agent", "--dir", adir, "--socket", filepath.Join(adir, "a.sock"), "--driver", "host", "--host-id", "bench", "--nats-url", "nats://"+nats, "--log-level", "error")
		sp, err := spool.Open(filepath.Join(adir, "spool", "t", "d"))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := range events {
			sp.Write(&events[i])
		}
		sp.Close()
		// The intelligence consumers read the same stream on their own;
		// each is timed from the same start, in parallel with ingestion.
		var wg sync.WaitGroup
		consumers := []string{"ATT&CK tagging", "intel-correlate", "intel-alert", "intel-enrich"}
		done := make([]time.Duration, len(consumers))
		for i, name := range consumers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 0 { // every sample event is a password guess, tagged T1110.001
					waitCount(b, st, store.EventFilter{Tag: "T1110.001"}, int64(n), start, 100*time.Millisecond, "tagged")
				} else {
					waitConsumer(b, "nats://"+nats, name, uint64(n), start)
				}
				done[i] = time.Since(start)
			}()
		}
		waitCount(b, st, store.EventFilter{}, int64(n), start, 100*time.Millisecond, "stored")
		d := time.Since(start)
		rate := float64(n) / d.Seconds()
		fmt.Printf("end-to-end ingest (%s): %d events from a decky spool to the database in %s: %.0f events/s, %.2f of the store alone (target 0.80), %.2f of 50,000/s\n",
			be.name, n, d.Round(time.Millisecond), rate, rate/refRate, rate/50000)
		wg.Wait()
		for i, name := range consumers {
			fmt.Printf("%s (%s), same run: %d events done %s after the first was written: %.0f events/s (%.2f of the ingest rate)\n",
				name, be.name, n, done[i].Round(time.Millisecond), float64(n)/done[i].Seconds(), d.Seconds()/done[i].Seconds())
		}
		st.Close()
	}
}

// waitConsumer polls the durable consumer's state until it has handled
// at least want events and holds none pending or unacknowledged, for at
// most 10 minutes from start.
func waitConsumer(b *testing.B, url, durable string, want uint64, start time.Time) {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := js.Consumer(ctx, bus.StreamName, durable)
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = c.Info(ctx)
		}
		cancel()
		if err == nil && info.AckFloor.Stream >= want && info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("%s did not finish: %+v %v", durable, info, err)
		}
		time.Sleep(250 * time.Millisecond)
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

// BenchmarkAPIAtScale stores 1,000,000 events in SQLite and (when
// DECNET_TEST_POSTGRES names a database) 10,000,000 in PostgreSQL, then
// measures the latency of the API's lists and counts and of the
// dashboard's overview page with 200 concurrent clients, each endpoint in
// turn for 10 s. DECNET_BENCH_SQLITE_EVENTS and DECNET_BENCH_PG_EVENTS
// change the sizes.
func BenchmarkAPIAtScale(b *testing.B) {
	type backend struct {
		name  string
		db    string
		total int
	}
	backends := []backend{{"sqlite", "", envInt("DECNET_BENCH_SQLITE_EVENTS", 1_000_000)}}
	if dsn := os.Getenv("DECNET_TEST_POSTGRES"); dsn != "" {
		backends = append(backends, backend{"postgres", dsn, envInt("DECNET_BENCH_PG_EVENTS", 10_000_000)})
	}
	for _, be := range backends {
		ctx := context.Background()
		var st store.Store
		var err error
		if be.db == "" {
			st, err = sqlite.Open(ctx, filepath.Join(b.TempDir(), "m.db"))
		} else {
			st, err = postgres.Open(ctx, testenv.PostgresSchema(b, be.db))
		}
		if err != nil {
			b.Fatal(err)
		}
		const batch = 5000
		fill := time.Now()
		evs := make([]event.Event, batch)
		var middle string // an id half way down the event list
		for i := 0; i < be.total; i += batch {
			for j := range evs {
				evs[j] = sampleEvent(i + j)
			}
			if i <= be.total/2 && be.total/2 < i+batch {
				middle = evs[be.total/2-i].ID
			}
			if _, err := st.InsertEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
		fmt.Printf("%s: stored %d events in %s\n", be.name, be.total, time.Since(fill).Round(time.Second))
		u, token := benchViewer(b, st)
		// A dashboard session: the cookie's hash, and the CSRF token
		// stamped with the password hash as the API does.
		cookie := "benchsessioncookie0123456789abcdef"
		if err := st.CreateSession(ctx, &store.Session{TokenHash: sha256hex(cookie), UserID: u.ID,
			CSRF: "csrf." + sha256hex("x")[:16], Expires: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		srv, err := api.New(api.Options{Store: st, ReadCacheTTL: master.ReadCacheTTL})
		if err != nil {
			b.Fatal(err)
		}
		ws, err := web.New(web.Options{API: srv, Store: st, OverviewTTL: master.OverviewTTL})
		if err != nil {
			b.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle(api.Prefix+"/", srv.Handler())
		mux.Handle("/", ws.Handler())
		hs := &http.Server{Handler: mux}
		go hs.Serve(l)
		base := "http://" + l.Addr().String()
		for _, ep := range []struct{ path, auth string }{
			{"/api/v1/events?limit=100", "token"},
			// Half way down: keyset pagination makes a deep page as cheap
			// as the first.
			{"/api/v1/events?limit=100&cursor=" + api.EncodeCursor("e:"+middle), "token"},
			{"/api/v1/events?limit=100&decky=decky-07", "token"},
			{"/api/v1/events/count", "token"},
			{"/api/v1/attackers?limit=100", "token"},
			{"/api/v1/credentials?limit=100", "token"},
			{"/", "cookie"},
		} {
			auth := func(r *http.Request) {
				if ep.auth == "token" {
					r.Header.Set("Authorization", "Bearer "+token)
				} else {
					r.AddCookie(&http.Cookie{Name: "decnet_session", Value: cookie})
				}
			}
			// The first answer of a URL is computed while its callers
			// wait (docs/api.md, read cache); it is timed alone, and the
			// clients then measure the steady state.
			first := time.Now()
			if err := getOnce(base+ep.path, auth); err != nil {
				b.Fatalf("%s: %v", ep.path, err)
			}
			cold := time.Since(first)
			lat, errs := hammer(base+ep.path, auth)
			if len(lat) == 0 {
				b.Fatalf("%s: no successful request (%d failed)", ep.path, errs)
			}
			p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
			name := ep.path
			if len(name) > 60 {
				name = name[:60] + "..."
			}
			fmt.Printf("%s, %d events, %d clients: GET %s: first answer %s; %d requests (%.0f/s, %d failed), p50 %s, p99 %s: %.2f of the 50 ms target\n",
				be.name, be.total, apiClients, name, cold.Round(time.Millisecond), len(lat), float64(len(lat))/apiPhase.Seconds(), errs,
				p(0.50).Round(100*time.Microsecond), p(0.99).Round(100*time.Microsecond), p(0.99).Seconds()/0.050)
		}
		hs.Close()
		srv.Close()
		st.Close()
	}
}

const (
	apiClients = 200
	apiPhase   = 10 * time.Second
)

// getOnce makes one request and checks that it is answered 200.
func getOnce(url string, auth func(*http.Request)) error {
	req, _ := http.NewRequest("GET", url, nil)
	auth(req)
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// hammer runs apiClients clients calling url for apiPhase and returns the
// sorted latencies of the 200 answers and the count of the others.
func hammer(url string, auth func(*http.Request)) ([]time.Duration, int) {
	var mu sync.Mutex
	var lat []time.Duration
	failed := 0
	var wg sync.WaitGroup
	stop := time.Now().Add(apiPhase)
	tr := &http.Transport{MaxIdleConnsPerHost: apiClients, TLSClientConfig: &tls.Config{}}
	defer tr.CloseIdleConnections()
	for range apiClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
			var mine []time.Duration
			bad := 0
			for time.Now().Before(stop) {
				req, _ := http.NewRequest("GET", url, nil)
				auth(req)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mine = append(mine, time.Since(t0))
				} else {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			failed += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, failed
}

// benchViewer creates a viewer (password hash "x") and an API token of
// it, and returns them.
func benchViewer(b *testing.B, st store.Store) (*store.User, string) {
	ctx := context.Background()
	u := &store.User{Name: "bench", Role: store.Viewer, PasswordHash: "x"}
	if err := st.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	token := "dnt_benchmarktoken0123456789abcdef"
	if err := st.CreateAPIToken(ctx, &store.APIToken{UserID: u.ID, Name: "bench", Hash: sha256hex(token), CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return u, token
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
