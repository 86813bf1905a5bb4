package intel

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/geo"
	"github.com/decnet/decnet/internal/store"
)

// IntelStore is what the enricher writes.
type IntelStore interface {
	SetAttackerIntel(ctx context.Context, intel map[string]store.AttackerIntel) error
}

// Resolver answers reverse DNS (net.Resolver does).
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// EnricherOptions are the enricher's optional parts.
type EnricherOptions struct {
	// Geo answers country, city and AS; nil or unloaded means none.
	Geo *geo.DB
	// ReverseDNS looks every new address up in the DNS. Off by default:
	// the query reaches whoever runs the address's reverse zone, which
	// may be the attacker.
	ReverseDNS bool
	// Resolver answers reverse DNS (default net.DefaultResolver).
	Resolver Resolver
	// DNSTimeout bounds one lookup (default 2 s).
	DNSTimeout time.Duration
	Log        *slog.Logger
}

// Enricher stores what the databases (and the DNS, when enabled) say
// about every source address. An address is looked up once per database
// generation: again only after a database is loaded, replaced or gone.
type Enricher struct {
	st   IntelStore
	opts EnricherOptions
	log  *slog.Logger

	mu   sync.Mutex
	done map[string]uint64 // address -> geo generation it was enriched at
}

// maxRemembered bounds the addresses remembered as enriched; past it the
// memory is cleared, and addresses are looked up again when next seen.
const maxRemembered = 1 << 16

// lookupConcurrency bounds reverse DNS lookups in flight.
const lookupConcurrency = 8

// NewEnricher returns an enricher; it starts nothing.
func NewEnricher(st IntelStore, opts EnricherOptions) *Enricher {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.DNSTimeout <= 0 {
		opts.DNSTimeout = 2 * time.Second
	}
	return &Enricher{st: st, opts: opts, log: opts.Log.With("component", "enricher"), done: map[string]uint64{}}
}

// Enabled reports whether there is anything to enrich with: a database
// path or reverse DNS.
func (e *Enricher) Enabled() bool {
	return e.opts.ReverseDNS || e.opts.Geo != nil && e.opts.Geo.Configured()
}

// Run consumes the event stream until ctx is done; without databases or
// reverse DNS it consumes nothing and waits for ctx (the durable consumer
// is made when enrichment is first configured, and starts from the
// oldest event the stream keeps).
func (e *Enricher) Run(ctx context.Context, js jetstream.JetStream) error {
	if !e.Enabled() {
		<-ctx.Done()
		return nil
	}
	return bus.Consume(ctx, js, EnricherDurable, e.Handle, bus.WithBatch(2000, 100*time.Millisecond), bus.WithPrefetch(),
		bus.WithAckWait(5*time.Minute), bus.WithLogger(e.log))
}

// Handle enriches the new source addresses of a batch.
func (e *Enricher) Handle(ctx context.Context, events []event.Event) error {
	gen := uint64(0)
	if e.opts.Geo != nil {
		gen = e.opts.Geo.Generation()
	}
	var addrs []netip.Addr
	seen := map[netip.Addr]bool{}
	e.mu.Lock()
	for i := range events {
		src := events[i].Src
		if src == nil {
			continue
		}
		ip, err := netip.ParseAddr(src.IP)
		if err != nil || seen[ip] {
			continue
		}
		seen[ip] = true
		if g, ok := e.done[ip.String()]; ok && g == gen {
			continue
		}
		addrs = append(addrs, ip)
	}
	e.mu.Unlock()
	if len(addrs) == 0 {
		return nil
	}
	infos := make([]store.AttackerIntel, len(addrs))
	found := make([]bool, len(addrs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, lookupConcurrency)
	now := time.Now().UTC()
	for i, ip := range addrs {
		in := store.AttackerIntel{UpdatedAt: now}
		if e.opts.Geo != nil {
			if g, ok := e.opts.Geo.Lookup(ip); ok {
				in.Country, in.CountryName, in.City, in.ASN, in.ASOrg = g.Country, g.CountryName, g.City, g.ASN, g.ASOrg
				found[i] = true
			}
		}
		infos[i] = in
		if e.opts.ReverseDNS {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if name := e.ptr(ctx, ip); name != "" {
					infos[i].PTR, found[i] = name, true
				}
			}()
		}
	}
	wg.Wait()
	batch := map[string]store.AttackerIntel{}
	for i, ip := range addrs {
		if found[i] {
			batch[ip.String()] = infos[i]
		}
	}
	if err := e.st.SetAttackerIntel(ctx, batch); err != nil {
		e.log.Warn("store attacker intel", "addresses", len(batch), "err", err)
		return err
	}
	e.mu.Lock()
	if len(e.done)+len(addrs) > maxRemembered {
		clear(e.done)
	}
	for _, ip := range addrs {
		e.done[ip.String()] = gen
	}
	e.mu.Unlock()
	return nil
}

// ptr is ip's first reverse DNS name, "" when it has none or the lookup
// failed or timed out. The name is the attacker's to choose, so it is
// kept as bounded text.
func (e *Enricher) ptr(ctx context.Context, ip netip.Addr) string {
	ctx, cancel := context.WithTimeout(ctx, e.opts.DNSTimeout)
	defer cancel()
	names, err := e.opts.Resolver.LookupAddr(ctx, ip.String())
	if err != nil || len(names) == 0 {
		return ""
	}
	return event.Text([]byte(strings.TrimSuffix(names[0], ".")), 255)
}
