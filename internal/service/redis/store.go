package redis

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// Bounds of the keyspace an attacker can grow.
const (
	numDBs       = 16
	maxKeys      = 20000
	maxDataBytes = 16 << 20
)

// value is one key's value. Only strings are writable; the seeded hashes,
// lists and sets give TYPE and SCAN TYPE something real to find.
type value struct {
	kind     string // string, hash, list, set
	str      []byte
	items    []string // list or set members, hash field/value pairs
	expireAt time.Time
	attacker bool
}

func (v *value) size() int {
	n := len(v.str)
	for _, it := range v.items {
		n += len(it)
	}
	return n + 64
}

// store is one decky's keyspace, shared by its connections as a real
// server's is.
type store struct {
	mu    sync.Mutex
	dbs   [numDBs]map[string]*value
	keys  int
	bytes int
	now   func() time.Time
}

func newStore(id persona.Identity, now func() time.Time) *store {
	s := &store{now: now}
	for i := range s.dbs {
		s.dbs[i] = map[string]*value{}
	}
	s.seed(id.Rand("redis-keyspace"))
	return s
}

var (
	seedApps   = []string{"app", "shop", "api", "web", "cms", "portal"}
	seedUsers  = []string{"admin", "jsmith", "mlopez", "kwilson", "operator", "deploy", "anna.k", "t.nguyen"}
	seedQueues = []string{"queue:emails", "queue:default", "celery", "bull:jobs:wait"}
)

func (s *store) seed(r *rand.Rand) {
	app := seedApps[r.IntN(len(seedApps))]
	db := s.dbs[0]
	now := s.now()
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	for range 3 + r.IntN(6) {
		u := seedUsers[r.IntN(len(seedUsers))]
		db[fmt.Sprintf("%s:session:%s", app, hex(32))] = &value{kind: "string",
			str:      fmt.Appendf(nil, `{"user":"%s","uid":%d,"ip":"10.%d.%d.%d","csrf":"%s"}`, u, 1000+r.IntN(9000), r.IntN(256), r.IntN(256), 1+r.IntN(254), hex(40)),
			expireAt: now.Add(time.Duration(600+r.IntN(86400)) * time.Second)}
	}
	for range 2 + r.IntN(4) {
		u := seedUsers[r.IntN(len(seedUsers))]
		db[fmt.Sprintf("%s:user:%d", app, 1000+r.IntN(9000))] = &value{kind: "hash",
			items: []string{"username", u, "email", u + "@" + app + ".internal", "role", []string{"user", "admin", "editor"}[r.IntN(3)],
				"password_hash", "$2y$10$" + hex(53)}}
	}
	db[fmt.Sprintf("%s:cache:config", app)] = &value{kind: "string",
		str: fmt.Appendf(nil, `{"db_host":"10.%d.%d.%d","db_name":"%s_prod","smtp":"mail.%s.internal","debug":false}`, r.IntN(256), r.IntN(256), 1+r.IntN(254), app, app)}
	db[fmt.Sprintf("%s:stats:visits", app)] = &value{kind: "string", str: fmt.Appendf(nil, "%d", 10000+r.IntN(900000))}
	db[seedQueues[r.IntN(len(seedQueues))]] = &value{kind: "list", items: []string{
		fmt.Sprintf(`{"job":"send_mail","to":"%s@%s.internal"}`, seedUsers[r.IntN(len(seedUsers))], app),
		fmt.Sprintf(`{"job":"resize","id":%d}`, r.IntN(100000))}}
	db[fmt.Sprintf("%s:online", app)] = &value{kind: "set", items: []string{seedUsers[r.IntN(len(seedUsers))], seedUsers[r.IntN(len(seedUsers))]}}
	if r.IntN(2) == 0 {
		s.dbs[1][fmt.Sprintf("rate:%s:login", app)] = &value{kind: "string", str: []byte("3"), expireAt: now.Add(30 * time.Minute)}
	}
	for _, d := range s.dbs {
		for _, v := range d {
			s.keys++
			s.bytes += v.size()
		}
	}
}

// get returns a live key, expiring it when due. The caller holds mu.
func (s *store) get(db int, key string) *value {
	v, ok := s.dbs[db][key]
	if !ok {
		return nil
	}
	if !v.expireAt.IsZero() && !s.now().Before(v.expireAt) {
		s.del(db, key)
		return nil
	}
	return v
}

func (s *store) del(db int, key string) bool {
	v, ok := s.dbs[db][key]
	if !ok {
		return false
	}
	delete(s.dbs[db], key)
	s.keys--
	s.bytes -= v.size()
	return true
}

// set stores v under key; false means the keyspace is full.
func (s *store) set(db int, key string, v *value) bool {
	old := s.dbs[db][key]
	grow := v.size() + len(key)
	if old != nil {
		grow -= old.size() + len(key)
	}
	if old == nil && s.keys >= maxKeys || s.bytes+grow > maxDataBytes {
		return false
	}
	if old == nil {
		s.keys++
	}
	s.bytes += grow
	s.dbs[db][key] = v
	return true
}

// sortedKeys returns the live keys of db in a stable order.
func (s *store) sortedKeys(db int) []string {
	out := make([]string, 0, len(s.dbs[db]))
	for k := range s.dbs[db] {
		if s.get(db, k) != nil {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (s *store) flush(db int) {
	for k := range s.dbs[db] {
		s.del(db, k)
	}
}
