package redis

import (
	"bytes"
	"path"
	"sort"
	"strings"

	"github.com/decnet/decnet/internal/event"
)

// configOrder lists the parameters CONFIG GET knows, with defaults set in
// defaultConfig. A real server has about 180; these are the ones scanners
// and exploitation scripts read.
var configOrder = []string{
	"dbfilename", "requirepass", "masterauth", "unixsocket", "logfile", "pidfile", "dir", "bind",
	"port", "protected-mode", "daemonize", "supervised", "databases", "maxmemory", "maxmemory-policy",
	"maxclients", "timeout", "tcp-keepalive", "save", "appendonly", "appendfilename", "appendfsync",
	"loglevel", "slave-read-only", "replica-read-only", "rdbcompression", "rdbchecksum",
	"enable-protected-configs", "enable-debug-command", "enable-module-command", "io-threads",
}

func defaultConfig(s *Server) map[string]string {
	c := map[string]string{
		"dbfilename": "dump.rdb", "requirepass": s.password, "masterauth": "", "unixsocket": "",
		"logfile": "/var/log/redis/redis-server.log", "pidfile": "/run/redis/redis-server.pid",
		"dir": "/var/lib/redis", "bind": "* -::*", "port": "6379", "protected-mode": "no",
		"daemonize": "no", "supervised": "systemd", "databases": "16", "maxmemory": "0",
		"maxmemory-policy": "noeviction", "maxclients": "10000", "timeout": "0", "tcp-keepalive": "300",
		"save": "3600 1 300 100 60 10000", "appendonly": "no", "appendfilename": "appendonly.aof",
		"appendfsync": "everysec", "loglevel": "notice", "slave-read-only": "yes", "replica-read-only": "yes",
		"rdbcompression": "yes", "rdbchecksum": "yes", "enable-protected-configs": "yes",
		"enable-debug-command": "no", "enable-module-command": "yes", "io-threads": "1",
	}
	switch s.env.Persona.Distro.Slug {
	case "rocky9", "centos7", "fedora":
		c["logfile"] = "/var/log/redis/redis.log"
		c["pidfile"] = "/var/run/redis_6379.pid"
		c["supervised"] = "systemd"
	case "alpine":
		c["logfile"] = "/var/log/redis/redis.log"
		c["pidfile"] = "/run/redis/redis.pid"
		c["supervised"] = "no"
	}
	if !s.dialect.atLeast(7, 0) {
		delete(c, "enable-protected-configs")
		delete(c, "enable-debug-command")
		delete(c, "enable-module-command")
		c["save"] = "900 1 300 10 60 10000"
	}
	if !s.dialect.atLeast(5, 0) {
		delete(c, "replica-read-only")
	}
	if !s.dialect.atLeast(6, 0) {
		delete(c, "io-threads")
	}
	return c
}

func (cn *conn) configCmd(args [][]byte) {
	s := cn.srv
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "get" && (len(args) == 3 || len(args) > 3 && s.dialect.atLeast(7, 0)):
		s.mu.Lock()
		var out []string
		seen := map[string]bool{}
		for _, p := range args[2:] {
			pat := strings.ToLower(string(p))
			for _, k := range configOrder {
				v, ok := s.config[k]
				if ok && !seen[k] && globMatch(pat, k) {
					seen[k] = true
					out = append(out, k, v)
				}
			}
		}
		s.mu.Unlock()
		cn.w.strings(out)
	case sub == "set" && len(args) >= 4 && len(args)%2 == 0:
		s.mu.Lock()
		defer s.mu.Unlock()
		for i := 2; i+1 < len(args); i += 2 {
			k := strings.ToLower(string(args[i]))
			if _, ok := s.config[k]; !ok {
				if s.dialect.atLeast(7, 0) {
					cn.w.err("ERR Unknown option or number of arguments for CONFIG SET - '" + string(cut(args[i], 128)) + "'")
				} else {
					cn.w.err("ERR Unsupported CONFIG parameter: " + string(cut(args[i], 128)))
				}
				return
			}
			if k == "dbfilename" && bytes.ContainsRune(args[i+1], '/') {
				if s.dialect.atLeast(7, 0) {
					cn.w.err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename")
				} else {
					cn.w.err("ERR Invalid argument '" + string(cut(args[i+1], 128)) + "' for CONFIG SET 'dbfilename' - dbfilename can't be a path, just a filename")
				}
				return
			}
		}
		for i := 2; i+1 < len(args); i += 2 {
			k := strings.ToLower(string(args[i]))
			s.config[k] = event.Text(args[i+1], 4096)
			if k == "requirepass" {
				s.password = string(args[i+1])
			}
		}
		cn.w.simple("OK")
	case sub == "resetstat" && len(args) == 2:
		cn.w.simple("OK")
	case sub == "rewrite" && len(args) == 2:
		cn.w.simple("OK")
	case sub == "help":
		cn.w.strings([]string{"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
			"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
			"RESETSTAT", "    Reset statistics reported by the INFO command.",
			"REWRITE", "    Rewrite the configuration file.",
			"HELP", "    Print this help."})
	default:
		known := sub == "get" || sub == "set" || sub == "resetstat" || sub == "rewrite"
		cn.w.err(cn.subcommandError("config", args[1], known))
	}
}

// save records what SAVE or BGSAVE would have written. When dir or
// dbfilename point somewhere other than the defaults, this is the
// webshell / crontab / authorized_keys chain: the string values attackers
// stored are the payload, kept in quarantine and reported as a file upload.
func (s *Server) save(cn *conn, how string) {
	s.mu.Lock()
	dir, file := s.config["dir"], s.config["dbfilename"]
	s.lastSave = s.now()
	s.dirty = 0
	s.mu.Unlock()
	if dir == "/var/lib/redis" && file == "dump.rdb" {
		return
	}
	st := s.store
	st.mu.Lock()
	var payload bytes.Buffer
	var keys []string
	for db := range numDBs {
		for _, k := range st.sortedKeys(db) {
			if v := st.get(db, k); v.attacker && v.kind == "string" {
				keys = append(keys, k)
				payload.Write(v.str)
				payload.WriteByte('\n')
			}
		}
	}
	st.mu.Unlock()
	sort.Strings(keys)
	full := path.Join(dir, file)
	f := map[string]any{"path": event.Text([]byte(full), 4096), "command": how, "keys": keys, "target": classify(dir, file)}
	if s.env.Quarantine != nil && payload.Len() > 0 {
		a, err := s.env.Quarantine.Put(&payload)
		if err != nil {
			s.log.Error("quarantine save payload", "err", err)
		} else {
			f["sha256"], f["size"], f["artifact_truncated"] = a.SHA256, a.Size, a.Truncated
		}
	}
	cn.Session.Emit(event.Event{Type: "redis.file.upload", Fields: f})
}

func classify(dir, file string) string {
	d, f := strings.ToLower(dir), strings.ToLower(file)
	switch {
	case strings.Contains(d, "cron") || strings.Contains(d, "/var/spool"):
		return "crontab"
	case strings.Contains(f, "authorized_keys") || strings.HasSuffix(d, ".ssh"):
		return "ssh_authorized_keys"
	case strings.HasSuffix(f, ".php") || strings.HasSuffix(f, ".jsp") || strings.HasSuffix(f, ".asp") ||
		strings.HasSuffix(f, ".aspx") || strings.Contains(d, "www") || strings.Contains(d, "html"):
		return "webshell"
	case strings.HasSuffix(f, ".so"):
		return "module"
	}
	return "file"
}
