package mongodb

import (
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// maxBatch is the default first batch of a find or aggregate.
const maxBatch = 101

// run executes an authorised command other than the handshake and SASL.
func (cn *conn) run(req *request, name string) D {
	s := cn.srv
	cmd := req.cmd
	coll, _ := cmd[0].V.(string)
	ok := D{{"ok", 1.0}}
	switch name {
	case "ping", "logout", "endSessions", "killCursors":
		if name == "killCursors" {
			return D{{"cursorsKilled", A{}}, {"cursorsNotFound", A{}}, {"cursorsAlive", A{}}, {"cursorsUnknown", A{}}, {"ok", 1.0}}
		}
		return ok
	case "buildInfo", "buildinfo":
		return s.buildInfo()
	case "serverStatus":
		return s.serverStatus()
	case "whatsmyuri":
		return D{{"you", cn.RemoteAddr().String()}, {"ok", 1.0}}
	case "connectionStatus":
		users, roles := A{}, A{}
		if cn.user != "" {
			users = A{D{{"user", cn.user}, {"db", "admin"}}}
			roles = A{D{{"role", "root"}, {"db", "admin"}}}
		}
		return D{{"authInfo", D{{"authenticatedUsers", users}, {"authenticatedUserRoles", roles}}}, {"ok", 1.0}}
	case "getCmdLineOpts":
		return D{{"argv", A{"/usr/bin/mongod", "--config", "/etc/mongod.conf"}}, {"parsed", D{
			{"config", "/etc/mongod.conf"},
			{"net", D{{"bindIp", "0.0.0.0"}, {"port", int32(Port)}}},
			{"processManagement", D{{"timeZoneInfo", "/usr/share/zoneinfo"}}},
			{"security", D{{"authorization", map[bool]string{true: "enabled", false: "disabled"}[s.cfg.Auth]}}},
			{"storage", D{{"dbPath", "/var/lib/mongodb"}}},
			{"systemLog", D{{"destination", "file"}, {"logAppend", true}, {"path", "/var/log/mongodb/mongod.log"}}},
		}}, {"ok", 1.0}}
	case "listDatabases":
		return cn.listDatabases(cmd)
	case "listCollections":
		var batch A
		for _, c := range s.store.collections(req.db) {
			if cmd.Bool("nameOnly") {
				batch = append(batch, D{{"name", c}, {"type", "collection"}})
				continue
			}
			uuid := s.env.Identity.Bytes("mongodb-uuid/"+req.db+"."+c, 16)
			uuid[6] = uuid[6]&0x0f | 0x40
			uuid[8] = uuid[8]&0x3f | 0x80
			batch = append(batch, D{{"name", c}, {"type", "collection"}, {"options", D{}},
				{"info", D{{"readOnly", false}, {"uuid", Binary{Sub: 4, Data: uuid}}}},
				{"idIndex", D{{"v", int32(2)}, {"key", D{{"_id", int32(1)}}}, {"name", "_id_"}}}})
		}
		return cursorReply(req.db+".$cmd.listCollections", batch)
	case "listIndexes":
		if s.store.count(req.db, coll) == 0 && !contains(s.store.collections(req.db), coll) {
			return errDoc("ns does not exist: "+req.db+"."+coll, 26, "NamespaceNotFound")
		}
		return cursorReply(req.db+"."+coll, A{D{{"v", int32(2)}, {"key", D{{"_id", int32(1)}}}, {"name", "_id_"}}})
	case "find":
		limit := maxBatch
		if n, isNum := number(must(cmd.Get("limit"))); isNum && n > 0 && int(n) < limit {
			limit = int(n)
		}
		if n, isNum := number(must(cmd.Get("batchSize"))); isNum && n > 0 && int(n) < limit {
			limit = int(n)
		}
		var batch A
		for _, d := range s.store.find(req.db, coll, limit) {
			batch = append(batch, d)
		}
		return cursorReply(req.db+"."+coll, batch)
	case "aggregate":
		pipeline, _ := must(cmd.Get("pipeline")).(A)
		var batch A
		grouped := false
		for _, st := range pipeline {
			if d, isDoc := st.(D); isDoc && len(d) > 0 && (d[0].K == "$group" || d[0].K == "$count") {
				grouped = true
			}
		}
		if grouped {
			if n := s.store.count(req.db, coll); n > 0 {
				batch = A{D{{"_id", int32(1)}, {"n", int32(n)}}}
			}
		} else {
			for _, d := range s.store.find(req.db, coll, maxBatch) {
				batch = append(batch, d)
			}
		}
		return cursorReply(req.db+"."+coll, batch)
	case "count":
		return D{{"n", int32(s.store.count(req.db, coll))}, {"ok", 1.0}}
	case "getMore":
		id, _ := cmd[0].V.(int64)
		return errDoc("cursor id "+strconv.FormatInt(id, 10)+" not found", 43, "CursorNotFound")
	case "insert":
		docs := docsOf(req, "documents")
		n := s.store.insert(req.db, coll, docs)
		cn.write(req, name, coll, docs)
		return D{{"n", int32(n)}, {"ok", 1.0}}
	case "update":
		ups := docsOf(req, "updates")
		cn.write(req, name, coll, ups)
		return D{{"n", int32(0)}, {"nModified", int32(0)}, {"ok", 1.0}}
	case "delete":
		dels := docsOf(req, "deletes")
		cn.write(req, name, coll, dels)
		n := 0
		for _, d := range dels {
			lim, _ := number(must(d.Get("limit")))
			n += s.store.deleteAll(req.db, coll, lim == 1)
		}
		return D{{"n", int32(n)}, {"ok", 1.0}}
	case "findAndModify", "findandmodify":
		cn.write(req, name, coll, []D{cmd})
		return D{{"lastErrorObject", D{{"n", int32(0)}, {"updatedExisting", false}}}, {"value", nil}, {"ok", 1.0}}
	case "create":
		if contains(s.store.collections(req.db), coll) {
			return errDoc("Collection "+req.db+"."+coll+" already exists.", 48, "NamespaceExists")
		}
		s.store.insert(req.db, coll, nil)
		return ok
	case "createIndexes":
		return D{{"numIndexesBefore", int32(1)}, {"numIndexesAfter", int32(2)}, {"createdCollectionAutomatically", false}, {"ok", 1.0}}
	case "drop":
		_, existed := s.store.drop(req.db, coll)
		cn.Session.Emit(event.Event{Type: "mongodb.data.drop", Fields: map[string]any{"command": name,
			"db": event.Text([]byte(req.db), 256), "collection": event.Text([]byte(coll), 256), "existed": existed}})
		if !existed {
			if s.ver.atLeast(7, 0) {
				return D{{"ok", 1.0}}
			}
			return errDoc("ns not found", 26, "NamespaceNotFound")
		}
		return D{{"nIndexesWas", int32(1)}, {"ns", req.db + "." + coll}, {"ok", 1.0}}
	case "dropDatabase":
		existed := s.store.dropDB(req.db)
		cn.Session.Emit(event.Event{Type: "mongodb.data.drop", Fields: map[string]any{"command": name,
			"db": event.Text([]byte(req.db), 256), "existed": existed}})
		if !existed {
			return ok
		}
		return D{{"dropped", req.db}, {"ok", 1.0}}
	case "dbStats", "dbstats":
		n := s.store.size(req.db)
		return D{{"db", req.db}, {"collections", int32(len(s.store.collections(req.db)))}, {"views", int32(0)},
			{"objects", n / 4096}, {"avgObjSize", 312.0}, {"dataSize", float64(n / 13)}, {"storageSize", float64(n)},
			{"indexes", int32(len(s.store.collections(req.db)))}, {"indexSize", float64(n / 2)}, {"totalSize", float64(n + n/2)},
			{"scaleFactor", 1.0}, {"fsUsedSize", 18e9}, {"fsTotalSize", 52e9}, {"ok", 1.0}}
	case "getParameter":
		return D{{"featureCompatibilityVersion", D{{"version", strconv.Itoa(s.ver.major) + "." + strconv.Itoa(s.ver.minor)}}}, {"ok", 1.0}}
	case "getLog":
		return D{{"totalLinesWritten", int32(0)}, {"log", A{}}, {"ok", 1.0}}
	case "hostInfo":
		return D{{"system", D{{"currentTime", time.Now()}, {"hostname", s.env.Persona.Hostname}, {"cpuAddrSize", int32(64)},
			{"memSizeMB", int64(3911)}, {"numCores", int32(2)}, {"cpuArch", "x86_64"}, {"numaEnabled", false}}},
			{"os", D{{"type", "Linux"}, {"name", s.env.Persona.Distro.PrettyName}, {"version", "Kernel " + s.env.Persona.Distro.Kernel}}},
			{"ok", 1.0}}
	}
	return errDoc("no such command: '"+name+"'", 59, "CommandNotFound")
}

func must(v any, _ bool) any { return v }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func cursorReply(ns string, batch A) D {
	if batch == nil {
		batch = A{}
	}
	return D{{"cursor", D{{"firstBatch", batch}, {"id", int64(0)}, {"ns", ns}}}, {"ok", 1.0}}
}

// docsOf returns a write command's documents: the array in the body or
// the OP_MSG document sequence of that name.
func docsOf(req *request, field string) []D {
	var out []D
	if a, ok := must(req.cmd.Get(field)).(A); ok {
		for _, v := range a {
			if d, ok := v.(D); ok {
				out = append(out, d)
			}
		}
	}
	for _, s := range req.seqs {
		if s.id == field {
			out = append(out, s.docs...)
		}
	}
	return out
}

// maxQuarantine bounds the Extended JSON of one write command kept.
const maxQuarantine = 8 << 20

// write records a write command and quarantines its documents.
func (cn *conn) write(req *request, name, coll string, docs []D) {
	f := map[string]any{"command": name, "db": event.Text([]byte(req.db), 256),
		"collection": event.Text([]byte(coll), 256), "n": len(docs)}
	if len(docs) > 0 {
		f["preview"] = event.Text([]byte(toJSON(docs[0], 2048)), 2048)
		var sb strings.Builder
		for _, d := range docs {
			sb.WriteString(toJSON(d, maxQuarantine))
			sb.WriteByte('\n')
			if sb.Len() > maxQuarantine {
				break
			}
		}
		if q := cn.srv.env.Quarantine; q != nil {
			if a, err := q.Put(strings.NewReader(sb.String())); err == nil {
				f["sha256"] = a.SHA256
				f["size"] = a.Size
			}
		}
	}
	cn.Session.Emit(event.Event{Type: "mongodb.data.write", Fields: f})
}

func (cn *conn) listDatabases(cmd D) D {
	s := cn.srv
	sys := []struct {
		name string
		size int64
	}{{"admin", 40960}, {"config", 110592}, {"local", 73728}}
	var dbs A
	var total int64
	names := s.store.names()
	all := map[string]int64{}
	for _, n := range names {
		all[n] = s.store.size(n) + 8192
	}
	for _, x := range sys {
		if _, dup := all[x.name]; !dup {
			all[x.name] = x.size
			names = append(names, x.name)
		}
	}
	sortStrings(names)
	for _, n := range names {
		total += all[n]
		if cmd.Bool("nameOnly") {
			dbs = append(dbs, D{{"name", n}})
		} else {
			dbs = append(dbs, D{{"name", n}, {"sizeOnDisk", all[n]}, {"empty", false}})
		}
	}
	if cmd.Bool("nameOnly") {
		return D{{"databases", dbs}, {"ok", 1.0}}
	}
	return D{{"databases", dbs}, {"totalSize", total}, {"totalSizeMb", total >> 20}, {"ok", 1.0}}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func (s *Server) buildInfo() D {
	v := s.ver
	target := "linux"
	if v.distmod == "windows" {
		target = "windows"
	}
	return D{
		{"version", v.full},
		{"gitVersion", s.git},
		{"modules", A{}},
		{"allocator", map[bool]string{true: "tcmalloc", false: "system"}[target == "linux"]},
		{"javascriptEngine", "mozjs"},
		{"sysInfo", "deprecated"},
		{"versionArray", A{int32(v.major), int32(v.minor), int32(v.patch), int32(0)}},
		{"openssl", v.openssl()},
		{"buildEnvironment", D{
			{"distmod", v.distmod},
			{"distarch", "x86_64"},
			{"cc", "/opt/mongodbtoolchain/v4/bin/gcc: gcc (GCC) 11.3.0"},
			{"ccflags", "-Werror -include mongo/platform/basic.h -ffp-contract=off -fasynchronous-unwind-tables -g2 -Wall -Wsign-compare -Wno-unknown-pragmas -Winvalid-pch -gdwarf-5 -fno-omit-frame-pointer -fno-strict-aliasing -O2 -march=sandybridge -mtune=generic -mprefer-vector-width=128 -Wno-unused-local-typedefs -Wno-unused-function -Wno-deprecated-declarations -Wno-unused-const-variable -Wno-unused-but-set-variable -Wno-missing-braces -fstack-protector-strong -gdwarf64 -Wa,--nocompress-debug-sections -fno-builtin-memcmp -Wimplicit-fallthrough=5"},
			{"cxx", "/opt/mongodbtoolchain/v4/bin/g++: g++ (GCC) 11.3.0"},
			{"cxxflags", "-Woverloaded-virtual -Wpessimizing-move -Wno-maybe-uninitialized -fsized-deallocation -Wno-deprecated -std=c++20"},
			{"linkflags", "-Wl,--fatal-warnings -B/opt/mongodbtoolchain/v4/bin -gdwarf-5 -pthread -Wl,-z,now -fuse-ld=lld -fstack-protector-strong -gdwarf64 -Wl,--build-id -Wl,--hash-style=gnu -Wl,-z,noexecstack -Wl,--warn-execstack -Wl,-z,relro -Wl,--compress-debug-sections=none -Wl,-z,origin -Wl,--enable-new-dtags"},
			{"target_arch", "x86_64"},
			{"target_os", target},
			{"cppdefines", "SAFEINT_USE_INTRINSICS 0 PCRE2_STATIC NDEBUG _XOPEN_SOURCE 700 _GNU_SOURCE _FORTIFY_SOURCE 2 ABSL_FORCE_ALIGNED_ACCESS BOOST_ENABLE_ASSERT_DEBUG_HANDLER BOOST_FILESYSTEM_NO_CXX20_ATOMIC_REF BOOST_LOG_NO_SHORTHAND_NAMES BOOST_LOG_USE_NATIVE_SYSLOG BOOST_LOG_WITHOUT_THREAD_ATTR BOOST_MATH_NO_LONG_DOUBLE_MATH_FUNCTIONS BOOST_SYSTEM_NO_DEPRECATED BOOST_THREAD_USES_DATETIME BOOST_THREAD_VERSION 5"},
		}},
		{"bits", int32(64)},
		{"debug", false},
		{"maxBsonObjectSize", int32(16777216)},
		{"storageEngines", A{"devnull", "wiredTiger"}},
		{"ok", 1.0},
	}
}

func (s *Server) serverStatus() D {
	now := time.Now()
	up := now.Sub(s.boot)
	host := s.env.Persona.Hostname
	if host == "" {
		host = "localhost"
	}
	return D{
		{"host", host},
		{"version", s.ver.full},
		{"process", "mongod"},
		{"pid", int64(s.pid)},
		{"uptime", float64(int64(up.Seconds()))},
		{"uptimeMillis", up.Milliseconds()},
		{"uptimeEstimate", int64(up.Seconds())},
		{"localTime", now},
		{"asserts", D{{"regular", int32(0)}, {"warning", int32(0)}, {"msg", int32(0)}, {"user", int32(40 + s.pid%300)}, {"tripwire", int32(0)}, {"rollovers", int32(0)}}},
		{"connections", D{{"current", s.current.Load()}, {"available", int32(838860) - s.current.Load()}, {"totalCreated", int32(s.total.Load())},
			{"rejected", int32(0)}, {"active", int32(1)}, {"threaded", s.current.Load()}, {"exhaustIsMaster", int32(0)}, {"exhaustHello", int32(0)}, {"awaitingTopologyChanges", int32(0)}}},
		{"ok", 1.0},
	}
}
