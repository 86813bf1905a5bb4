package redis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// The introspection commands scanners send to tell a real Redis from an
// emulation: ACL, DEBUG, MEMORY and SLOWLOG, answered as the claimed
// version does with its default configuration.

// introspectSince is the release that added each command.
var introspectSince = map[string][2]int{"acl": {6, 0}, "debug": {1, 0}, "memory": {4, 0}, "slowlog": {2, 2}}

func init() {
	commandTable["acl"] = cmdSpec{-2, []string{}, 0, 0, 0, "server", "6.0.0", "A container for Access List Control commands."}
	commandTable["debug"] = cmdSpec{-2, []string{"admin", "noscript", "loading", "stale", "protected"}, 0, 0, 0, "server", "1.0.0", "A container for debugging commands."}
	commandTable["memory"] = cmdSpec{-2, []string{}, 0, 0, 0, "server", "4.0.0", "A container for memory diagnostics commands."}
	commandTable["slowlog"] = cmdSpec{-2, []string{}, 0, 0, 0, "server", "2.2.12", "A container for slow log commands."}
}

// memoryDoctorEmpty is MEMORY DOCTOR's answer below 5 MB allocated.
const memoryDoctorEmpty = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"

// introspect answers one of the commands above.
func (cn *conn) introspect(name string, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	switch name {
	case "acl":
		cn.acl(sub, args)
	case "debug":
		if cn.srv.dialect.atLeast(7, 0) {
			// Debian's 7.0 keeps enable-debug-command no.
			cn.w.err(`ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`)
			return
		}
		cn.debugObject(sub, args)
	case "memory":
		switch {
		case sub == "doctor" && len(args) == 2:
			cn.w.bulkString(memoryDoctorEmpty)
		default:
			cn.w.err(cn.subcommandError(name, args[1], sub == "doctor"))
		}
	case "slowlog":
		switch {
		case sub == "get" && len(args) <= 3:
			if len(args) == 3 {
				if _, err := strconv.ParseInt(string(args[2]), 10, 64); err != nil {
					cn.w.err(errNotInt)
					return
				}
			}
			cn.w.array(0)
		case sub == "len" && len(args) == 2:
			cn.w.integer(0)
		case sub == "reset" && len(args) == 2:
			cn.w.simple("OK")
		default:
			cn.w.err(cn.subcommandError(name, args[1], sub == "get" || sub == "len" || sub == "reset"))
		}
	}
}

// aclUser is the default user's ACL rule line in the claimed version.
func (cn *conn) aclUser() string {
	pass := "nopass"
	if p := cn.srv.requirepass(); p != "" {
		h := sha256.Sum256([]byte(p))
		pass = "#" + hex.EncodeToString(h[:])
	}
	if cn.srv.dialect.atLeast(6, 2) {
		return "user default on " + pass + " ~* &* +@all"
	}
	return "user default on " + pass + " ~* +@all"
}

func (cn *conn) acl(sub string, args [][]byte) {
	switch {
	case sub == "list" && len(args) == 2:
		cn.w.strings([]string{cn.aclUser()})
	case sub == "users" && len(args) == 2:
		cn.w.strings([]string{"default"})
	case sub == "whoami" && len(args) == 2:
		cn.w.bulkString("default")
	default:
		cn.w.err(cn.subcommandError("acl", args[1], sub == "list" || sub == "users" || sub == "whoami"))
	}
}

// debugObject is DEBUG OBJECT of the releases that allow DEBUG.
func (cn *conn) debugObject(sub string, args [][]byte) {
	if sub != "object" || len(args) != 3 {
		cn.w.err(cn.subcommandError("debug", args[1], sub == "object"))
		return
	}
	st := cn.srv.store
	st.mu.Lock()
	defer st.mu.Unlock()
	v := st.get(cn.db, string(args[2]))
	if v == nil {
		cn.w.err("ERR no such key")
		return
	}
	enc, size := "raw", 0
	switch v.kind {
	case "string":
		size = len(v.str)
		switch {
		case isIntString(v.str):
			enc = "int"
		case size <= 44:
			enc = "embstr"
		}
	default:
		enc, size = "listpack", 16
	}
	h := sha256.Sum256([]byte(args[2]))
	addr := 0x7f0000000000 | int64(h[0])<<32 | int64(h[1])<<24 | int64(h[2])<<16 | int64(h[3])<<8 | int64(h[4]&0xf0)
	cn.w.simple(fmt.Sprintf("Value at:0x%x refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d",
		addr, enc, size+1, cn.srv.now().Unix()&0xffffff, int(h[5])%300))
}

func isIntString(s []byte) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	_, err := strconv.ParseInt(string(s), 10, 64)
	return err == nil
}
