package redis

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// cmdSpec is one command of the table: Redis arity semantics (n exact,
// -n at least n, counting the name) and what COMMAND reports.
type cmdSpec struct {
	arity int
	flags []string
	first int
	last  int
	step  int
	group string
	since string
	summ  string
}

var commandTable = map[string]cmdSpec{
	"append":    {3, []string{"write", "denyoom", "fast"}, 1, 1, 1, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist."},
	"auth":      {-2, []string{"noscript", "loading", "stale", "fast", "no_auth", "allow_busy"}, 0, 0, 0, "connection", "1.0.0", "Authenticates the connection."},
	"bgsave":    {-1, []string{"admin", "noscript", "no_async_loading"}, 0, 0, 0, "server", "1.0.0", "Asynchronously saves the database(s) to disk."},
	"client":    {-2, []string{}, 0, 0, 0, "connection", "2.4.0", "A container for client connection commands."},
	"command":   {-1, []string{"loading", "stale"}, 0, 0, 0, "server", "2.8.13", "Returns detailed information about all commands."},
	"config":    {-2, []string{}, 0, 0, 0, "server", "2.0.0", "A container for server configuration commands."},
	"dbsize":    {1, []string{"readonly", "fast"}, 0, 0, 0, "server", "1.0.0", "Returns the number of keys in the database."},
	"del":       {-2, []string{"write"}, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys."},
	"echo":      {2, []string{"fast"}, 0, 0, 0, "connection", "1.0.0", "Returns the given string."},
	"eval":      {-3, []string{"noscript", "skip_monitor", "may_replicate", "no_mandatory_keys"}, 0, 0, 0, "scripting", "2.6.0", "Executes a server-side Lua script."},
	"exists":    {-2, []string{"readonly", "fast"}, 1, -1, 1, "generic", "1.0.0", "Determines whether one or more keys exist."},
	"expire":    {-3, []string{"write", "fast"}, 1, 1, 1, "generic", "1.0.0", "Sets the expiration time of a key in seconds."},
	"flushall":  {-1, []string{"write"}, 0, 0, 0, "server", "1.0.0", "Removes all keys from all databases."},
	"flushdb":   {-1, []string{"write"}, 0, 0, 0, "server", "1.0.0", "Remove all keys from the current database."},
	"get":       {2, []string{"readonly", "fast"}, 1, 1, 1, "string", "1.0.0", "Returns the string value of a key."},
	"hello":     {-1, []string{"noscript", "loading", "stale", "fast", "no_auth", "allow_busy"}, 0, 0, 0, "connection", "6.0.0", "Handshakes with the Redis server."},
	"hget":      {3, []string{"readonly", "fast"}, 1, 1, 1, "hash", "2.0.0", "Returns the value of a field in a hash."},
	"hgetall":   {2, []string{"readonly"}, 1, 1, 1, "hash", "2.0.0", "Returns all fields and values in a hash."},
	"incr":      {2, []string{"write", "denyoom", "fast"}, 1, 1, 1, "string", "1.0.0", "Increments the integer value of a key by one."},
	"info":      {-1, []string{"loading", "stale"}, 0, 0, 0, "server", "1.0.0", "Returns information and statistics about the server."},
	"keys":      {2, []string{"readonly"}, 0, 0, 0, "generic", "1.0.0", "Returns all key names that match a pattern."},
	"lastsave":  {1, []string{"loading", "stale", "fast"}, 0, 0, 0, "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk."},
	"llen":      {2, []string{"readonly", "fast"}, 1, 1, 1, "list", "1.0.0", "Returns the length of a list."},
	"lrange":    {4, []string{"readonly"}, 1, 1, 1, "list", "1.0.0", "Returns a range of elements from a list."},
	"mget":      {-2, []string{"readonly", "fast"}, 1, -1, 1, "string", "1.0.0", "Atomically returns the string values of one or more keys."},
	"module":    {-2, []string{}, 0, 0, 0, "server", "4.0.0", "A container for module commands."},
	"persist":   {2, []string{"write", "fast"}, 1, 1, 1, "generic", "2.2.0", "Removes the expiration time of a key."},
	"ping":      {-1, []string{"fast"}, 0, 0, 0, "connection", "1.0.0", "Returns the server's liveliness response."},
	"pttl":      {2, []string{"readonly", "fast"}, 1, 1, 1, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key."},
	"quit":      {-1, []string{"allow_busy", "noscript", "loading", "stale", "fast", "no_auth"}, 0, 0, 0, "connection", "1.0.0", "Closes the connection."},
	"randomkey": {1, []string{"readonly"}, 0, 0, 0, "generic", "1.0.0", "Returns a random key name from the database."},
	"replicaof": {3, []string{"admin", "noscript", "stale", "no_async_loading"}, 0, 0, 0, "server", "5.0.0", "Configures a server as replica of another, or promotes it to a master."},
	"role":      {1, []string{"noscript", "loading", "stale", "fast"}, 0, 0, 0, "server", "2.8.12", "Returns the replication role."},
	"save":      {1, []string{"admin", "noscript", "no_async_loading", "no_multi"}, 0, 0, 0, "server", "1.0.0", "Synchronously saves the database(s) to disk."},
	"scan":      {-2, []string{"readonly"}, 0, 0, 0, "generic", "2.8.0", "Iterates over the key names in the database."},
	"scard":     {2, []string{"readonly", "fast"}, 1, 1, 1, "set", "1.0.0", "Returns the number of members in a set."},
	"select":    {2, []string{"loading", "stale", "fast"}, 0, 0, 0, "connection", "1.0.0", "Changes the selected database."},
	"set":       {-3, []string{"write", "denyoom"}, 1, 1, 1, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."},
	"slaveof":   {3, []string{"admin", "noscript", "stale", "no_async_loading"}, 0, 0, 0, "server", "1.0.0", "Sets a Redis server as a replica of another, or promotes it to being a master."},
	"smembers":  {2, []string{"readonly"}, 1, 1, 1, "set", "1.0.0", "Returns all members of a set."},
	"strlen":    {2, []string{"readonly", "fast"}, 1, 1, 1, "string", "2.2.0", "Returns the length of a string value."},
	"time":      {1, []string{"loading", "stale", "fast"}, 0, 0, 0, "server", "2.6.0", "Returns the server time."},
	"ttl":       {2, []string{"readonly", "fast"}, 1, 1, 1, "generic", "1.0.0", "Returns the expiration time in seconds of a key."},
	"type":      {2, []string{"readonly", "fast"}, 1, 1, 1, "generic", "1.0.0", "Determines the type of value stored at a key."},
}

const (
	errWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errNotInt    = "ERR value is not an integer or out of range"
	errSyntax    = "ERR syntax error"
	errOOM       = "OOM command not allowed when used memory > 'maxmemory'."
)

// dispatch runs one command and reports whether the connection ends.
func (cn *conn) dispatch(args [][]byte) bool {
	s := cn.srv
	name := strings.ToLower(string(args[0]))
	spec, known := commandTable[name]
	if name == "hello" && !s.dialect.atLeast(6, 0) || name == "replicaof" && !s.dialect.atLeast(5, 0) {
		known = false
	}
	if v, ok := introspectSince[name]; ok && !s.dialect.atLeast(v[0], v[1]) {
		known = false
	}
	if name == "auth" && known && len(args) >= 2 {
		cn.auth(args)
		return false
	}
	if name == "hello" {
		cn.emitCommand(maskHelloAuth(args), nil)
	} else {
		cn.emitCommand(args, nil)
	}
	if !known {
		cn.w.err(cn.unknownCommand(args))
		s.errors.Add(1)
		return false
	}
	if spec.arity > 0 && len(args) != spec.arity || spec.arity < 0 && len(args) < -spec.arity {
		cn.w.err(fmt.Sprintf("ERR wrong number of arguments for '%s' command", name))
		return false
	}
	if !cn.authed && name != "auth" && name != "hello" && name != "quit" {
		cn.w.err("NOAUTH Authentication required.")
		return false
	}
	cn.last = name
	switch name {
	case "quit":
		cn.w.simple("OK")
		cn.SetCloseReason("client")
		return true
	case "ping":
		switch len(args) {
		case 1:
			cn.w.simple("PONG")
		case 2:
			cn.w.bulk(args[1])
		default:
			cn.w.err("ERR wrong number of arguments for 'ping' command")
		}
	case "echo":
		cn.w.bulk(args[1])
	case "info":
		cn.w.bulkString(s.info(args[1:], cn))
	case "config":
		cn.configCmd(args)
	case "client":
		cn.clientCmd(args)
	case "command":
		cn.commandCmd(args)
	case "module":
		cn.moduleCmd(args)
	case "hello":
		cn.hello(args)
	case "slaveof", "replicaof":
		cn.replicaof(args)
	case "save":
		s.save(cn, "save")
		cn.w.simple("OK")
	case "bgsave":
		s.save(cn, "bgsave")
		cn.w.simple("Background saving started")
	case "lastsave":
		s.mu.Lock()
		cn.w.integer(s.lastSave.Unix())
		s.mu.Unlock()
	case "time":
		now := s.now()
		cn.w.strings([]string{strconv.FormatInt(now.Unix(), 10), strconv.Itoa(now.Nanosecond() / 1000)})
	case "role":
		s.mu.Lock()
		host, port := s.masterHost, s.masterPort
		s.mu.Unlock()
		if host == "" {
			cn.w.array(3)
			cn.w.bulkString("master")
			cn.w.integer(0)
			cn.w.array(0)
		} else {
			cn.w.array(5)
			cn.w.bulkString("slave")
			cn.w.bulkString(host)
			p, _ := strconv.Atoi(port)
			cn.w.integer(int64(p))
			cn.w.bulkString("connect")
			cn.w.integer(-1)
		}
	case "select":
		n, err := strconv.Atoi(string(args[1]))
		switch {
		case err != nil:
			cn.w.err(errNotInt)
		case n < 0 || n >= numDBs:
			cn.w.err("ERR DB index is out of range")
		default:
			cn.db = n
			cn.w.simple("OK")
		}
	case "eval":
		cn.eval(args)
	case "acl", "debug", "memory", "slowlog":
		cn.introspect(name, args)
	default:
		cn.keyCmd(name, args)
	}
	return false
}

func (cn *conn) unknownCommand(args [][]byte) string {
	d := cn.srv.dialect
	name := string(args[0])
	if !d.atLeast(4, 0) {
		return fmt.Sprintf("ERR unknown command '%s'", name)
	}
	var b strings.Builder
	if d.atLeast(7, 0) {
		if len(name) > 128 {
			name = name[:128]
		}
		fmt.Fprintf(&b, "ERR unknown command '%s', with args beginning with: ", name)
		for _, a := range args[1:] {
			if b.Len()-len(name)-48 >= 128 {
				break
			}
			room := 128 - (b.Len() - len(name) - 48)
			fmt.Fprintf(&b, "'%s' ", cut(a, room))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "ERR unknown command `%s`, with args beginning with: ", name)
	prefix := b.Len()
	for _, a := range args[1:] {
		if b.Len()-prefix >= 128 {
			break
		}
		fmt.Fprintf(&b, "`%s`, ", cut(a, 128-(b.Len()-prefix)))
	}
	return b.String()
}

func cut(b []byte, n int) []byte {
	if n < 0 {
		n = 0
	}
	if len(b) > n {
		return b[:n]
	}
	return b
}

// subcommandError is the reply to an unknown subcommand or a wrong count
// of its arguments, in the form of the persona's Redis version.
func (cn *conn) subcommandError(cmd string, sub []byte, wrongArgs bool) string {
	if cn.srv.dialect.atLeast(7, 0) {
		if wrongArgs {
			return fmt.Sprintf("ERR wrong number of arguments for '%s|%s' command", cmd, strings.ToLower(string(sub)))
		}
		return fmt.Sprintf("ERR unknown subcommand '%s'. Try %s HELP.", cut(sub, 128), strings.ToUpper(cmd))
	}
	return fmt.Sprintf("ERR Unknown subcommand or wrong number of arguments for '%s'. Try %s HELP.", cut(sub, 128), strings.ToUpper(cmd))
}

func (cn *conn) auth(args [][]byte) {
	s := cn.srv
	user, pass := "default", args[1]
	if len(args) == 3 {
		user, pass = string(args[1]), args[2]
	}
	cred := event.NewCredential("plaintext", "password", user, pass, true)
	fields := map[string]any{"command": "auth", "user": event.Text([]byte(user), 256)}
	var reply string
	ok := false
	switch {
	case len(args) > 3:
		cn.emitCommand(args, nil)
		cn.w.err(errSyntax)
		return
	case s.requirepass() == "" && len(args) == 2:
		if s.dialect.atLeast(6, 0) {
			reply = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
		} else {
			reply = "ERR Client sent AUTH, but no password is set"
		}
		fields["reason"] = "no password configured"
	case len(args) == 3 && !s.dialect.atLeast(6, 0):
		reply = errSyntax
	case user == "default" && s.passwordOK(pass, len(args) == 3):
		// With no requirepass the default user is "nopass": any password
		// works when a username is given.
		ok = true
	default:
		switch {
		case s.dialect.atLeast(6, 2):
			reply = "WRONGPASS invalid username-password pair or user is disabled."
		case s.dialect.atLeast(6, 0):
			reply = "WRONGPASS invalid username-password pair"
		default:
			reply = "ERR invalid password"
		}
	}
	typ, outcome := "redis.login.failed", "failure"
	if ok {
		typ, outcome = "redis.login.success", "success"
		cn.authed = true
		cn.w.simple("OK")
	} else {
		cn.w.err(reply)
	}
	cn.Session.Emit(event.Event{Type: typ, Outcome: outcome, Credential: cred, Fields: fields})
}

func (cn *conn) hello(args [][]byte) {
	s := cn.srv
	i := 1
	if len(args) > 1 {
		v, err := strconv.Atoi(string(args[1]))
		if err != nil {
			cn.w.err("ERR Protocol version is not an integer or out of range")
			return
		}
		if v != 2 {
			cn.w.err("NOPROTO unsupported protocol version")
			return
		}
		i = 2
	}
	for i < len(args) {
		opt := strings.ToLower(string(args[i]))
		switch {
		case opt == "auth" && i+2 < len(args):
			user, pass := string(args[i+1]), args[i+2]
			cred := event.NewCredential("plaintext", "password", user, pass, true)
			ok := user == "default" && s.passwordOK(pass, true)
			typ, outcome := "redis.login.failed", "failure"
			if ok {
				typ, outcome = "redis.login.success", "success"
				cn.authed = true
			}
			cn.Session.Emit(event.Event{Type: typ, Outcome: outcome, Credential: cred, Fields: map[string]any{"command": "hello"}})
			if !ok {
				cn.w.err("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			i += 3
		case opt == "setname" && i+1 < len(args):
			cn.name = event.Text(args[i+1], 256)
			i += 2
		default:
			cn.w.err(fmt.Sprintf("ERR Syntax error in HELLO option '%s'", cut(args[i], 128)))
			return
		}
	}
	if !cn.authed {
		cn.w.err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	cn.w.array(14)
	for _, kv := range [][2]string{{"server", "redis"}, {"version", s.build.version}} {
		cn.w.bulkString(kv[0])
		cn.w.bulkString(kv[1])
	}
	cn.w.bulkString("proto")
	cn.w.integer(2)
	cn.w.bulkString("id")
	cn.w.integer(cn.id)
	cn.w.bulkString("mode")
	cn.w.bulkString("standalone")
	cn.w.bulkString("role")
	cn.w.bulkString(s.role())
	cn.w.bulkString("modules")
	cn.w.array(0)
}

// requirepass returns the current password; CONFIG SET may change it.
func (s *Server) requirepass() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.password
}

// passwordOK checks an AUTH password. Without requirepass the default
// user is "nopass": any password works when a username is given.
func (s *Server) passwordOK(pass []byte, withUser bool) bool {
	want := s.requirepass()
	if want == "" {
		return withUser
	}
	return subtle.ConstantTimeCompare(pass, []byte(want)) == 1
}

// maskHelloAuth hides the password of HELLO ... AUTH user pass in the
// command event; the login event carries it as a credential.
func maskHelloAuth(args [][]byte) [][]byte {
	out := append([][]byte(nil), args...)
	for i := 1; i+2 < len(out); i++ {
		if strings.EqualFold(string(out[i]), "auth") {
			out[i+2] = []byte("******")
			break
		}
	}
	return out
}

func (s *Server) role() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.masterHost != "" {
		return "replica"
	}
	return "master"
}

func (cn *conn) replicaof(args [][]byte) {
	s := cn.srv
	host, port := string(args[1]), string(args[2])
	if strings.EqualFold(host, "no") && strings.EqualFold(port, "one") {
		s.mu.Lock()
		s.masterHost, s.masterPort = "", ""
		s.mu.Unlock()
		cn.w.simple("OK")
		return
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		cn.w.err("ERR Invalid master port")
		return
	}
	s.mu.Lock()
	already := s.masterHost == host && s.masterPort == port
	s.masterHost, s.masterPort = event.Text(args[1], 256), port
	s.mu.Unlock()
	cn.Session.Emit(event.Event{Type: "redis.exploit.attempt", Fields: map[string]any{
		"rule": "replicaof", "master_host": event.Text(args[1], 256), "master_port": p,
		"description": "replication from an attacker-chosen master (rogue-master module delivery)"}})
	if already {
		cn.w.simple("OK Already connected to specified master")
		return
	}
	cn.w.simple("OK")
}

func (cn *conn) moduleCmd(args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "list" && len(args) == 2:
		cn.w.array(0)
	case (sub == "load" || sub == "loadex") && len(args) >= 3:
		cn.Session.Emit(event.Event{Type: "redis.exploit.attempt", Fields: map[string]any{
			"rule": "module_load", "path": event.Text(args[2], 1024),
			"description": "loading a native module (command execution)"}})
		cn.w.err("ERR Error loading the extension. Please check the server logs.")
	case sub == "unload" && len(args) == 3:
		cn.w.err("ERR Error unloading module: no such module with that name")
	case sub == "help":
		cn.w.strings([]string{"MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"LIST", "    Return a list of loaded modules.", "LOAD <path> [<arg> ...]", "    Load a module library from <path>, passing to it any optional arguments.",
			"UNLOAD <name>", "    Unload a module.", "HELP", "    Print this help."})
	default:
		cn.w.err(cn.subcommandError("module", args[1], sub == "list" || sub == "load" || sub == "unload"))
	}
}

func (cn *conn) eval(args [][]byte) {
	script := bytes.ToLower(args[1])
	for _, bad := range []string{"package.loadlib", "luaopen_io", "io.popen", "os.execute"} {
		if bytes.Contains(script, []byte(bad)) {
			cn.Session.Emit(event.Event{Type: "redis.exploit.attempt", Fields: map[string]any{
				"rule": "lua_sandbox_escape", "vulnerability_id": "CVE-2022-0543", "script": event.Text(args[1], 4096)}})
			break
		}
	}
	n, err := strconv.Atoi(string(args[2]))
	if err != nil {
		cn.w.err(errNotInt)
		return
	}
	if n < 0 || n > len(args)-3 {
		cn.w.err("ERR Number of keys can't be greater than number of args")
		return
	}
	var id [20]byte
	_, _ = rand.Read(id[:])
	cn.w.err(fmt.Sprintf("ERR user_script:1: Script attempted to access nonexistent global variable 'package' script: %x, on @user_script:1.", id))
}

func (cn *conn) clientCmd(args [][]byte) {
	s := cn.srv
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "id" && len(args) == 2:
		cn.w.integer(cn.id)
	case sub == "getname" && len(args) == 2:
		if cn.name == "" {
			cn.w.nilBulk()
		} else {
			cn.w.bulkString(cn.name)
		}
	case sub == "setname" && len(args) == 3:
		if bytes.ContainsAny(args[2], " \n\r") {
			cn.w.err("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		cn.name = event.Text(args[2], 256)
		cn.w.simple("OK")
	case sub == "list" || sub == "info" && len(args) == 2:
		line := cn.clientLine()
		if sub == "list" {
			cn.w.bulkString(line + "\n")
		} else {
			cn.w.bulkString(line + "\n")
		}
	case sub == "kill" && len(args) >= 3:
		cn.w.err("ERR No such client")
	case sub == "setinfo" || sub == "no-evict" || sub == "no-touch" || sub == "reply" || sub == "pause" || sub == "unpause" || sub == "tracking":
		if sub == "setinfo" && !s.dialect.atLeast(7, 2) {
			cn.w.err(cn.subcommandError("client", args[1], false))
			return
		}
		cn.w.simple("OK")
	default:
		cn.w.err(cn.subcommandError("client", args[1], sub == "id" || sub == "getname" || sub == "setname" || sub == "kill"))
	}
}

func (cn *conn) clientLine() string {
	age := int(cn.srv.now().Sub(cn.start).Seconds())
	src := cn.Session.Source()
	local := cn.LocalAddr().String()
	cmd := cn.last
	if cmd == "client" {
		cmd = "client|list"
	}
	line := fmt.Sprintf("id=%d addr=%s:%d laddr=%s fd=%d name=%s age=%d idle=0 flags=N db=%d sub=0 psub=0",
		cn.id, src.IP, src.Port, local, 8+int(cn.srv.clients.Load()), cn.name, age, cn.db)
	if cn.srv.dialect.atLeast(7, 0) {
		line += " ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd=" + cmd + " user=default redir=-1 resp=2"
	} else {
		line += " multi=-1 qbuf=26 qbuf-free=32742 argv-mem=10 obl=0 oll=0 omem=0 tot-mem=61466 events=r cmd=" + cmd + " user=default"
		if cn.srv.dialect.atLeast(6, 2) {
			line += " redir=-1"
		}
	}
	return line
}

func (cn *conn) commandCmd(args [][]byte) {
	d := cn.srv.dialect
	if len(args) == 1 {
		names := make([]string, 0, len(commandTable))
		for n := range commandTable {
			names = append(names, n)
		}
		sort.Strings(names)
		cn.w.array(len(names))
		for _, n := range names {
			cn.commandInfo(n)
		}
		return
	}
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "count" && len(args) == 2:
		cn.w.integer(int64(d.commandCount()))
	case sub == "info":
		cn.w.array(len(args) - 2)
		for _, a := range args[2:] {
			n := strings.ToLower(string(a))
			if _, ok := commandTable[n]; ok {
				cn.commandInfo(n)
			} else {
				cn.w.nilBulk()
			}
		}
	case sub == "docs" && d.atLeast(7, 0):
		var names []string
		if len(args) == 2 {
			for n := range commandTable {
				names = append(names, n)
			}
			sort.Strings(names)
		} else {
			for _, a := range args[2:] {
				if n := strings.ToLower(string(a)); commandTable[n].arity != 0 {
					names = append(names, n)
				}
			}
		}
		cn.w.array(2 * len(names))
		for _, n := range names {
			sp := commandTable[n]
			cn.w.bulkString(n)
			cn.w.strings([]string{"summary", sp.summ, "since", sp.since, "group", sp.group, "complexity", "O(1)"})
		}
	case sub == "getkeys" && len(args) >= 3:
		n := strings.ToLower(string(args[2]))
		sp, ok := commandTable[n]
		if !ok {
			cn.w.err("ERR Invalid command specified")
			return
		}
		if sp.first == 0 || len(args) < 4 {
			cn.w.err("ERR The command has no key arguments")
			return
		}
		keys := args[2+sp.first:]
		if sp.last > 0 && len(keys) > 1 {
			keys = keys[:1]
		}
		cn.w.array(len(keys))
		for _, k := range keys {
			cn.w.bulk(k)
		}
	default:
		cn.w.err(cn.subcommandError("command", args[1], sub == "count"))
	}
}

func (cn *conn) commandInfo(n string) {
	sp := commandTable[n]
	if cn.srv.dialect.atLeast(7, 0) {
		cn.w.array(10)
	} else {
		cn.w.array(7)
	}
	cn.w.bulkString(n)
	cn.w.integer(int64(sp.arity))
	cn.w.array(len(sp.flags))
	for _, f := range sp.flags {
		cn.w.simple(f)
	}
	cn.w.integer(int64(sp.first))
	cn.w.integer(int64(sp.last))
	cn.w.integer(int64(sp.step))
	cn.w.array(1)
	cn.w.simple("@" + sp.group)
	if cn.srv.dialect.atLeast(7, 0) {
		cn.w.array(0)
		cn.w.array(0)
		cn.w.array(0)
	}
}

// keyCmd serves the keyspace commands.
func (cn *conn) keyCmd(name string, args [][]byte) {
	s := cn.srv
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	now := s.now()
	switch name {
	case "get":
		v := st.get(cn.db, string(args[1]))
		switch {
		case v == nil:
			cn.w.nilBulk()
		case v.kind != "string":
			cn.w.err(errWrongType)
		default:
			cn.w.bulk(v.str)
		}
	case "mget":
		cn.w.array(len(args) - 1)
		for _, k := range args[1:] {
			if v := st.get(cn.db, string(k)); v != nil && v.kind == "string" {
				cn.w.bulk(v.str)
			} else {
				cn.w.nilBulk()
			}
		}
	case "strlen":
		v := st.get(cn.db, string(args[1]))
		switch {
		case v == nil:
			cn.w.integer(0)
		case v.kind != "string":
			cn.w.err(errWrongType)
		default:
			cn.w.integer(int64(len(v.str)))
		}
	case "set":
		cn.set(args, now)
	case "append":
		v := st.get(cn.db, string(args[1]))
		if v != nil && v.kind != "string" {
			cn.w.err(errWrongType)
			return
		}
		nv := &value{kind: "string", attacker: true}
		if v != nil {
			nv.str, nv.expireAt = append(append([]byte(nil), v.str...), args[2]...), v.expireAt
		} else {
			nv.str = append([]byte(nil), args[2]...)
		}
		if !st.set(cn.db, string(args[1]), nv) {
			cn.w.err(errOOM)
			return
		}
		s.touchDirty()
		cn.w.integer(int64(len(nv.str)))
	case "incr":
		v := st.get(cn.db, string(args[1]))
		n := int64(0)
		if v != nil {
			if v.kind != "string" {
				cn.w.err(errWrongType)
				return
			}
			var err error
			if n, err = strconv.ParseInt(string(v.str), 10, 64); err != nil {
				cn.w.err(errNotInt)
				return
			}
		}
		n++
		nv := &value{kind: "string", str: strconv.AppendInt(nil, n, 10), attacker: true}
		if v != nil {
			nv.expireAt = v.expireAt
		}
		if !st.set(cn.db, string(args[1]), nv) {
			cn.w.err(errOOM)
			return
		}
		s.touchDirty()
		cn.w.integer(n)
	case "del":
		n := 0
		for _, k := range args[1:] {
			if st.get(cn.db, string(k)) != nil && st.del(cn.db, string(k)) {
				n++
			}
		}
		if n > 0 {
			s.touchDirty()
		}
		cn.w.integer(int64(n))
	case "exists":
		n := 0
		for _, k := range args[1:] {
			if st.get(cn.db, string(k)) != nil {
				n++
			}
		}
		cn.w.integer(int64(n))
	case "type":
		if v := st.get(cn.db, string(args[1])); v != nil {
			cn.w.simple(v.kind)
		} else {
			cn.w.simple("none")
		}
	case "ttl", "pttl":
		v := st.get(cn.db, string(args[1]))
		switch {
		case v == nil:
			cn.w.integer(-2)
		case v.expireAt.IsZero():
			cn.w.integer(-1)
		case name == "ttl":
			cn.w.integer(int64((v.expireAt.Sub(now) + 500*time.Millisecond) / time.Second))
		default:
			cn.w.integer(v.expireAt.Sub(now).Milliseconds())
		}
	case "expire":
		secs, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil || secs > 1<<40 || secs < -(1<<40) {
			cn.w.err(errNotInt)
			return
		}
		v := st.get(cn.db, string(args[1]))
		if v == nil {
			cn.w.integer(0)
			return
		}
		if secs <= 0 {
			st.del(cn.db, string(args[1]))
		} else {
			v.expireAt = now.Add(time.Duration(secs) * time.Second)
		}
		cn.w.integer(1)
	case "persist":
		v := st.get(cn.db, string(args[1]))
		if v == nil || v.expireAt.IsZero() {
			cn.w.integer(0)
			return
		}
		v.expireAt = time.Time{}
		cn.w.integer(1)
	case "dbsize":
		cn.w.integer(int64(len(st.sortedKeys(cn.db))))
	case "randomkey":
		keys := st.sortedKeys(cn.db)
		if len(keys) == 0 {
			cn.w.nilBulk()
			return
		}
		var b [2]byte
		_, _ = rand.Read(b[:])
		cn.w.bulkString(keys[(int(b[0])<<8|int(b[1]))%len(keys)])
	case "keys":
		pat := string(args[1])
		var out []string
		for _, k := range st.sortedKeys(cn.db) {
			if globMatch(pat, k) {
				out = append(out, k)
			}
		}
		cn.w.strings(out)
	case "scan":
		cn.scan(args)
	case "flushall", "flushdb":
		if len(args) > 2 || len(args) == 2 && !strings.EqualFold(string(args[1]), "async") && !strings.EqualFold(string(args[1]), "sync") {
			cn.w.err(errSyntax)
			return
		}
		if name == "flushall" {
			for db := range numDBs {
				st.flush(db)
			}
		} else {
			st.flush(cn.db)
		}
		s.touchDirty()
		cn.w.simple("OK")
	case "hgetall", "hget":
		v := st.get(cn.db, string(args[1]))
		switch {
		case v == nil && name == "hget":
			cn.w.nilBulk()
		case v == nil:
			cn.w.array(0)
		case v.kind != "hash":
			cn.w.err(errWrongType)
		case name == "hgetall":
			cn.w.strings(v.items)
		default:
			for i := 0; i+1 < len(v.items); i += 2 {
				if v.items[i] == string(args[2]) {
					cn.w.bulkString(v.items[i+1])
					return
				}
			}
			cn.w.nilBulk()
		}
	case "lrange", "llen":
		v := st.get(cn.db, string(args[1]))
		switch {
		case v != nil && v.kind != "list":
			cn.w.err(errWrongType)
		case name == "llen":
			if v == nil {
				cn.w.integer(0)
			} else {
				cn.w.integer(int64(len(v.items)))
			}
		default:
			start, err1 := strconv.Atoi(string(args[2]))
			stop, err2 := strconv.Atoi(string(args[3]))
			if err1 != nil || err2 != nil {
				cn.w.err(errNotInt)
				return
			}
			var items []string
			if v != nil {
				items = v.items
			}
			n := len(items)
			if start < 0 {
				start = max(n+start, 0)
			}
			if stop < 0 {
				stop = n + stop
			}
			if stop >= n {
				stop = n - 1
			}
			if start > stop || start >= n {
				cn.w.array(0)
				return
			}
			cn.w.strings(items[start : stop+1])
		}
	case "smembers", "scard":
		v := st.get(cn.db, string(args[1]))
		switch {
		case v != nil && v.kind != "set":
			cn.w.err(errWrongType)
		case name == "scard":
			if v == nil {
				cn.w.integer(0)
			} else {
				cn.w.integer(int64(len(v.items)))
			}
		case v == nil:
			cn.w.array(0)
		default:
			cn.w.strings(v.items)
		}
	default:
		cn.w.err(cn.unknownCommand(args))
	}
}

// set implements SET key value [NX|XX] [GET] [EX s|PX ms|EXAT|PXAT|KEEPTTL].
// The caller holds the store lock.
func (cn *conn) set(args [][]byte, now time.Time) {
	st := cn.srv.store
	key := string(args[1])
	var nx, xx, get, keep bool
	var exp time.Time
	for i := 3; i < len(args); i++ {
		opt := strings.ToUpper(string(args[i]))
		switch opt {
		case "NX":
			nx = true
		case "XX":
			xx = true
		case "GET":
			get = true
		case "KEEPTTL":
			keep = true
		case "EX", "PX", "EXAT", "PXAT":
			if i+1 >= len(args) || !exp.IsZero() || keep {
				cn.w.err(errSyntax)
				return
			}
			i++
			n, err := strconv.ParseInt(string(args[i]), 10, 64)
			if err != nil || n > 1<<40 {
				cn.w.err(errNotInt)
				return
			}
			if n <= 0 {
				cn.w.err("ERR invalid expire time in 'set' command")
				return
			}
			switch opt {
			case "EX":
				exp = now.Add(time.Duration(n) * time.Second)
			case "PX":
				exp = now.Add(time.Duration(n) * time.Millisecond)
			case "EXAT":
				exp = time.Unix(n, 0)
			default:
				exp = time.UnixMilli(n)
			}
		default:
			cn.w.err(errSyntax)
			return
		}
	}
	if nx && xx {
		cn.w.err(errSyntax)
		return
	}
	old := st.get(cn.db, key)
	if get && old != nil && old.kind != "string" {
		cn.w.err(errWrongType)
		return
	}
	if nx && old != nil || xx && old == nil {
		if get {
			cn.getReply(old)
		} else {
			cn.w.nilBulk()
		}
		return
	}
	v := &value{kind: "string", str: append([]byte(nil), args[2]...), expireAt: exp, attacker: true}
	if keep && old != nil {
		v.expireAt = old.expireAt
	}
	if !st.set(cn.db, key, v) {
		cn.w.err(errOOM)
		return
	}
	cn.srv.touchDirty()
	if get {
		cn.getReply(old)
		return
	}
	cn.w.simple("OK")
}

func (cn *conn) getReply(v *value) {
	if v == nil {
		cn.w.nilBulk()
		return
	}
	cn.w.bulk(v.str)
}

// scan implements SCAN cursor [MATCH p] [COUNT n] [TYPE t]; the cursor is
// an offset into the sorted key list. The caller holds the store lock.
func (cn *conn) scan(args [][]byte) {
	cursor, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		cn.w.err("ERR invalid cursor")
		return
	}
	match, typ, count := "*", "", 10
	for i := 2; i < len(args); i += 2 {
		if i+1 >= len(args) {
			cn.w.err(errSyntax)
			return
		}
		switch strings.ToLower(string(args[i])) {
		case "match":
			match = string(args[i+1])
		case "count":
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil {
				cn.w.err(errNotInt)
				return
			}
			if n < 1 {
				cn.w.err(errSyntax)
				return
			}
			count = min(n, 1000)
		case "type":
			typ = strings.ToLower(string(args[i+1]))
		default:
			cn.w.err(errSyntax)
			return
		}
	}
	keys := cn.srv.store.sortedKeys(cn.db)
	var out []string
	i := int(min(cursor, uint64(len(keys))))
	end := min(i+count, len(keys))
	for ; i < end; i++ {
		k := keys[i]
		if !globMatch(match, k) {
			continue
		}
		if typ != "" && cn.srv.store.get(cn.db, k).kind != typ {
			continue
		}
		out = append(out, k)
	}
	next := "0"
	if end < len(keys) {
		next = strconv.Itoa(end)
	}
	cn.w.array(2)
	cn.w.bulkString(next)
	cn.w.strings(out)
}

func (s *Server) touchDirty() {
	s.mu.Lock()
	s.dirty++
	s.mu.Unlock()
}
