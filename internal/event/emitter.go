package event

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives finished events. The spool is the production sink; it
// must be safe for concurrent use.
type Sink interface {
	Write(e *Event) error
}

// Emitter stamps the envelope of every event of one service of one decky.
type Emitter struct {
	sink      Sink
	topology  string
	decky     string
	service   string
	namespace string
	log       *slog.Logger
	now       func() time.Time
}

// NewEmitter returns an emitter. namespace is the protocol spoken (http for
// https, smtp for smtp_relay), service the configured service.
func NewEmitter(sink Sink, topology, decky, service, namespace string, log *slog.Logger) *Emitter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Emitter{sink: sink, topology: topology, decky: decky, service: service, namespace: namespace, log: log, now: time.Now}
}

// WithNamespace returns an emitter for the same service speaking another
// protocol: the ics service's S7 port emits s7.*, its Modbus port modbus.*.
func (em *Emitter) WithNamespace(ns string) *Emitter {
	c := *em
	c.namespace = ns
	return &c
}

// Namespace returns the protocol namespace of the emitter's types.
func (em *Emitter) Namespace() string { return em.namespace }

func (em *Emitter) stamp(e *Event) {
	e.Schema = SchemaVersion
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.Time.IsZero() {
		e.Time = em.now().UTC()
	}
	e.Topology, e.Decky, e.Service = em.topology, em.decky, em.service
	sev, ok := SeverityOf(e.Type)
	if !ok {
		em.log.Error("uncatalogued event type", "type", e.Type)
		sev = 1
	}
	e.Severity = sev
}

// Emit writes a session-less event (UDP request, lifecycle). A sink error
// is logged: the service goes on, and the spool reports its own losses.
func (em *Emitter) Emit(e Event) {
	em.stamp(&e)
	if err := em.sink.Write(&e); err != nil {
		em.log.Error("write event", "type", e.Type, "err", err)
	}
}

// Session is one connection's events: they share an id and a sequence.
type Session struct {
	em        *Emitter
	id        string
	transport string
	src, dst  *Endpoint
	start     time.Time
	seq       atomic.Uint64
	closeOnce sync.Once
}

// Open starts a session for a connection from remote to local and emits
// <ns>.session.open. Its id is the id of that first event.
func (em *Emitter) Open(transport string, remote, local netip.AddrPort) *Session {
	s := &Session{em: em, id: NewID(), transport: transport, src: EndpointOf(remote), dst: EndpointOf(local), start: em.now()}
	s.Emit(Event{ID: s.id, Type: em.namespace + ".session.open"})
	return s
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Source returns the attacker's endpoint.
func (s *Session) Source() Endpoint { return *s.src }

// Emit writes an event of the session; the envelope is filled here.
func (s *Session) Emit(e Event) {
	e.Session, e.Seq, e.Transport, e.Src, e.Dst = s.id, s.seq.Add(1), s.transport, s.src, s.dst
	s.em.Emit(e)
}

// Close emits <ns>.session.close once, with the reason (client, server,
// timeout, limit, error), the byte counts and the duration.
func (s *Session) Close(reason string, inBytes, outBytes int64) {
	s.closeOnce.Do(func() {
		s.Emit(Event{Type: s.em.namespace + ".session.close", Fields: map[string]any{
			"reason": reason, "duration_ms": s.em.now().Sub(s.start).Milliseconds(),
			"bytes_in": inBytes, "bytes_out": outBytes, "event_count": s.seq.Load() + 1,
		}})
	})
}

// EndpointOf returns the endpoint of an address and port; an IPv4 address
// mapped into IPv6 is written as IPv4.
func EndpointOf(ap netip.AddrPort) *Endpoint {
	if !ap.IsValid() {
		return &Endpoint{}
	}
	return &Endpoint{IP: ap.Addr().Unmap().String(), Port: int(ap.Port())}
}
