// Package dns emulates the BIND 9 name server of a decky on UDP and TCP
// 53: authoritative for one bait zone, refusing recursion, never an
// amplifier.
//
// # What it emulates
//
// named from the persona's distro (Debian 12: bind9 1:9.18.49-1~deb12u3,
// version.bind "9.18.49-1~deb12u3-Debian") with Debian's default options
// as a remote client sees them: recursion denied (allow-recursion is
// localnets), allow-transfer { none; }, minimal-responses
// no-auth-recursive, DNS cookies (a fresh secret per start, RFC 9018
// layout), EDNS UDP size 1232. Answers match named's byte for byte on
// the same zone (the test loads the decky's zone into a real named and
// compares about 190 queries over UDP and TCP, the server half of the
// cookie masked): AA, RA clear, RD echoed, NXDOMAIN and NODATA with the
// SOA at min(TTL, MINIMUM), CNAME chains, NS authority and glue for
// RD=0 queries only, additional A/AAAA for NS, MX and SRV targets, the
// EDE 18 (Prohibited) that 9.18 adds when it would have looked in the
// cache (refused names, MX/SRV targets lacking an address type), BIND's
// case-sensitive name compression that only looks two labels deep,
// cookies echoed (also on FORMERR), BADVERS without a cookie, FORMERR
// for meta types, class ANY/NONE, two OPT records or bad cookie lengths,
// NOTIMP for MAILA/MAILB and unknown opcodes (without a question),
// NOTIFY acknowledged for the zone, UPDATE refused, trailing bytes
// ignored, responses dropped, UDP truncation (TC only when the answer
// does not fit; authority and additional cut silently).
//
// CHAOS: version.bind, hostname.bind (the persona hostname), authors.bind
// and id.server (empty unless nsid is set) as BIND's built-in zones,
// answered under the name as asked.
//
// # The zone
//
// domain (default: a seeded company domain, stable per decky) with SOA
// (seeded serial and timers), NS ns1/ns2, MX mail, an SPF TXT, the apex A,
// ns1 and the decky's hostname on the decky's own addresses (A and AAAA),
// mail, ns2, www (CNAME), smtp (CNAME) and four to seven seeded hosts
// (vpn, gw, intranet, git, jira, ...) in the decky's /24, an
// _autodiscover._tcp SRV, and extra_records.
//
// # Config keys
//
//   - zone_mode: auth (default) refuses other names as BIND does for a
//     client not allowed recursion; recursive and open set RA and answer
//     other names' A queries with a seeded sinkhole address in the
//     decky's /24 (other types empty). Nothing is ever forwarded.
//   - domain, bind_version, nsid (server-id: the NSID option and
//     id.server), extra_records ("name TYPE value": A, AAAA, CNAME, NS,
//     PTR, MX, TXT).
//   - axfr: refuse (default, REFUSED with EDE 18 as allow-transfer none)
//     or allow (the whole bait zone in one TCP message; an IXFR or AXFR
//     over UDP gets the SOA alone).
//   - real_recursive, upstream, forward_budget: kept for the original's
//     configs; real_recursive or upstream set fail validation (the decoy
//     never forwards).
//
// # Events emitted
//
//   - dns.query.received for every query answered at full rate: qname,
//     qtype, qclass, id, opcode, rd, edns, edns_size, dnssec_ok, cookie,
//     rcode, answers, truncated, in_zone.
//   - dns.zone.transfer for every AXFR/IXFR, even past the rate limit:
//     qtype, outcome (refused, served, notauth, formerr), records.
//   - dns.version.probe for CHAOS queries of the built-in zones, with the
//     text answered.
//   - dns.rate.limited (serve.UDP) once a minute per flooding source, and
//     dns.session.open/close for TCP connections.
//
// # Never an amplifier
//
// UDP goes through serve.UDP's per-source token bucket (50/s, burst
// 200). Past it a source gets BIND's RRL "slip": the question with TC
// set and a bare OPT, never larger than its query, so a spoofed victim
// gets nothing bigger than what was sent; queries of a limited source
// are not recorded one by one. ANY over UDP is answered with the first
// RRset of the name only (RFC 8482); over TCP in full as named does.
//
// # Known tells and deviations
//
//   - ANY over UDP: named 9.18 answers an authoritative ANY in full even
//     with minimal-any; the decoy answers minimally on purpose.
//   - RRL: named on Debian has no rate-limit by default; the decoy slips
//     past 50 queries a second from one source.
//   - Not emulated: DNSSEC (DO is echoed, nothing is signed), wildcards,
//     delegations below the apex, Debian's default zones (localhost,
//     127/0/255.in-addr.arpa) and the automatic empty RFC 1918 reverse
//     zones, TSIG, EDNS padding and keepalive, TCP pipelining limits.
//   - The TCP idle timeout is named's 30 s.
package dns
