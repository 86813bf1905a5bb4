package mongodb

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// store is the decky's data: bait databases seeded from the identity,
// plus what attackers write, bounded.
type store struct {
	mu    sync.Mutex
	dbs   map[string]map[string][]D
	docs  int
	bytes int
}

const (
	maxStoreDocs  = 20000
	maxStoreBytes = 16 << 20
)

var appNames = []string{"shop", "crm", "inventory", "billing", "app", "production", "analytics", "users", "webapp", "orders"}
var firstNames = []string{"james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth", "william", "susan", "thomas", "karen"}
var lastNames = []string{"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "wilson", "moore", "taylor", "clark"}
var domains = []string{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"}

func newStore(id persona.Identity, names []string, now time.Time) *store {
	r := id.Rand("mongodb-bait")
	if len(names) == 0 {
		i := r.IntN(len(appNames))
		j := (i + 1 + r.IntN(len(appNames)-1)) % len(appNames)
		names = []string{appNames[i], appNames[j]}
	}
	s := &store{dbs: map[string]map[string][]D{}}
	oid := func(t time.Time) ObjectID {
		var o ObjectID
		binary.BigEndian.PutUint32(o[:], uint32(t.Unix()))
		for i := 4; i < 12; i++ {
			o[i] = byte(r.IntN(256))
		}
		return o
	}
	for _, db := range names {
		colls := map[string][]D{}
		var users []D
		n := 20 + r.IntN(40)
		for i := range n {
			f, l := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
			created := now.Add(-time.Duration(r.IntN(700*24)) * time.Hour).Truncate(time.Millisecond)
			hashBytes := make([]byte, 31)
			for k := range hashBytes {
				hashBytes[k] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[r.IntN(64)]
			}
			users = append(users, D{
				{"_id", oid(created)},
				{"username", fmt.Sprintf("%s.%s%d", f, l, r.IntN(100))},
				{"email", fmt.Sprintf("%s.%s@%s", f, l, domains[r.IntN(len(domains))])},
				{"password", "$2b$10$" + string(hashBytes) + string(hashBytes[:22])},
				{"role", []string{"customer", "customer", "customer", "staff", "admin"}[r.IntN(5)]},
				{"active", r.IntN(8) != 0},
				{"createdAt", created},
				{"loginCount", int32(r.IntN(300))},
				{"seq", int32(i + 1)},
			})
		}
		colls["users"] = users
		var orders []D
		for range 10 + r.IntN(30) {
			created := now.Add(-time.Duration(r.IntN(300*24)) * time.Hour).Truncate(time.Millisecond)
			orders = append(orders, D{
				{"_id", oid(created)},
				{"userId", users[r.IntN(len(users))][0].V},
				{"total", math.Round(float64(500+r.IntN(50000))) / 100},
				{"currency", "USD"},
				{"status", []string{"paid", "shipped", "pending", "refunded"}[r.IntN(4)]},
				{"createdAt", created},
			})
		}
		colls["orders"] = orders
		s.dbs[db] = colls
	}
	return s
}

// names returns the databases, sorted.
func (s *store) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.dbs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *store) size(db string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.dbs[db] {
		n += len(c)
	}
	return int64(n) * 4096
}

func (s *store) collections(db string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.dbs[db] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *store) find(db, coll string, limit int) []D {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := s.dbs[db][coll]
	if limit > 0 && len(docs) > limit {
		docs = docs[:limit]
	}
	return slices.Clone(docs)
}

func (s *store) count(db, coll string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dbs[db][coll])
}

// insert adds documents (giving them an _id as mongod does) and reports
// how many were kept.
func (s *store) insert(db, coll string, docs []D) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range docs {
		size := len(d.encode(nil))
		if s.docs >= maxStoreDocs || s.bytes+size > maxStoreBytes {
			break
		}
		if _, ok := d.Get("_id"); !ok {
			var o ObjectID
			binary.BigEndian.PutUint32(o[:], uint32(time.Now().Unix()))
			_, _ = rand.Read(o[4:])
			d = append(D{{"_id", o}}, d...)
		}
		if s.dbs[db] == nil {
			s.dbs[db] = map[string][]D{}
		}
		s.dbs[db][coll] = append(s.dbs[db][coll], d)
		s.docs++
		s.bytes += size
		n++
	}
	return n
}

func (s *store) dropDB(db string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.dbs[db]
	delete(s.dbs, db)
	return ok
}

func (s *store) drop(db, coll string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.dbs[db][coll]
	if !ok {
		return 0, false
	}
	delete(s.dbs[db], coll)
	if len(s.dbs[db]) == 0 {
		delete(s.dbs, db)
	}
	_ = c
	return 1, true
}

// deleteAll empties a collection (a delete with any filter: the decoy
// does not evaluate queries) and returns how many went.
func (s *store) deleteAll(db, coll string, one bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.dbs[db][coll]
	if len(c) == 0 {
		return 0
	}
	if one {
		s.dbs[db][coll] = c[1:]
		return 1
	}
	s.dbs[db][coll] = c[:0]
	return len(c)
}
