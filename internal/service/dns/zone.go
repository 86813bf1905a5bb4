package dns

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// zone is one authoritative zone: its records by owner name, each name's
// RRsets in the order the zone file gave them (BIND keeps that order for
// ANY and AXFR).
type zone struct {
	origin string // lower case, with the trailing dot
	class  uint16
	soa    *rr
	nodes  map[string][]rrset
	names  []string // owner names in the order they were added
}

// rrset is the records of one name and type.
type rrset struct {
	rtype uint16
	rrs   []*rr
}

func newZone(origin string, class uint16) *zone {
	return &zone{origin: canonical(origin), class: class, nodes: map[string][]rrset{}}
}

// canonical lower-cases a name and gives it its trailing dot.
func canonical(n string) string {
	n = strings.ToLower(strings.TrimSpace(n))
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// inZone says whether name is the origin or below it.
func inZone(name, origin string) bool {
	return origin == "." || name == origin || strings.HasSuffix(name, "."+origin)
}

func (z *zone) add(r *rr) {
	sets, seen := z.nodes[r.name]
	if !seen {
		z.names = append(z.names, r.name)
	}
	for i := range sets {
		if sets[i].rtype == r.rtype {
			sets[i].rrs = append(sets[i].rrs, r)
			return
		}
	}
	z.nodes[r.name] = append(sets, rrset{rtype: r.rtype, rrs: []*rr{r}})
	if r.rtype == typeSOA && r.name == z.origin {
		z.soa = r
	}
}

func (z *zone) find(name string, t uint16) *rrset {
	for i, s := range z.nodes[name] {
		if s.rtype == t {
			return &z.nodes[name][i]
		}
	}
	return nil
}

// exists says whether name owns records or has names below it (an empty
// non-terminal, which answers NODATA rather than NXDOMAIN).
func (z *zone) exists(name string) bool {
	if _, ok := z.nodes[name]; ok {
		return true
	}
	for _, n := range z.names {
		if strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// negativeTTL is what BIND gives the SOA of a negative answer: the lower
// of the SOA's TTL and its MINIMUM field.
func (z *zone) negativeSOA() *rr {
	r := *z.soa
	last := r.rdata[len(r.rdata)-1].raw
	if m := binary.BigEndian.Uint32(last[len(last)-4:]); m < r.ttl {
		r.ttl = m
	}
	return &r
}

// Record constructors.

func aRecord(n string, ttl uint32, a netip.Addr) *rr {
	return &rr{name: n, rtype: typeA, class: classIN, ttl: ttl, rdata: []part{raw(a.AsSlice()...)}}
}

func aaaaRecord(n string, ttl uint32, a netip.Addr) *rr {
	return &rr{name: n, rtype: typeAAAA, class: classIN, ttl: ttl, rdata: []part{raw(a.AsSlice()...)}}
}

func nameRecord(n string, t uint16, ttl uint32, target string) *rr {
	return &rr{name: n, rtype: t, class: classIN, ttl: ttl, rdata: []part{name(target, t != typeSRV)}}
}

func mxRecord(n string, ttl uint32, pref uint16, target string) *rr {
	return &rr{name: n, rtype: typeMX, class: classIN, ttl: ttl,
		rdata: []part{raw(byte(pref>>8), byte(pref)), name(target, true)}}
}

func srvRecord(n string, ttl uint32, prio, weight, port uint16, target string) *rr {
	var b []byte
	b = binary.BigEndian.AppendUint16(b, prio)
	b = binary.BigEndian.AppendUint16(b, weight)
	b = binary.BigEndian.AppendUint16(b, port)
	return &rr{name: n, rtype: typeSRV, class: classIN, ttl: ttl, rdata: []part{raw(b...), name(target, false)}}
}

func txtRecord(n string, class uint16, ttl uint32, texts ...string) *rr {
	var b []byte
	for _, t := range texts {
		for len(t) > 255 {
			b = append(append(b, 255), t[:255]...)
			t = t[255:]
		}
		b = append(append(b, byte(len(t))), t...)
	}
	return &rr{name: n, rtype: typeTXT, class: class, ttl: ttl, rdata: []part{raw(b...)}}
}

func soaRecord(n string, class uint16, ttl uint32, mname, rname string, serial, refresh, retry, expire, minimum uint32) *rr {
	var b []byte
	for _, v := range []uint32{serial, refresh, retry, expire, minimum} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return &rr{name: n, rtype: typeSOA, class: class, ttl: ttl, rdata: []part{name(mname, true), name(rname, true), raw(b...)}}
}

// Words the seeded domain is made of.
var (
	domainFirst = []string{"northwind", "contoso", "fabrikam", "tailspin", "adatum", "litware", "proseware",
		"wingtip", "woodgrove", "lucerne", "fourthcoffee", "blueyonder", "alpine", "margie", "coho", "humongous",
		"trey", "wideworld", "graphic", "southridge", "vanarsdel", "relecloud", "lamna", "bellows", "datum"}
	domainSecond = []string{"", "", "", "-corp", "-group", "-logistics", "-labs", "-systems", "-partners", "-health",
		"-energy", "-finance", "-media", "tech", "-industries"}
	domainTLDs = []string{"com", "com", "com", "net", "org", "io", "co.uk", "de", "local", "corp"}
)

// seededDomain is the decky's domain when none is configured.
func seededDomain(id persona.Identity) string {
	r := id.Rand("dns-domain")
	return domainFirst[r.IntN(len(domainFirst))] + domainSecond[r.IntN(len(domainSecond))] + "." +
		domainTLDs[r.IntN(len(domainTLDs))] + "."
}

// soaTimers are SOA refresh, retry, expire and minimum sets admins use.
var soaTimers = [][4]uint32{
	{604800, 86400, 2419200, 604800}, // Debian's db.local template
	{3600, 1800, 604800, 86400},
	{7200, 3600, 1209600, 3600}, // RIPE-203
	{10800, 3600, 604800, 3600},
	{86400, 7200, 3600000, 172800},
}

var zoneTTLs = []uint32{3600, 86400, 14400, 3600, 1800, 38400}

// hostRoles are the believable hosts of a small company zone.
var hostRoles = []string{"www", "mail", "vpn", "gw", "intranet", "ftp", "git", "jira", "wiki", "backup",
	"files", "portal", "owa", "proxy", "monitor", "db01", "app01", "dc01", "fw", "remote", "crm", "erp"}

// zoneSpec says what buildZone needs from the decky.
type zoneSpec struct {
	domain   string
	hostname string
	addrs    []netip.Addr
	extra    []string
	id       persona.Identity
	now      time.Time
}

// buildZone makes the bait zone: SOA, NS, MX, SPF, the decky itself as
// ns1 and under its hostname, and a handful of hosts in its subnet.
func buildZone(s zoneSpec) (*zone, error) {
	r := s.id.Rand("dns-zone")
	origin := canonical(s.domain)
	z := newZone(origin, classIN)
	ttl := zoneTTLs[r.IntN(len(zoneTTLs))]
	timers := soaTimers[r.IntN(len(soaTimers))]
	// The serial is a date within the last months (YYYYMMDDnn), stable
	// for the decky: it moves only when the seed does.
	day := s.now.AddDate(0, 0, -r.IntN(200)-3)
	serial, _ := strconv.ParseUint(fmt.Sprintf("%s%02d", day.Format("20060102"), 1+r.IntN(4)), 10, 32)
	host := func(label string) string { return label + "." + origin }
	z.add(soaRecord(origin, classIN, ttl, host("ns1"), host("hostmaster"), uint32(serial), timers[0], timers[1], timers[2], timers[3]))
	z.add(nameRecord(origin, typeNS, ttl, host("ns1")))
	z.add(nameRecord(origin, typeNS, ttl, host("ns2")))
	z.add(mxRecord(origin, ttl, 10, host("mail")))
	spf := []string{"v=spf1 mx -all", "v=spf1 mx a ~all", "v=spf1 mx ip4:%s -all", "v=spf1 a mx include:spf.protection.outlook.com -all"}[r.IntN(4)]

	var v4, v6 []netip.Addr
	for _, a := range s.addrs {
		if a.Unmap().Is4() {
			v4 = append(v4, a.Unmap())
		} else {
			v6 = append(v6, a)
		}
	}
	// Neighbours live in the decky's /24 (or a seeded 10.x net).
	base := netip.AddrFrom4([4]byte{10, byte(r.IntN(250)), byte(r.IntN(250)), 0})
	if len(v4) > 0 {
		b := v4[0].As4()
		base = netip.AddrFrom4([4]byte{b[0], b[1], b[2], 0})
	}
	used := map[byte]bool{0: true, 255: true}
	for _, a := range v4 {
		used[a.As4()[3]] = true
	}
	neighbour := func() netip.Addr {
		b := base.As4()
		for {
			b[3] = byte(2 + r.IntN(250))
			if !used[b[3]] {
				used[b[3]] = true
				return netip.AddrFrom4(b)
			}
		}
	}
	mail := neighbour()
	if strings.Contains(spf, "%s") {
		spf = fmt.Sprintf(spf, mail)
	}
	z.add(txtRecord(origin, classIN, ttl, spf))
	web := neighbour()
	z.add(aRecord(origin, ttl, web))

	self := func(n string) {
		for _, a := range v4 {
			z.add(aRecord(n, ttl, a))
		}
		for _, a := range v6 {
			z.add(aaaaRecord(n, ttl, a))
		}
	}
	self(host("ns1"))
	z.add(aRecord(host("ns2"), ttl, neighbour()))
	z.add(aRecord(host("mail"), ttl, mail))
	z.add(nameRecord(host("www"), typeCNAME, ttl, origin))
	z.add(nameRecord(host("smtp"), typeCNAME, ttl, host("mail")))
	if hn := hostLabel(s.hostname); hn != "" && hn != "ns1" && hn != "ns2" && hn != "mail" {
		self(host(hn))
	}
	roles := slices.Clone(hostRoles[2:])
	r.Shuffle(len(roles), func(i, j int) { roles[i], roles[j] = roles[j], roles[i] })
	for _, role := range roles[:4+r.IntN(4)] {
		if _, taken := z.nodes[host(role)]; !taken {
			z.add(aRecord(host(role), ttl, neighbour()))
		}
	}
	z.add(srvRecord("_autodiscover._tcp."+origin, ttl, 0, 0, 443, host("mail")))

	for _, line := range s.extra {
		rec, err := parseExtra(line, origin, ttl)
		if err != nil {
			return nil, err
		}
		z.add(rec)
	}
	return z, nil
}

// hostLabel turns a hostname into the first label of a DNS name.
func hostLabel(h string) string {
	h, _, _ = strings.Cut(strings.ToLower(h), ".")
	if h == "" || len(h) > 63 {
		return ""
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return ""
		}
	}
	return h
}

// parseExtra reads one extra_records line: "name TYPE value". A name
// without a trailing dot is relative to the zone ("@" is the apex).
func parseExtra(line, origin string, ttl uint32) (*rr, error) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return nil, fmt.Errorf("extra record %q: want 'name TYPE value'", line)
	}
	abs := func(n string) (string, error) {
		if n == "@" {
			return origin, nil
		}
		if !strings.HasSuffix(n, ".") {
			n += "." + origin
		}
		n = strings.ToLower(n)
		if len(n) > 254 || strings.Contains(n, "..") || strings.ContainsAny(n, " \\\"()") {
			return "", fmt.Errorf("extra record %q: bad name %q", line, n)
		}
		for _, l := range strings.Split(strings.TrimSuffix(n, "."), ".") {
			if len(l) > 63 {
				return "", fmt.Errorf("extra record %q: label too long", line)
			}
		}
		return n, nil
	}
	owner, err := abs(f[0])
	if err != nil {
		return nil, err
	}
	if !inZone(owner, origin) {
		return nil, fmt.Errorf("extra record %q: %s is outside the zone %s", line, owner, origin)
	}
	value := strings.Join(f[2:], " ")
	switch strings.ToUpper(f[1]) {
	case "A", "AAAA":
		a, err := netip.ParseAddr(value)
		if err != nil || (strings.ToUpper(f[1]) == "A") != a.Is4() {
			return nil, fmt.Errorf("extra record %q: bad address", line)
		}
		if a.Is4() {
			return aRecord(owner, ttl, a), nil
		}
		return aaaaRecord(owner, ttl, a), nil
	case "CNAME", "NS", "PTR":
		target, err := abs(value)
		if err != nil {
			return nil, err
		}
		t := map[string]uint16{"CNAME": typeCNAME, "NS": typeNS, "PTR": typePTR}[strings.ToUpper(f[1])]
		return nameRecord(owner, t, ttl, target), nil
	case "MX":
		pref, target, ok := strings.Cut(value, " ")
		p, err := strconv.ParseUint(pref, 10, 16)
		if !ok || err != nil {
			return nil, fmt.Errorf("extra record %q: want 'name MX preference host'", line)
		}
		t, err := abs(strings.TrimSpace(target))
		if err != nil {
			return nil, err
		}
		return mxRecord(owner, ttl, uint16(p), t), nil
	case "TXT":
		v := strings.TrimSpace(value)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if len(v) > 2048 {
			return nil, fmt.Errorf("extra record %q: text too long", line)
		}
		return txtRecord(owner, classIN, ttl, v), nil
	}
	return nil, fmt.Errorf("extra record %q: type %s not supported (A, AAAA, CNAME, NS, PTR, MX, TXT)", line, f[1])
}
