package mongodb

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is mongod's port.
const Port = 27017

// Server is the MongoDB emulation of one decky.
type Server struct {
	env     serve.Env
	cfg     *Settings
	ver     version
	users   map[string]string
	store   *store
	procID  ObjectID
	pid     int32
	git     string
	boot    time.Time
	connID  atomic.Int32
	reqID   atomic.Int32
	current atomic.Int32
	total   atomic.Int64
}

var _ serve.Server = (*Server)(nil)

// New builds the service; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, cfg: cfg, users: map[string]string{}}
	s.ver = versionFor(env.Persona.Distro.Slug, strings.TrimSpace(cfg.Version))
	for _, u := range cfg.Users {
		if name, pw, ok := strings.Cut(u, ":"); ok && name != "" {
			s.users[name] = pw
		}
	}
	now := time.Now()
	s.boot = now.Add(-env.Identity.Uptime(now)).Truncate(time.Second)
	r := env.Identity.Rand("mongodb-process")
	binary.BigEndian.PutUint32(s.procID[:], uint32(s.boot.Unix()))
	copy(s.procID[4:], env.Identity.Bytes("mongodb-process-id", 8))
	s.pid = int32(400 + r.IntN(30000))
	s.connID.Store(int32(1 + r.IntN(2000)))
	s.total.Store(int64(s.connID.Load()))
	s.reqID.Store(int32(r.IntN(1 << 20)))
	sum := sha1.Sum([]byte("mongodb-r" + s.ver.full))
	s.git = hex.EncodeToString(sum[:])
	s.store = newStore(env.Identity, cfg.Databases, now)
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// conn is one client connection.
type conn struct {
	*serve.Conn
	srv    *Server
	id     int32
	authed bool
	user   string
	sasl   *saslState
	bw     *bufio.Writer
}

// saslState is a conversation in progress.
type saslState struct {
	mech        mech
	db          string
	first       *clientFirst
	serverFirst string
	salt        []byte
	speculative bool
	skipEmpty   bool
	stage       int
}

// request is one command as received.
type request struct {
	opcode string
	cmd    D
	db     string
	seqs   []docSeq
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	s.current.Add(1)
	defer s.current.Add(-1)
	s.total.Add(1)
	cn := &conn{Conn: c, srv: s, id: s.connID.Add(1), authed: !s.cfg.Auth, bw: bufio.NewWriterSize(c, 16<<10)}
	br := bufio.NewReaderSize(c, 16<<10)
	// mongod answers a browser (and nmap's GetRequest probe) on its driver
	// port with a plain-text HTTP page, then hangs up.
	if first, err := br.Peek(4); err == nil && string(first) == "GET " {
		c.Write([]byte(httpOnDriverPort))
		c.Session.Emit(event.Event{Type: "mongodb.protocol.error", Fields: map[string]any{"error": "HTTP request on the driver port"}})
		c.SetCloseReason("server")
		return
	}
	for ctx.Err() == nil {
		h, body, err := readMessage(br)
		if err != nil {
			if errors.Is(err, errTooBig) {
				c.Session.Emit(event.Event{Type: "mongodb.protocol.error", Fields: map[string]any{"error": "message length " + strconv.Itoa(int(h.length)) + " out of range", "opcode": int(h.opCode)}})
				c.SetCloseReason("error")
			} else if !errors.Is(err, io.EOF) {
				c.SetCloseReason("error")
			}
			return
		}
		if !cn.message(h, body) {
			c.SetCloseReason("error")
			_ = cn.bw.Flush()
			return
		}
		if br.Buffered() == 0 {
			if err := cn.bw.Flush(); err != nil {
				return
			}
		}
	}
}

const httpOnDriverPort = "HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 84\r\n\r\n" +
	"It looks like you are trying to access MongoDB over HTTP on the native driver port.\n"

// message answers one message; false closes the connection (mongod
// closes on a message it cannot parse).
func (cn *conn) message(h header, body []byte) bool {
	s := cn.srv
	switch h.opCode {
	case opMsg:
		m, err := parseMsg(body)
		if err != nil {
			cn.protoError("invalid OP_MSG: "+err.Error(), h)
			return false
		}
		req := &request{opcode: "OP_MSG", cmd: m.body, db: m.body.Str("$db"), seqs: m.seqs}
		reply := cn.command(req)
		if m.flags&2 != 0 { // moreToCome: no reply
			return true
		}
		_, _ = cn.bw.Write(encodeMsg(s.reqID.Add(1), h.requestID, reply))
		return true
	case opQuery:
		q, err := parseQuery(body)
		if err != nil {
			cn.protoError("invalid OP_QUERY: "+err.Error(), h)
			return false
		}
		cmd := q.doc
		// A wrapped command: {$query: {...}, $readPreference: ...}.
		if inner := cmd.Doc("$query"); inner != nil {
			cmd = inner
		} else if inner := cmd.Doc("query"); inner != nil && len(cmd) > 0 && cmd[0].K == "query" {
			cmd = inner
		}
		req := &request{opcode: "OP_QUERY", cmd: cmd, db: q.db()}
		var reply D
		name := ""
		if len(cmd) > 0 {
			name = cmd[0].K
		}
		switch {
		case !strings.HasSuffix(q.collection, ".$cmd"):
			reply = cn.unsupportedOpQuery(req, "find")
		case s.ver.opQueryCommands() || isHello(name):
			reply = cn.command(req)
		default:
			reply = cn.unsupportedOpQuery(req, name)
		}
		_, _ = cn.bw.Write(encodeReply(s.reqID.Add(1), h.requestID, 8, reply))
		return true
	case opCompressed:
		cn.protoError("compression was not negotiated", h)
		return false
	default:
		// mongod 6+ closes on removed legacy opcodes (OP_INSERT, OP_GET_MORE, ...).
		cn.protoError("unsupported opcode "+strconv.Itoa(int(h.opCode)), h)
		return false
	}
}

func (cn *conn) protoError(msg string, h header) {
	cn.Session.Emit(event.Event{Type: "mongodb.protocol.error", Fields: map[string]any{"error": msg, "opcode": int(h.opCode)}})
}

func (cn *conn) unsupportedOpQuery(req *request, name string) D {
	cn.emitCommand(req, "UnsupportedOpQueryCommand")
	if name == "find" {
		return errDoc("Unsupported OP_QUERY command: find. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal", 352, "UnsupportedOpQueryCommand")
	}
	return errDoc("Unsupported OP_QUERY command: "+name+". The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal", 352, "UnsupportedOpQueryCommand")
}

func errDoc(msg string, code int32, name string) D {
	return D{{"ok", 0.0}, {"errmsg", msg}, {"code", code}, {"codeName", name}}
}

func isHello(name string) bool {
	return name == "hello" || name == "isMaster" || name == "ismaster"
}

// noAuthNeeded are the commands mongod runs before authentication.
var noAuthNeeded = map[string]bool{
	"hello": true, "isMaster": true, "ismaster": true, "buildInfo": true, "buildinfo": true,
	"saslStart": true, "saslContinue": true, "ping": true, "logout": true, "authenticate": true,
	"getnonce": true, "endSessions": true,
}

// command runs one command and returns the reply body.
func (cn *conn) command(req *request) D {
	if len(req.cmd) == 0 {
		cn.emitCommand(req, "CommandNotFound")
		return errDoc("no such command: ''", 59, "CommandNotFound")
	}
	name := req.cmd[0].K
	if req.db == "" && req.opcode == "OP_MSG" {
		return errDoc("OP_MSG requests require a $db argument", 40571, "Location40571")
	}
	switch name {
	case "hello", "isMaster", "ismaster":
		return cn.hello(req, name)
	case "saslStart":
		return cn.saslStart(req.cmd, req.db, false)
	case "saslContinue":
		return cn.saslContinue(req.cmd)
	}
	if !cn.authed && !noAuthNeeded[name] {
		cn.emitCommand(req, "Unauthorized")
		c := "Command"
		if !cn.srv.ver.atLeast(5, 0) {
			c = "command"
		}
		return errDoc(c+" "+name+" requires authentication", 13, "Unauthorized")
	}
	reply := cn.run(req, name)
	result := "ok"
	if ok, _ := reply.Get("ok"); ok == 0.0 {
		result = reply.Str("codeName")
	}
	cn.emitCommand(req, result)
	return reply
}

const maxDocJSON = 4096

func (cn *conn) emitCommand(req *request, result string) {
	name := ""
	if len(req.cmd) > 0 {
		name = req.cmd[0].K
	}
	f := map[string]any{
		"command": event.Text([]byte(name), 128), "db": event.Text([]byte(req.db), 256),
		"opcode": req.opcode, "document": event.Text([]byte(toJSON(req.cmd, maxDocJSON)), maxDocJSON), "result": result,
	}
	if len(req.cmd) > 0 {
		if c, ok := req.cmd[0].V.(string); ok {
			f["collection"] = event.Text([]byte(c), 256)
		}
	}
	cn.Session.Emit(event.Event{Type: "mongodb.command.input", Fields: f})
}

// hello answers hello/isMaster, with speculative authentication.
func (cn *conn) hello(req *request, name string) D {
	s := cn.srv
	cmd := req.cmd
	f := map[string]any{"command": name, "opcode": req.opcode}
	if cl := cmd.Doc("client"); cl != nil {
		if d := cl.Doc("driver"); d != nil {
			f["driver"] = event.Text([]byte(d.Str("name")+" "+d.Str("version")), 256)
		}
		if o := cl.Doc("os"); o != nil {
			f["os"] = event.Text([]byte(strings.TrimSpace(o.Str("type")+" "+o.Str("name")+" "+o.Str("architecture")+" "+o.Str("version"))), 256)
		}
		f["platform"] = event.Text([]byte(cl.Str("platform")), 256)
		if a := cl.Doc("application"); a != nil {
			f["application"] = event.Text([]byte(a.Str("name")), 256)
		}
	}
	mechsUser := cmd.Str("saslSupportedMechs")
	if mechsUser != "" {
		f["sasl_user"] = event.Text([]byte(mechsUser), 256)
	}
	cn.Session.Emit(event.Event{Type: "mongodb.client.hello", Fields: f})

	now := time.Now()
	d := D{}
	if name == "hello" || cmd.Bool("helloOk") {
		d = append(d, E{"helloOk", true})
	}
	if s.cfg.ReplSet != "" {
		me := s.env.Persona.Hostname + ":" + strconv.Itoa(Port)
		d = append(d, E{"topologyVersion", D{{"processId", s.procID}, {"counter", int64(6)}}},
			E{"hosts", A{me}}, E{"setName", s.cfg.ReplSet}, E{"setVersion", int32(1)})
		d = append(d, primaryKey(name), E{"secondary", false}, E{"primary", me}, E{"me", me},
			E{"electionId", electionID(s.procID)},
			E{"lastWrite", D{{"opTime", D{{"ts", Timestamp{T: uint32(now.Unix()), I: 1}}, {"t", int64(1)}}},
				{"lastWriteDate", now.Truncate(time.Second)},
				{"majorityOpTime", D{{"ts", Timestamp{T: uint32(now.Unix()), I: 1}}, {"t", int64(1)}}},
				{"majorityWriteDate", now.Truncate(time.Second)}}})
	} else {
		d = append(d, primaryKey(name), E{"topologyVersion", D{{"processId", s.procID}, {"counter", int64(0)}}})
	}
	d = append(d,
		E{"maxBsonObjectSize", int32(16777216)},
		E{"maxMessageSizeBytes", int32(maxMessage)},
		E{"maxWriteBatchSize", int32(100000)},
		E{"localTime", now},
		E{"logicalSessionTimeoutMinutes", int32(30)},
		E{"connectionId", cn.id},
		E{"minWireVersion", int32(0)},
		E{"maxWireVersion", s.ver.wire},
		E{"readOnly", false},
	)
	if mechsUser != "" {
		d = append(d, E{"saslSupportedMechs", A{"SCRAM-SHA-1", "SCRAM-SHA-256"}})
	}
	if spec := cmd.Doc("speculativeAuthenticate"); spec != nil && spec.Str("mechanism") != "" {
		db := spec.Str("db")
		if db == "" {
			db = req.db
		}
		r := cn.saslStart(spec, db, true)
		if ok, _ := r.Get("ok"); ok == 1.0 {
			d = append(d, E{"speculativeAuthenticate", r[:len(r)-1]})
		}
	}
	if s.cfg.ReplSet != "" {
		d = append(d, E{"isImplicitDefaultMajorityWC", true},
			E{"$clusterTime", D{{"clusterTime", Timestamp{T: uint32(now.Unix()), I: 1}},
				{"signature", D{{"hash", Binary{Data: make([]byte, 20)}}, {"keyId", int64(0)}}}}},
			E{"operationTime", Timestamp{T: uint32(now.Unix()), I: 1}})
	}
	return append(d, E{"ok", 1.0})
}

func primaryKey(name string) E {
	if name == "hello" {
		return E{"isWritablePrimary", true}
	}
	return E{"ismaster", true}
}

func electionID(p ObjectID) ObjectID {
	var o ObjectID
	o[0] = 0x7f
	o[1], o[2], o[3] = 0xff, 0xff, 0xff
	o[11] = p[11]%8 + 1
	return o
}

// saslStart begins a SCRAM conversation.
func (cn *conn) saslStart(cmd D, db string, speculative bool) D {
	name := cmd.Str("mechanism")
	m, ok := mechByName(name)
	if !ok {
		if !speculative {
			cn.Session.Emit(event.Event{Type: "mongodb.protocol.error", Fields: map[string]any{"error": "unsupported mechanism " + event.Text([]byte(name), 64)}})
		}
		return errDoc("Received authentication for mechanism "+name+" which is unknown or not enabled", 334, "MechanismUnavailable")
	}
	payload := payloadOf(cmd)
	cf, err := parseClientFirst(payload)
	if err != nil {
		return errDoc("Incorrect number of arguments for first SCRAM client message, got 0 expected at least 3", 17, "ProtocolError")
	}
	nonce := make([]byte, 24)
	_, _ = rand.Read(nonce)
	salt := cn.srv.env.Identity.Bytes("mongodb-scram-salt/"+m.name+"/"+db+"."+cf.user, m.saltLen)
	serverFirst := "r=" + cf.nonce + base64.StdEncoding.EncodeToString(nonce) + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(m.iterations)
	cn.sasl = &saslState{mech: m, db: db, first: cf, serverFirst: serverFirst, salt: salt, speculative: speculative,
		skipEmpty: cmd.Doc("options").Bool("skipEmptyExchange")}
	return D{{"conversationId", int32(1)}, {"done", false}, {"payload", Binary{Data: []byte(serverFirst)}}, {"ok", 1.0}}
}

func payloadOf(cmd D) string {
	v, _ := cmd.Get("payload")
	switch p := v.(type) {
	case Binary:
		return string(p.Data)
	case string:
		// The shell's legacy form sends the payload as a string.
		return p
	}
	return ""
}

// saslContinue takes the client proof: the capture. Unknown users and
// wrong passwords get mongod's one answer.
func (cn *conn) saslContinue(cmd D) D {
	st := cn.sasl
	if st == nil {
		return errDoc("No SASL session state found", 17, "ProtocolError")
	}
	if st.stage == 1 { // the empty final exchange after a success
		cn.sasl = nil
		return D{{"conversationId", int32(1)}, {"done", true}, {"payload", Binary{Data: []byte{}}}, {"ok", 1.0}}
	}
	cn.sasl = nil
	fin, err := parseClientFinal(payloadOf(cmd))
	if err != nil || !strings.HasPrefix(fin.nonce, st.first.nonce) || fin.nonce != serverNonce(st.serverFirst) {
		cn.Session.Emit(event.Event{Type: "mongodb.protocol.error", Fields: map[string]any{"error": "malformed SCRAM client-final-message"}})
		return errDoc("Authentication failed.", 18, "AuthenticationFailed")
	}
	authMessage := st.first.bare + "," + st.serverFirst + "," + fin.withoutProof
	user := st.first.user
	kind := "mongodb_scram_sha1"
	if st.mech.name == scramSHA256.name {
		kind = "mongodb_scram_sha256"
	}
	cred := event.NewCredential(kind, st.mech.name, event.Text([]byte(user), 256), fin.proof, false)
	cred.Challenge = hex.EncodeToString([]byte(st.serverFirst))
	// Hashcat's MongoDB modes (24100, 24200) take the stored verifier, not
	// an exchange: the material to test a password offline is kept whole.
	cred.Material = map[string]any{
		"mechanism": st.mech.name, "iterations": st.mech.iterations,
		"salt_b64":           base64.StdEncoding.EncodeToString(st.salt),
		"auth_message":       event.Text([]byte(authMessage), 2048),
		"client_proof":       base64.StdEncoding.EncodeToString(fin.proof),
		"db":                 event.Text([]byte(st.db), 256),
		"password_transform": map[bool]string{true: "hex(md5(user + \":mongo:\" + password))", false: "password"}[st.mech.name == scramSHA1.name],
	}
	f := map[string]any{"user": event.Text([]byte(user), 256), "db": event.Text([]byte(st.db), 256),
		"mechanism": st.mech.name, "speculative": st.speculative}
	var sig []byte
	ok := false
	if pw, known := cn.srv.users[user]; known && cn.srv.cfg.Auth {
		sig, ok = st.mech.verify(st.mech.password(user, pw), st.salt, authMessage, fin.proof)
	}
	if !ok {
		f["error_code"] = 18
		cn.Session.Emit(event.Event{Type: "mongodb.login.failed", Outcome: "failure", Credential: cred, Fields: f})
		return errDoc("Authentication failed.", 18, "AuthenticationFailed")
	}
	cn.Session.Emit(event.Event{Type: "mongodb.login.success", Outcome: "success", Credential: cred, Fields: f})
	cn.authed, cn.user = true, user
	done := st.skipEmpty
	if !done {
		st.stage = 1
		cn.sasl = st
	}
	return D{{"conversationId", int32(1)}, {"done", done}, {"payload", Binary{Data: []byte("v=" + base64.StdEncoding.EncodeToString(sig))}}, {"ok", 1.0}}
}

func serverNonce(serverFirst string) string {
	r, _, _ := strings.Cut(serverFirst, ",")
	return strings.TrimPrefix(r, "r=")
}
