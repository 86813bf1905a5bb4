// Package correlate links source addresses into identities and
// identities into campaigns, and turns credential reuse across deckies
// and lateral movement between them into events.
//
// An identity is a set of sources judged to be one actor: sources that
// share a strong indicator (an SSH client key, a client certificate, the
// same first five credentials tried in the same order, the same first
// four commands of a session), or enough weak ones together (tool
// fingerprints such as HASSH, JA3/JA4, the client version and the
// User-Agent, which everyone running a stock client shares). A campaign
// is a set of identities that share a payload (the SHA-256 of a file, a
// message, a container body they brought) or infrastructure (the host of
// a URL they pointed a download or an exploit at). Every link is stored
// with the indicators that made it, so the dashboard can say why.
//
// The Correlator is its own durable consumer of the event stream
// (intel-correlate), like the tagger. Its state lives in memory (the
// Engine) and in the store, written once per batch; it reads the stored
// state back when it starts, so a restart resumes rather than starts
// over. Derived events have ids derived from what they announce, so a
// redelivered batch or a rebuild publishes nothing twice.
package correlate

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// Durable is the correlator's consumer name.
const Durable = "intel-correlate"

// Host is the host id the master publishes derived events under.
const Host = bus.MasterHost

// Event types the correlator publishes.
const (
	IdentityLinkedType   = "decnet.identity.linked"
	CampaignLinkedType   = "decnet.campaign.linked"
	CredentialReusedType = "decnet.credential.reused"
	LateralMovementType  = "decnet.lateral.movement"
)

func init() {
	link := []event.FieldDoc{
		event.F("identity", "string", "the identity of the linked sources after the link (GET /api/v1/identities/{id})"),
		event.F("campaign", "string", "their campaign (GET /api/v1/campaigns/{id})"),
		event.F("sources", "list", "the two source addresses linked"),
		event.F("kinds", "list", "the kinds of the indicators they share"),
		event.F("reasons", "list", "the shared indicators: kind, value, detail"),
		event.F("event_id", "string", "the event that made the link"),
	}
	event.Declare(
		event.Type{Name: IdentityLinkedType, Severity: event.Medium,
			Summary: "Two source addresses were judged one actor: they share a strong indicator or enough weak ones (published by the master).",
			Fields:  link},
		event.Type{Name: CampaignLinkedType, Severity: event.Medium,
			Summary: "Two identities were put in one campaign: they share a payload or infrastructure (published by the master).",
			Fields:  link},
		event.Type{Name: CredentialReusedType, Severity: event.High,
			Summary: "A plaintext credential already tried on another decky was tried on this one (published by the master).",
			Fields: []event.FieldDoc{
				event.F("principal", "string", "the user name"),
				event.F("secret_sha256", "string", "SHA-256 of the secret"),
				event.F("kind", "string", "the credential's kind"),
				event.F("source", "string", "the source that tried it here"),
				event.F("identity", "string", "that source's identity"),
				event.F("decky", "string", "the decky it was tried on"),
				event.F("deckies", "list", "every decky it has been tried on, in order"),
				event.F("event_id", "string", "the login event"),
			}},
		event.Type{Name: LateralMovementType, Severity: event.High,
			Summary: "A source that logged into one decky went on to another, or a decky's own address touched another decky (published by the master).",
			Fields: []event.FieldDoc{
				event.F("source", "string", "the address that touched to_decky"),
				event.F("origin", "string", "the attacker behind it: the source, or the last source that logged into from_decky when the source is that decky's address"),
				event.F("identity", "string", "the origin's identity"),
				event.F("from_decky", "string", "the decky it came from"),
				event.F("to_decky", "string", "the decky it touched"),
				event.F("via", "string", "same_source or decky_address"),
				event.F("service", "string", "the service touched"),
				event.F("event_id", "string", "the event on to_decky"),
			}},
	)
}

// Store is what the correlator reads and writes.
type Store interface {
	ApplyCorrelation(ctx context.Context, b *store.CorrelationBatch) error
	LoadCorrelation(ctx context.Context) (*store.CorrelationState, error)
	ListTopologies(ctx context.Context) ([]store.Topology, error)
}

// Publisher delivers derived events to the event stream.
type Publisher interface {
	Publish(ctx context.Context, events []event.Event) error
}

// Correlator consumes the event stream into an Engine.
type Correlator struct {
	st  Store
	pub Publisher
	log *slog.Logger

	mu     sync.Mutex
	eng    *Engine
	topos  map[string]map[string]string // topology id -> address -> decky
	toposT time.Time

	// OnBatch, when set, learns each batch: events seen, events derived.
	OnBatch func(events, derived int)
}

// New returns a correlator; it starts nothing. pub nil stores without
// publishing (a rebuild: the outputs had the live events).
func New(st Store, pub Publisher, log *slog.Logger) *Correlator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Correlator{st: st, pub: pub, log: log.With("component", "correlator")}
}

// Run consumes the event stream until ctx is done.
func (c *Correlator) Run(ctx context.Context, js jetstream.JetStream) error {
	return bus.Consume(ctx, js, Durable, c.Handle, bus.WithBatch(2000, 100*time.Millisecond), bus.WithPrefetch(), bus.WithLogger(c.log))
}

// Handle correlates one batch: it publishes the derived events, then
// stores what it learned. On any error the engine is read again from the
// store, so the redelivered batch is correlated from the stored state.
func (c *Correlator) Handle(ctx context.Context, events []event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eng == nil {
		st, err := c.st.LoadCorrelation(ctx)
		if err != nil {
			return err
		}
		c.eng = Load(st)
		c.eng.DeckyAt = c.deckyAt(ctx)
		c.log.Info("correlation state loaded", "indicators", len(st.Indicators), "links", len(st.Links))
	}
	for i := range events {
		c.eng.Observe(&events[i])
	}
	b, derived := c.eng.Take()
	err := c.publish(ctx, derived)
	if err == nil {
		err = c.st.ApplyCorrelation(ctx, b)
	}
	if err != nil {
		c.log.Warn("correlate", "batch", len(events), "err", err)
		c.eng = nil // read again from the store
		return err
	}
	if c.OnBatch != nil {
		c.OnBatch(len(events), len(derived))
	}
	return nil
}

func (c *Correlator) publish(ctx context.Context, evs []event.Event) error {
	if c.pub == nil || len(evs) == 0 {
		return nil
	}
	return c.pub.Publish(ctx, evs)
}

// deckyAt returns the engine's decky lookup: the deckies' addresses from
// the stored topologies, read again every 30 s at most.
func (c *Correlator) deckyAt(ctx context.Context) func(topo, ip string) string {
	return func(topo, ip string) string {
		if c.topos == nil || time.Since(c.toposT) > 30*time.Second {
			c.toposT = time.Now()
			if tops, err := c.st.ListTopologies(ctx); err == nil {
				c.topos = map[string]map[string]string{}
				for _, t := range tops {
					spec, err := topology.DecodeBytes(t.Spec)
					if err != nil {
						continue
					}
					m := map[string]string{}
					for _, d := range spec.Deckies {
						for _, a := range d.Addresses {
							if a.IP != "" {
								m[a.IP] = d.Name
							}
						}
					}
					c.topos[t.ID] = m
				}
			}
		}
		return c.topos[topo][ip]
	}
}
