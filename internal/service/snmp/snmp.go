package snmp

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Bounds of what the agent answers.
const (
	// maxBulkBytes caps a GetBulk reply, trailing bindings dropped as RFC
	// 3416 allows: a walk stays fast and a spoofed request small.
	maxBulkBytes = 8192
	maxBulkVars  = 512
	maxReply     = 65507
	maxEventOIDs = 32
	maxEventText = 256
)

// packetLimits bound the datagrams one source gets full answers to: a
// walk is thousands of GetNexts a second, so the packet rate is generous
// and the amplification is bounded in bytes by the agent's own budget.
var packetLimits = serve.PacketLimits{Rate: 500, Burst: 5000, Sources: 65536, Workers: 128, MaxPacket: 65535}

// Amplification budget per source: bytes a source may get beyond what it
// sent (a GetNext answer is a few dozen bytes over its request, a GetBulk
// kilobytes). Past it, replies are no larger than requests.
const (
	extraBytesRate  = 64 << 10
	extraBytesBurst = 512 << 10
)

var (
	oidUnknownUserNames = mustOID("1.3.6.1.6.3.15.1.1.3.0")
	oidUnknownEngineIDs = mustOID("1.3.6.1.6.3.15.1.1.4.0")
	systemOnlyView      = []OID{mustOID("1.3.6.1.2.1.1"), mustOID("1.3.6.1.2.1.25.1")}
)

// Server is the SNMP agent of one decky.
type Server struct {
	env         serve.Env
	host        *host
	mib         *mib
	engine      engine
	communities map[string]bool
	st          *stats
	now         func() time.Time
	recent      *recent
	budget      *budget
}

var _ serve.Server = (*Server)(nil)

// New builds the SNMP agent of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, st: &stats{}, now: time.Now, communities: map[string]bool{}, recent: newRecent(8192), budget: newBudget(65536)}
	for _, c := range cfg.Communities {
		s.communities[c] = true
	}
	if len(cfg.Communities) == 0 {
		s.communities["public"] = true
	}
	s.host = newHost(env, cfg)
	s.engine = newEngine(env.Identity)
	var view []OID
	if cfg.View == "systemonly" {
		view = systemOnlyView
	}
	// A monitoring system polls the agent a few times a minute.
	pollRate := env.Identity.Rand("snmp-polls").Float64() / 20
	s.mib = buildMIB(s.host, s.st, pollRate, view)
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.UDP(ctx, s.env, Port, packetLimits, s.handle)
}

func (s *Server) handle(_ context.Context, p *serve.Packet) {
	s.st.inPkts.Add(1)
	ver, _, err := version(p.Data)
	if err != nil {
		s.st.parseErrs.Add(1)
		s.protocolError(p, "malformed message")
		return
	}
	switch ver {
	case versionV1, versionV2c:
		s.handleCommunity(p)
	case versionV3:
		if s.host.windows || s.host.cisco {
			return // Windows' SNMP service speaks no v3; the IOS persona has no v3 user
		}
		s.handleV3(p)
	default:
		s.st.badVersions.Add(1)
		s.protocolError(p, "unsupported version "+strconv.FormatInt(ver, 10))
	}
}

func versionName(v int64) string {
	switch v {
	case versionV1:
		return "1"
	case versionV2c:
		return "2c"
	}
	return "3"
}

var pduNames = map[byte]string{pduGet: "get", pduGetNext: "getnext", pduResponse: "response", pduSet: "set",
	pduGetBulk: "getbulk", pduInform: "inform", pduTrapV2: "trap", pduReport: "report"}

func (s *Server) handleCommunity(p *serve.Packet) {
	m, err := parseCommunity(p.Data)
	if err != nil {
		s.st.parseErrs.Add(1)
		s.protocolError(p, "malformed message")
		return
	}
	ver, pdu := versionName(m.Version), pduNames[m.PDU.Type]
	if !s.communities[string(m.Community)] {
		// net-snmp drops a bad community without a word.
		s.st.badCommunity.Add(1)
		if s.recent.first("fail|"+p.Src.Addr().String()+"|"+string(m.Community), time.Minute) {
			s.emit(p, event.Event{Type: "snmp.login.failed", Outcome: "failure",
				Credential: event.NewCredential("snmp_community", "community", "", m.Community, true),
				Fields:     map[string]any{"version": ver, "pdu": pdu}})
		}
		return
	}
	if s.recent.first("ok|"+p.Src.Addr().String()+"|"+string(m.Community)+"|"+ver, 10*time.Minute) {
		s.emit(p, event.Event{Type: "snmp.login.success", Outcome: "success",
			Credential: event.NewCredential("snmp_community", "community", "", m.Community, true),
			Fields:     map[string]any{"version": ver, "pdu": pdu}})
	}
	req := m.PDU
	var resp PDU
	switch {
	case req.Type == pduGetBulk && m.Version == versionV1:
		s.st.parseErrs.Add(1)
		return // no GetBulk in v1: net-snmp drops it as unparsable
	case req.Type == pduGet:
		s.st.getRequests.Add(1)
		resp = s.get(req, m.Version)
	case req.Type == pduGetNext:
		s.st.getNexts.Add(1)
		resp = s.getNext(req, m.Version)
	case req.Type == pduGetBulk:
		resp = s.getBulk(req)
	case req.Type == pduSet:
		s.st.sets.Add(1)
		resp = s.refuseSet(p, req, m.Version)
	default:
		return // responses, traps, informs and reports are not for an agent
	}
	s.st.totalReqVars.Add(uint64(len(req.VarBinds)))
	if req.Type != pduSet {
		s.recordRead(p, req, ver)
	}
	resp.Type, resp.RequestID = pduResponse, req.RequestID
	s.reply(p, Message{Version: m.Version, Community: m.Community, PDU: resp}, req)
}

// reply sends the response, made to fit what the source may get.
func (s *Server) reply(p *serve.Packet, m Message, req PDU) {
	limit := maxReply
	if req.Type == pduGetBulk {
		limit = maxBulkBytes
	}
	if p.Limited {
		limit = min(limit, len(p.Data))
	}
	out := fit(m, req, limit)
	if !s.budget.allow(p.Src.Addr(), len(out)-len(p.Data), s.now()) {
		out = fit(m, req, min(limit, len(p.Data)))
	}
	s.budget.spend(p.Src.Addr(), len(out)-len(p.Data), s.now())
	if err := p.Reply(out); err != nil {
		if !errors.Is(err, serve.ErrRateLimited) {
			s.env.Logger().Debug("snmp reply", "err", err)
		}
		return
	}
	s.st.outPkts.Add(1)
	s.st.responses.Add(1)
}

// fit encodes a response in at most limit bytes: a GetBulk loses
// trailing bindings (RFC 3416 4.2.3), anything else becomes tooBig with
// no bindings (v2c) or the request's (v1), as an agent answers when its
// reply would exceed what it may send. That is never larger than the
// request, so a rate-limited source still gets an answer.
func fit(m Message, req PDU, limit int) []byte {
	out := m.encode()
	for len(out) > limit && req.Type == pduGetBulk && len(m.PDU.VarBinds) > 1 {
		over := len(out) - limit
		n := len(m.PDU.VarBinds)
		for n > 1 && over > 0 {
			n--
			over -= len(m.PDU.VarBinds[n].encode())
		}
		m.PDU.VarBinds = m.PDU.VarBinds[:n]
		out = m.encode()
	}
	if len(out) > limit {
		m.PDU.ErrStatus, m.PDU.ErrIndex = errTooBig, 0
		m.PDU.VarBinds = nil
		if m.Version == versionV1 {
			m.PDU.VarBinds = req.VarBinds
		}
		out = m.encode()
	}
	return out
}

// get answers a Get. v1 fails the whole request at the first absent
// variable (noSuchName, echoing the request); v2c answers each binding
// with its value or an exception.
func (s *Server) get(req PDU, ver int64) PDU {
	now := s.now()
	out := PDU{VarBinds: make([]VarBind, len(req.VarBinds))}
	for i, vb := range req.VarBinds {
		e, ok := s.mib.get(vb.OID)
		if ok {
			v := e.val(now)
			if ver == versionV1 && v.Tag == tagCounter64 {
				ok = false
			} else {
				out.VarBinds[i] = VarBind{OID: vb.OID, Value: v}
				continue
			}
		}
		if ver == versionV1 {
			return PDU{ErrStatus: errNoSuchName, ErrIndex: int64(i + 1), VarBinds: req.VarBinds}
		}
		out.VarBinds[i] = VarBind{OID: vb.OID, Value: Value{Tag: s.mib.missing(vb.OID)}}
	}
	return out
}

// successor returns the binding after o in the view, skipping Counter64
// for v1, or endOfMibView.
func (s *Server) successor(o OID, ver int64, now time.Time) (VarBind, bool) {
	for i := s.mib.next(o); i < len(s.mib.entries); i++ {
		e := s.mib.entries[i]
		v := e.val(now)
		if ver == versionV1 && v.Tag == tagCounter64 {
			continue
		}
		return VarBind{OID: e.oid, Value: v}, true
	}
	return VarBind{OID: o, Value: Value{Tag: tagEndOfMibView}}, false
}

func (s *Server) getNext(req PDU, ver int64) PDU {
	now := s.now()
	out := PDU{VarBinds: make([]VarBind, len(req.VarBinds))}
	for i, vb := range req.VarBinds {
		next, ok := s.successor(vb.OID, ver, now)
		if !ok && ver == versionV1 {
			return PDU{ErrStatus: errNoSuchName, ErrIndex: int64(i + 1), VarBinds: req.VarBinds}
		}
		out.VarBinds[i] = next
	}
	return out
}

// getBulk answers a GetBulk (RFC 3416 4.2.3), bounded to maxBulkVars
// bindings; repetitions stop early once every column is past the end.
func (s *Server) getBulk(req PDU) PDU {
	now := s.now()
	n := int(min(max(req.ErrStatus, 0), int64(len(req.VarBinds))))
	reps := int(min(max(req.ErrIndex, 0), maxBulkVars))
	out := PDU{}
	for _, vb := range req.VarBinds[:n] {
		next, _ := s.successor(vb.OID, versionV2c, now)
		out.VarBinds = append(out.VarBinds, next)
	}
	cols := make([]OID, 0, len(req.VarBinds)-n)
	for _, vb := range req.VarBinds[n:] {
		cols = append(cols, vb.OID)
	}
	for r := 0; r < reps && len(cols) > 0; r++ {
		ended := 0
		for c, o := range cols {
			if len(out.VarBinds) >= maxBulkVars {
				return out
			}
			next, ok := s.successor(o, versionV2c, now)
			if !ok {
				ended++
			}
			out.VarBinds = append(out.VarBinds, next)
			cols[c] = next.OID
		}
		if ended == len(cols) {
			break
		}
	}
	return out
}

// refuseSet answers a Set as net-snmp does for a read-only community:
// noAccess on the first binding in v2c, noSuchName in v1; the request's
// bindings are echoed.
func (s *Server) refuseSet(p *serve.Packet, req PDU, ver int64) PDU {
	status, name := int64(errNoAccess), "noAccess"
	if ver == versionV1 {
		status, name = errNoSuchName, "noSuchName"
	}
	if len(req.VarBinds) == 0 {
		status, name = errNoError, ""
	}
	fields := requestEventFields(req, versionName(ver))
	values := make([]string, 0, min(len(req.VarBinds), maxEventOIDs))
	for _, vb := range req.VarBinds[:min(len(req.VarBinds), maxEventOIDs)] {
		t, v := vb.Value.text()
		values = append(values, event.Text([]byte(t+": "+v), maxEventText))
	}
	fields["values"] = values
	fields["error"] = name
	s.emit(p, event.Event{Type: "snmp.request.set", Outcome: "failure", Fields: fields})
	resp := PDU{ErrStatus: status, VarBinds: req.VarBinds}
	if status != errNoError {
		resp.ErrIndex = 1
	}
	return resp
}

func requestEventFields(req PDU, ver string) map[string]any {
	oids := make([]string, 0, min(len(req.VarBinds), maxEventOIDs))
	for _, vb := range req.VarBinds[:min(len(req.VarBinds), maxEventOIDs)] {
		oids = append(oids, vb.OID.String())
	}
	f := map[string]any{"version": ver, "pdu": pduNames[req.Type], "oids": oids, "varbinds": len(req.VarBinds)}
	if req.Type == pduGetBulk {
		f["non_repeaters"], f["max_repetitions"] = req.ErrStatus, req.ErrIndex
	}
	return f
}

// recordRead emits a read request, except the continuation of a walk: a
// GetNext or GetBulk starting where this source's last answer ended.
func (s *Server) recordRead(p *serve.Packet, req PDU, ver string) {
	src := p.Src.Addr().String()
	if (req.Type == pduGetNext || req.Type == pduGetBulk) && len(req.VarBinds) > 0 {
		if s.recent.has("walk|" + src + "|" + req.VarBinds[0].OID.String()) {
			s.rememberWalk(src, req)
			return
		}
	}
	s.rememberWalk(src, req)
	s.emit(p, event.Event{Type: "snmp.request.read", Fields: requestEventFields(req, ver)})
}

// rememberWalk notes the OIDs a walk would ask next: the answers to req.
func (s *Server) rememberWalk(src string, req PDU) {
	if req.Type != pduGetNext && req.Type != pduGetBulk {
		return
	}
	var last VarBind
	switch req.Type {
	case pduGetNext:
		if len(req.VarBinds) == 0 {
			return
		}
		last, _ = s.successor(req.VarBinds[0].OID, versionV2c, s.now())
		s.recent.first("walk|"+src+"|"+last.OID.String(), 2*time.Minute)
	case pduGetBulk:
		resp := s.getBulk(req)
		// snmpbulkwalk continues from the last binding of the answer.
		for i := len(resp.VarBinds) - 1; i >= 0 && i >= len(resp.VarBinds)-len(req.VarBinds); i-- {
			s.recent.first("walk|"+src+"|"+resp.VarBinds[i].OID.String(), 2*time.Minute)
		}
	}
}

// handleV3 answers the two SNMPv3 exchanges an agent without the
// caller's user has: discovery (usmStatsUnknownEngineIDs, with the
// engine id, boots and time) and an unknown user
// (usmStatsUnknownUserNames). The user name, and for an authenticated
// message its HMAC, are captured.
func (s *Server) handleV3(p *serve.Packet) {
	u, err := parseV3(p.Data)
	if err != nil {
		s.st.parseErrs.Add(1)
		s.protocolError(p, "malformed v3 message")
		return
	}
	if u.SecModel != 3 || u.Flags&flagReportable == 0 || u.Flags&(flagAuth|flagPriv) == flagPriv {
		return
	}
	reqID := int64(0)
	pdu := "encrypted"
	if u.PDU != nil {
		reqID, pdu = u.PDU.RequestID, pduNames[u.PDU.Type]
	}
	now := s.now()
	secs := s.engine.time(s.host, now)
	if len(u.UserName) > 0 {
		s.captureUser(p, u, pdu)
	}
	if !bytes.Equal(u.EngineID, s.engine.id) {
		n := s.st.unknownEngineIDs.Add(1)
		s.emit(p, event.Event{Type: "snmp.engine.discovery", Fields: map[string]any{
			"msg_id": u.MsgID, "user": event.Text(u.UserName, maxEventText)}})
		s.sendV3(p, report(u, s.engine.id, s.engine.boots, secs, oidUnknownEngineIDs, n, reqID))
		return
	}
	n := s.st.unknownUserNames.Add(1)
	s.sendV3(p, report(u, s.engine.id, s.engine.boots, secs, oidUnknownUserNames, n, reqID))
}

func (s *Server) sendV3(p *serve.Packet, b []byte) {
	if err := p.Reply(b); err == nil {
		s.st.outPkts.Add(1)
	}
}

func securityLevel(flags byte) string {
	switch flags & (flagAuth | flagPriv) {
	case flagAuth:
		return "authNoPriv"
	case flagAuth | flagPriv:
		return "authPriv"
	}
	return "noAuthNoPriv"
}

// captureUser records a v3 user. An authenticated message carries an
// HMAC of the whole message under a key derived from the password and
// the engine id: the message with the HMAC zeroed is hashcat's SNMPv3
// format (mode 25000 for the 96-bit MD5 and SHA-1 HMACs).
func (s *Server) captureUser(p *serve.Packet, u USM, pdu string) {
	key := "v3|" + p.Src.Addr().String() + "|" + string(u.UserName) + "|" + hex.EncodeToString(u.AuthParams)
	if !s.recent.first(key, time.Minute) {
		return
	}
	cred := event.NewCredential("snmpv3_usm", securityLevel(u.Flags), string(u.UserName), u.AuthParams, false)
	cred.Material = map[string]any{"engine_id": hex.EncodeToString(u.EngineID), "msg_id": u.MsgID,
		"engine_boots": u.EngineBoots, "engine_time": u.EngineTime}
	if u.Flags&flagAuth != 0 && len(u.AuthParams) > 0 {
		msg := append([]byte(nil), p.Data...)
		if off := cap(p.Data) - cap(u.AuthParams); off >= 0 && off+len(u.AuthParams) <= len(msg) {
			clear(msg[off : off+len(u.AuthParams)])
			cred.Material["message_zeroed_hex"] = hex.EncodeToString(msg)
			if len(u.AuthParams) == 12 {
				cred.CrackFormat, cred.CrackMode = "hashcat", 25000
				cred.CrackLine = "$SNMPv3$0$" + strconv.FormatInt(u.MsgID, 10) + "$" + hex.EncodeToString(msg) + "$" +
					hex.EncodeToString(u.EngineID) + "$" + hex.EncodeToString(u.AuthParams)
			}
		}
	}
	s.emit(p, event.Event{Type: "snmp.login.failed", Outcome: "failure", Credential: cred, Fields: map[string]any{
		"version": "3", "pdu": pdu, "security_level": securityLevel(u.Flags), "engine_id": hex.EncodeToString(u.EngineID)}})
}

func (s *Server) emit(p *serve.Packet, e event.Event) {
	e.Transport, e.Src, e.Dst = "udp", event.EndpointOf(p.Src), event.EndpointOf(p.Dst)
	s.env.Events.Emit(e)
}

// protocolError records a malformed datagram, once a minute per source.
func (s *Server) protocolError(p *serve.Packet, msg string) {
	if s.recent.first("err|"+p.Src.Addr().String(), time.Minute) {
		s.emit(p, event.Event{Type: "snmp.protocol.error", Fields: map[string]any{"error": msg, "bytes": len(p.Data)}})
	}
}

// recent remembers keys for a while, in bounded memory: it keeps a flood
// of datagrams from becoming a flood of events.
type recent struct {
	mu   sync.Mutex
	max  int
	keys map[string]time.Time // key -> expiry
}

func newRecent(n int) *recent { return &recent{max: n, keys: map[string]time.Time{}} }

// first says whether key is new (or expired), and remembers it for ttl.
func (r *recent) first(key string, ttl time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if exp, ok := r.keys[key]; ok && now.Before(exp) {
		return false
	}
	if len(r.keys) >= r.max {
		for k, exp := range r.keys {
			if now.After(exp) {
				delete(r.keys, k)
			}
		}
		if len(r.keys) >= r.max {
			clear(r.keys)
		}
	}
	r.keys[key] = now.Add(ttl)
	return true
}

// has says whether key is remembered and live.
func (r *recent) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	exp, ok := r.keys[key]
	return ok && time.Now().Before(exp)
}

// budget is a token bucket of bytes per source: how much more than it
// sent a source may receive.
type budget struct {
	mu      sync.Mutex
	max     int
	sources map[netip.Addr]*bytesBucket
}

type bytesBucket struct {
	tokens float64
	last   time.Time
}

func newBudget(n int) *budget { return &budget{max: n, sources: map[netip.Addr]*bytesBucket{}} }

func (b *budget) bucket(src netip.Addr, now time.Time) *bytesBucket {
	k, ok := b.sources[src]
	if !ok {
		if len(b.sources) >= b.max {
			clear(b.sources) // a spoofed flood: everyone starts over, memory stays bounded
		}
		k = &bytesBucket{tokens: extraBytesBurst, last: now}
		b.sources[src] = k
	}
	k.tokens = min(extraBytesBurst, k.tokens+now.Sub(k.last).Seconds()*extraBytesRate)
	k.last = now
	return k
}

// allow says whether src may get up to extra bytes more than it sent.
func (b *budget) allow(src netip.Addr, extra int, now time.Time) bool {
	if extra <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bucket(src, now).tokens >= float64(extra)
}

// spend takes what a reply cost beyond its request.
func (b *budget) spend(src netip.Addr, extra int, now time.Time) {
	if extra <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bucket(src, now).tokens -= float64(extra)
}
