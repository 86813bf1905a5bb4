package elasticsearch

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/httpapi"
)

// build is one released version as its root document shows it.
type build struct {
	number, hash, date, lucene, minWire, minIndex, jdk string
}

// builds are real releases (hash, date and Lucene from the published
// artifacts).
var builds = []build{
	{"7.10.2", "747e1cc71def077253878a59143c1f785afa92b9", "2021-01-13T00:42:12.435326Z", "8.7.0", "6.8.0", "6.0.0-beta1", "15.0.1"},
	{"7.17.1", "e5acb99f822233d62d6444ce45a4543dc1c8059a", "2022-02-23T22:20:54.153567231Z", "8.11.1", "6.8.0", "6.0.0-beta1", "17.0.2"},
	{"7.17.2", "de7261de50d90919ae53b0eff9413fd7e5307301", "2022-03-28T15:12:21.446567561Z", "8.11.1", "6.8.0", "6.0.0-beta1", "18"},
	{"7.17.5", "8d61b4f7ddf931f219e3745f295ed2bbc50c8e84", "2022-06-23T21:57:28.736740635Z", "8.11.1", "6.8.0", "6.0.0-beta1", "18.0.1.1"},
	{"7.17.6", "f65e9d338dc1d07b642e14a27f338990148ee5b6", "2022-08-23T11:08:48.893373482Z", "8.11.1", "6.8.0", "6.0.0-beta1", "18.0.2"},
	{"8.4.3", "42f05b9372a9a4a470db3b52817899b99a76ee73", "2022-10-04T07:17:24.662462378Z", "9.3.0", "7.17.0", "7.0.0", "18.0.2.1"},
	{"8.7.1", "f229ed3f893a515d590d0f39b05f68913e2d9b53", "2023-04-27T04:33:42.127815583Z", "9.5.0", "7.17.0", "7.0.0", "20.0.1"},
	{"8.12.2", "48a287ab9497e852de30327444b0809e55d46466", "2024-02-19T10:04:32.774273190Z", "9.9.2", "7.17.0", "7.0.0", "21.0.2"},
	{"8.13.0", "09df99393193b2c53d92899662a8b8b3c55b45cd", "2024-03-22T03:35:46.757803203Z", "9.10.0", "7.17.0", "7.0.0", "21.0.2"},
	{"8.15.0", "1a77947f34deddb41af25e6f0ddb8e830159c179", "2024-08-05T10:05:34.233336849Z", "9.11.1", "7.17.0", "7.0.0", "22.0.1"},
}

const defaultVersion = "7.10.2"

// buildFor returns the release v names; an unlisted version borrows the
// nearest release's Lucene and compatibility versions and gets a hash
// seeded from the identity.
func buildFor(v string, id persona.Identity) build {
	if v == "" {
		v = defaultVersion
	}
	for _, b := range builds {
		if b.number == v {
			return b
		}
	}
	near := builds[0]
	for _, b := range builds {
		if versionLess(b.number, v) || b.number == v {
			near = b
		}
	}
	if !versionLess(builds[0].number, v) {
		near = builds[0]
	}
	near.number = v
	near.hash = fmt.Sprintf("%x", id.Bytes("es-build-hash/"+v, 20))
	return near
}

func versionParts(v string) [3]int {
	var p [3]int
	for i, s := range strings.SplitN(v, ".", 3) {
		n, _ := strconv.Atoi(strings.TrimFunc(s, func(r rune) bool { return r < '0' || r > '9' }))
		p[i] = n
	}
	return p
}

func versionLess(a, b string) bool {
	pa, pb := versionParts(a), versionParts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func (b build) major() int            { return versionParts(b.number)[0] }
func (b build) atLeast(v string) bool { return !versionLess(b.number, v) }

// esUUID is an Elasticsearch UUID: 16 bytes in URL-safe base64 without
// padding (22 characters), as cluster, node and index UUIDs are.
func esUUID(id persona.Identity, purpose string) string {
	return base64.RawURLEncoding.EncodeToString(id.Bytes(purpose, 16))
}

// doc is one stored document.
type doc struct {
	id      string
	source  []byte // the JSON the client sent, verbatim
	version int
	seqNo   int
}

// index is one index with its documents in insertion order.
type index struct {
	name, uuid   string
	docs         map[string]*doc
	order        []string
	deleted      int
	extraDocs    int   // documents claimed beyond those stored (bulk of the index)
	storeBytes   int64 // claimed store size
	created      time.Time
	primaryTerms int
	nextSeq      int
}

func (ix *index) count() int { return len(ix.docs) + ix.extraDocs }

func (ix *index) put(id string, src []byte) *doc {
	d, ok := ix.docs[id]
	if !ok {
		d = &doc{id: id}
		ix.docs[id] = d
		ix.order = append(ix.order, id)
	}
	d.source = src
	d.version++
	d.seqNo = ix.nextSeq
	ix.nextSeq++
	return d
}

func (ix *index) remove(id string) bool {
	if _, ok := ix.docs[id]; !ok {
		return false
	}
	delete(ix.docs, id)
	for i, o := range ix.order {
		if o == id {
			ix.order = append(ix.order[:i], ix.order[i+1:]...)
			break
		}
	}
	ix.deleted++
	return true
}

var (
	firstNames = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Ana", "Wei", "Priya", "Ahmed", "Olga"}
	lastNames  = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Chen", "Patel", "Novak", "Kowalski"}
	cities     = []string{"Chicago", "Houston", "Phoenix", "Dallas", "Austin", "Denver", "Seattle", "Boston", "Portland", "Atlanta", "Miami", "Columbus"}
	domains    = []string{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "protonmail.com"}
	products   = []string{"Wireless Mouse", "USB-C Hub", "27in Monitor", "Mechanical Keyboard", "Laptop Stand", "Webcam HD", "Noise Cancelling Headphones", "External SSD 1TB", "Docking Station", "Ergonomic Chair"}
	services   = []string{"api-gateway", "auth-service", "payment-service", "order-service", "inventory", "notification-worker"}
	levels     = []string{"INFO", "INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"}
	messages   = []string{"request completed", "user login succeeded", "token refreshed", "payment authorized", "cache miss for key", "upstream timeout after 3000ms", "connection reset by peer", "order created", "retrying job", "slow query detected"}
)

// seedIndices builds the bait indices of one decky: customers with
// personal data, orders, and a few days of application logs.
func seedIndices(id persona.Identity, now time.Time) map[string]*index {
	r := id.Rand("es-indices")
	out := map[string]*index{}
	add := func(name string, n, extra int, gen func(i int) httpapi.Obj) {
		ix := &index{name: name, uuid: esUUID(id, "es-index/"+name), docs: map[string]*doc{}, extraDocs: extra,
			created: now.Add(-time.Duration(20+r.IntN(300)) * 24 * time.Hour), primaryTerms: 1}
		for i := 0; i < n; i++ {
			ix.put(strconv.Itoa(i+1), httpapi.Compact(gen(i)))
		}
		ix.deleted = r.IntN(3)
		ix.storeBytes = int64(ix.count())*int64(300+r.IntN(500)) + int64(r.IntN(100000))
		out[name] = ix
	}
	phone := func(r *rand.Rand) string {
		return fmt.Sprintf("+1-%03d-%03d-%04d", 200+r.IntN(700), 200+r.IntN(700), r.IntN(10000))
	}
	add("customers", 60, 0, func(i int) httpapi.Obj {
		fn, ln := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		return httpapi.O(
			"customer_id", 10000+i*7+r.IntN(7),
			"first_name", fn,
			"last_name", ln,
			"email", strings.ToLower(fn+"."+ln)+strconv.Itoa(r.IntN(100))+"@"+domains[r.IntN(len(domains))],
			"phone", phone(r),
			"city", cities[r.IntN(len(cities))],
			"created_at", now.Add(-time.Duration(r.IntN(900*24))*time.Hour).UTC().Format("2006-01-02T15:04:05Z"),
			"card_last4", fmt.Sprintf("%04d", r.IntN(10000)),
			"loyalty_tier", []string{"bronze", "silver", "gold", "platinum"}[r.IntN(4)],
		)
	})
	add("orders", 80, 0, func(i int) httpapi.Obj {
		qty := 1 + r.IntN(4)
		price := float64(500+r.IntN(30000)) / 100
		return httpapi.O(
			"order_id", fmt.Sprintf("ORD-%d-%05d", now.Year(), 1000+i*3+r.IntN(3)),
			"customer_id", 10000+r.IntN(420),
			"product", products[r.IntN(len(products))],
			"quantity", qty,
			"total", httpapi.JFloat(float64(int(price*float64(qty)*100))/100),
			"status", []string{"paid", "shipped", "delivered", "refunded", "pending"}[r.IntN(5)],
			"ordered_at", now.Add(-time.Duration(r.IntN(120*24))*time.Hour).UTC().Format("2006-01-02T15:04:05Z"),
		)
	})
	day := now.UTC().AddDate(0, 0, -1).Format("2006.01.02")
	add("logs-"+day, 120, 0, func(i int) httpapi.Obj {
		return httpapi.O(
			"@timestamp", now.Add(-time.Duration(24*3600-i*600-r.IntN(600))*time.Second).UTC().Format("2006-01-02T15:04:05.000Z"),
			"level", levels[r.IntN(len(levels))],
			"service", services[r.IntN(len(services))],
			"host", fmt.Sprintf("app-%02d", 1+r.IntN(6)),
			"message", messages[r.IntN(len(messages))],
			"trace_id", fmt.Sprintf("%016x", r.Uint64()),
		)
	})
	return out
}

// byteSize formats a size as Elasticsearch's ByteSizeValue does.
func byteSize(n int64) string {
	units := []string{"b", "kb", "mb", "gb", "tb"}
	f := float64(n)
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 {
		return strconv.FormatInt(n, 10) + "b"
	}
	s := strconv.FormatFloat(float64(int(f*10))/10, 'f', -1, 64)
	return s + units[u]
}
