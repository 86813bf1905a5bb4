package mqtt

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Bounds of one client.
const (
	maxSubscriptions = 64
	maxRetained      = 64
	maxEventPayload  = 64 << 10
	maxEventText     = 1024
	connectTimeout   = 60 * time.Second
)

// sysInterval is how often Mosquitto republishes $SYS (sys_interval) and
// how often the bait sensors report.
var sysInterval = 10 * time.Second

// Broker is the MQTT broker of one decky.
type Broker struct {
	env         serve.Env
	cfg         *Settings
	creds       map[string]string
	baits       []bait
	baseClients int64
	lag         time.Duration
	active      atomic.Int64
	now         func() time.Time
}

var _ serve.Server = (*Broker)(nil)

// New builds the broker of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	b := &Broker{env: env, cfg: cfg, creds: map[string]string{}, now: time.Now}
	for _, c := range cfg.Creds {
		u, p, _ := strings.Cut(c, ":")
		b.creds[u] = p
	}
	set := cfg.Persona
	if set == "" || set == "auto" {
		switch env.Persona.Archetype {
		case "iot-device":
			set = "home_automation"
		case "industrial-control":
			set = "factory_line"
		default:
			set = "water_plant"
		}
	}
	b.baits = append(personaTopics(env.Identity, set, env.Persona.Hostname), customTopics(cfg.CustomTopics)...)
	r := env.Identity.Rand("mqtt-broker")
	b.baseClients = int64(2 + r.IntN(12))
	b.lag = time.Duration(5+r.IntN(40)) * time.Second
	return b, nil
}

// Serve implements serve.Server.
func (b *Broker) Serve(ctx context.Context) error {
	return serve.TCP(ctx, b.env, Port, b.handle)
}

func (b *Broker) uptime(now time.Time) time.Duration {
	return max(b.env.Identity.Uptime(now)-b.lag, 0)
}

// session is one client connection.
type session struct {
	b      *Broker
	c      *serve.Conn
	level  byte
	mu     sync.Mutex // guards w, nextID, subs and retained against the reporter
	w      *bufio.Writer
	nextID int
	subs   map[string]byte
	own    map[string]publish // the client's own retained messages
	timer  *time.Timer
	ka     time.Duration
}

func (b *Broker) handle(ctx context.Context, c *serve.Conn) {
	s := &session{b: b, c: c, w: bufio.NewWriter(c), subs: map[string]byte{}, own: map[string]publish{}}
	// Until CONNECT, and then without a packet for 1.5 keep alives, the
	// connection is closed, as Mosquitto does.
	s.timer = time.AfterFunc(connectTimeout, func() { c.SetCloseReason("timeout"); c.Close() })
	defer s.timer.Stop()
	br := bufio.NewReaderSize(c, 4096)
	// Mosquitto closes as soon as the first byte is not a CONNECT's.
	if first, err := br.Peek(1); err != nil || first[0]>>4 != typeConnect {
		if err == nil {
			s.protocolError("first packet is not CONNECT")
			resetIfUnread(c, br, 1)
		}
		return
	}
	p, err := readPacket(br, maxPacket)
	if err != nil {
		s.readError(err)
		return
	}
	if !s.connect(p) {
		return
	}
	b.active.Add(1)
	defer b.active.Add(-1)
	done := make(chan struct{})
	defer close(done)
	go s.report(done)
	for ctx.Err() == nil {
		p, err := readPacket(br, maxPacket)
		if err != nil {
			s.readError(err)
			return
		}
		if s.ka > 0 {
			s.timer.Reset(s.ka)
		}
		if !s.dispatch(p) {
			return
		}
	}
}

// resetIfUnread makes the close a reset when the client sent more than
// Mosquitto reads before it gives up (read bytes): Mosquitto reads a
// packet's bytes as it needs them, so the rest stays in the socket and the
// kernel answers its close with a reset, where the decky's buffered reader
// has taken them and its close would be a clean end of stream.
func resetIfUnread(c *serve.Conn, br *bufio.Reader, read int) {
	if br.Buffered() <= read {
		return
	}
	if l, ok := c.Conn.(interface{ SetLinger(sec int) error }); ok {
		l.SetLinger(0)
	}
}

func (s *session) readError(err error) {
	if errors.Is(err, errMalformed) {
		s.protocolError(err.Error())
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		s.c.SetCloseReason("error")
	}
}

func (s *session) protocolError(msg string) {
	s.c.Session.Emit(event.Event{Type: "mqtt.protocol.error", Fields: map[string]any{"error": msg}})
	s.c.SetCloseReason("error")
}

func (s *session) send(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(b)
	return s.w.Flush() == nil
}

// CONNACK codes: 3.1.1 return codes and their v5 reason codes.
const (
	connAccepted     = 0
	connBadVersion   = 1
	connBadClientID  = 2
	connNotAuthed    = 5
	reasonNotAuthed  = 0x87
	reasonBadVersion = 0x84
	reasonBadID      = 0x85
)

// connect handles CONNECT and answers it as Mosquitto 2.0.11 does.
func (s *session) connect(p packet) bool {
	c, err := parseConnect(p.body)
	switch {
	case errors.Is(err, errProtocolName):
		s.protocolError("unknown protocol name")
		return false
	case errors.Is(err, errLevel):
		// Mosquitto refuses an unknown level in 3.1.1's format, whatever
		// the level claimed.
		s.send([]byte{0x20, 0x02, 0x00, connBadVersion})
		s.protocolError(fmt.Sprintf("unsupported protocol level %d", c.level))
		return false
	case err != nil:
		s.protocolError("malformed CONNECT")
		return false
	}
	s.level = c.level
	assigned := ""
	code := byte(connAccepted)
	if c.clientID == "" {
		switch {
		case c.level == 5:
			assigned = autoID()
		case c.level == 4 && c.cleanSession:
		default:
			code = connBadClientID
		}
	}
	if code == connAccepted && !s.b.accepts(c) {
		code = connNotAuthed
	}
	s.emitLogin(c, code)
	if code != connAccepted {
		switch {
		case c.level == 5 && code == connNotAuthed:
			s.send([]byte{0x20, 0x03, 0x00, reasonNotAuthed, 0x00})
		case c.level == 5:
			s.send([]byte{0x20, 0x03, 0x00, reasonBadID, 0x00})
		default:
			s.send([]byte{0x20, 0x02, 0x00, code})
		}
		return false
	}
	if c.keepAlive > 0 {
		s.ka = time.Duration(c.keepAlive) * 1500 * time.Millisecond
		s.timer.Reset(s.ka)
	} else {
		s.timer.Stop()
	}
	if c.level != 5 {
		return s.send([]byte{0x20, 0x02, 0x00, 0x00})
	}
	// Mosquitto's v5 CONNACK: topic alias maximum 10, the assigned client
	// id when it made one, receive maximum 20.
	props := []byte{0x22, 0x00, 0x0a}
	if assigned != "" {
		props = appendStr(append(props, 0x12), assigned)
	}
	props = append(props, 0x21, 0x00, 0x14)
	body := append([]byte{0x00, 0x00, byte(len(props))}, props...)
	return s.send(appendPacket(nil, 0x20, body))
}

// autoID is a client id as Mosquitto assigns one: "auto-" and an
// upper-case UUID.
func autoID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return "auto-" + strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", u[:4], u[4:6], u[6:8], u[8:10], u[10:]))
}

func (b *Broker) accepts(c connect) bool {
	if b.cfg.AcceptAll {
		return true
	}
	if c.username == nil {
		return b.cfg.AllowAnonymous
	}
	want, ok := b.creds[*c.username]
	return ok && c.hasPassword && want == string(c.password)
}

func (s *session) emitLogin(c connect, code byte) {
	fields := map[string]any{"client_id": event.Text([]byte(c.clientID), maxEventText), "protocol": c.protoName,
		"protocol_level": int(c.level), "keepalive": c.keepAlive, "clean_session": c.cleanSession,
		"anonymous": c.username == nil, "return_code": int(code)}
	if c.level == 5 && code == connNotAuthed {
		fields["return_code"] = reasonNotAuthed
	}
	if c.willTopic != "" || c.flags&0x04 != 0 {
		fields["will_topic"] = event.Text([]byte(c.willTopic), maxEventText)
		fields["will_payload_b64"] = base64.StdEncoding.EncodeToString(c.willPayload[:min(len(c.willPayload), maxEventPayload)])
	}
	var cred *event.Credential
	if c.username != nil || c.hasPassword {
		user := ""
		if c.username != nil {
			user = *c.username
		}
		cred = event.NewCredential("plaintext", "password", user, c.password, true)
	}
	typ, outcome := "mqtt.login.success", "success"
	if code != connAccepted {
		typ, outcome = "mqtt.login.failed", "failure"
	}
	s.c.Session.Emit(event.Event{Type: typ, Outcome: outcome, Credential: cred, Fields: fields})
}

// dispatch handles one packet after CONNECT; false ends the session.
func (s *session) dispatch(p packet) bool {
	switch p.typ {
	case typePublish:
		return s.publish(p)
	case typePuback, typePubcomp:
		return true
	case typePubrec:
		if len(p.body) < 2 {
			s.protocolError("malformed PUBREC")
			return false
		}
		return s.send([]byte{0x62, 0x02, p.body[0], p.body[1]})
	case typePubrel:
		if len(p.body) < 2 || p.flags != 2 {
			s.protocolError("malformed PUBREL")
			return false
		}
		return s.send([]byte{0x70, 0x02, p.body[0], p.body[1]})
	case typeSubscribe:
		return s.subscribe(p)
	case typeUnsubscribe:
		return s.unsubscribe(p)
	case typePingreq:
		return s.send([]byte{0xd0, 0x00})
	case typeDisconnect:
		return false
	case typeAuth:
		if s.level == 5 {
			s.send([]byte{0xe0, 0x01, 0x8c}) // bad authentication method
		}
		s.protocolError("AUTH without an authentication method")
		return false
	}
	s.protocolError(fmt.Sprintf("unexpected packet type %d", p.typ))
	if s.level == 5 {
		s.send([]byte{0xe0, 0x01, 0x82})
	}
	return false
}

func (s *session) publish(p packet) bool {
	pub, err := parsePublish(p, s.level)
	if err != nil || pub.topic == "" && !pub.aliasSet || strings.ContainsAny(pub.topic, "+#") {
		s.protocolError("malformed PUBLISH")
		if s.level == 5 {
			s.send([]byte{0xe0, 0x01, 0x82})
		}
		return false
	}
	payload := pub.payload[:min(len(pub.payload), maxEventPayload)]
	fields := map[string]any{"topic": event.Text([]byte(pub.topic), maxEventText), "qos": int(pub.qos), "retain": pub.retain,
		"dup": pub.dup, "size": len(pub.payload), "payload": event.Text(payload, maxEventText),
		"payload_b64": base64.StdEncoding.EncodeToString(payload)}
	e := event.Event{Type: "mqtt.message.publish", Fields: fields}
	if len(pub.payload) > maxEventPayload {
		e.Truncated = []string{"payload_b64"}
	}
	s.c.Session.Emit(e)
	switch pub.qos {
	case 1:
		if !s.send([]byte{0x40, 0x02, byte(pub.id >> 8), byte(pub.id)}) {
			return false
		}
	case 2:
		if !s.send([]byte{0x50, 0x02, byte(pub.id >> 8), byte(pub.id)}) {
			return false
		}
	}
	s.mu.Lock()
	if pub.retain {
		if len(pub.payload) == 0 {
			delete(s.own, pub.topic)
		} else if _, ok := s.own[pub.topic]; ok || len(s.own) < maxRetained {
			s.own[pub.topic] = publish{topic: pub.topic, qos: pub.qos, payload: pub.payload, retain: true}
		}
	}
	s.mu.Unlock()
	// Delivered back to the client's own matching subscriptions only.
	return s.deliver(publish{topic: pub.topic, qos: pub.qos, payload: pub.payload}, "")
}

// deliver sends msg to the session if one of its filters (or only filter,
// when not empty) matches, at the lower of the two QoS.
func (s *session) deliver(msg publish, only string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	best, ok := byte(0), false
	for f, q := range s.subs {
		if (only == "" || f == only) && matches(f, msg.topic) {
			ok = true
			best = max(best, q)
		}
	}
	if !ok {
		return true
	}
	msg.qos = min(msg.qos, best)
	id := 0
	if msg.qos > 0 {
		s.nextID = s.nextID%65535 + 1
		id = s.nextID
	}
	s.w.Write(msg.encode(s.level, id))
	return s.w.Flush() == nil
}

func (s *session) subscribe(p packet) bool {
	id, subs, err := parseSubscribe(p.body, s.level)
	if err != nil {
		s.protocolError("malformed SUBSCRIBE")
		return false
	}
	filters := make([]string, len(subs))
	qos := make([]int, len(subs))
	codes := make([]byte, len(subs))
	s.mu.Lock()
	for i, sub := range subs {
		filters[i], qos[i] = event.Text([]byte(sub.filter), maxEventText), int(sub.qos)
		_, exists := s.subs[sub.filter]
		switch {
		case !validFilter(sub.filter):
			codes[i] = 0x80
			if s.level == 5 {
				codes[i] = 0x8f
			}
		case !exists && len(s.subs) >= maxSubscriptions:
			codes[i] = 0x80
			if s.level == 5 {
				codes[i] = 0x97 // quota exceeded
			}
		default:
			s.subs[sub.filter] = sub.qos
			codes[i] = sub.qos
		}
	}
	s.mu.Unlock()
	s.c.Session.Emit(event.Event{Type: "mqtt.subscription.add", Fields: map[string]any{"filters": filters, "qos": qos}})
	body := appendU16(nil, id)
	if s.level == 5 {
		body = append(body, 0)
	}
	if !s.send(appendPacket(nil, 0x90, append(body, codes...))) {
		return false
	}
	// Retained messages follow the SUBACK, for each new filter.
	now := s.b.now()
	for i, sub := range subs {
		if codes[i] >= 0x80 {
			continue
		}
		for _, bt := range s.topics(now) {
			if matches(sub.filter, bt.topic) && !s.deliver(publish{topic: bt.topic, payload: []byte(bt.value(now)), retain: true}, sub.filter) {
				return false
			}
		}
		s.mu.Lock()
		var own []publish
		for _, m := range s.own {
			if matches(sub.filter, m.topic) {
				own = append(own, m)
			}
		}
		s.mu.Unlock()
		for _, m := range own {
			if !s.deliver(m, sub.filter) {
				return false
			}
		}
	}
	return true
}

// topics are the broker's retained topics at now: $SYS and the bait.
func (s *session) topics(now time.Time) []bait {
	return append(s.b.sysTopics(now), s.b.baits...)
}

func (s *session) unsubscribe(p packet) bool {
	id, filters, err := parseUnsubscribe(p.body, s.level)
	if err != nil {
		s.protocolError("malformed UNSUBSCRIBE")
		return false
	}
	codes := make([]byte, len(filters))
	texts := make([]string, len(filters))
	s.mu.Lock()
	for i, f := range filters {
		texts[i] = event.Text([]byte(f), maxEventText)
		if _, ok := s.subs[f]; !ok {
			codes[i] = 0x11 // no subscription existed
		}
		delete(s.subs, f)
	}
	s.mu.Unlock()
	s.c.Session.Emit(event.Event{Type: "mqtt.subscription.remove", Fields: map[string]any{"filters": texts}})
	body := appendU16(nil, id)
	if s.level == 5 {
		body = append(append(body, 0), codes...)
	}
	return s.send(appendPacket(nil, 0xb0, body))
}

// report republishes the live topics to the session's subscriptions every
// sysInterval, as sensors and Mosquitto's $SYS do, until done closes.
func (s *session) report(done <-chan struct{}) {
	t := time.NewTicker(sysInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := s.b.now()
		for _, bt := range s.topics(now) {
			if bt.live && !s.deliver(publish{topic: bt.topic, payload: []byte(bt.value(now))}, "") {
				return
			}
		}
	}
}
