// Package elasticsearch emulates an Elasticsearch node's REST API on 9200.
//
// # What it emulates
//
// A single-node cluster with security off (the exposed-instance case),
// speaking HTTP/1.0 and 1.1 with keep-alive as Netty does. Implemented:
// the root banner (GET/HEAD, always pretty-printed like RestMainAction),
// OPTIONS (200 with Allow), _cat (the endpoint list, indices[/pattern],
// health, nodes, count, master, and empty plugins/aliases/templates; text
// tables with ?v, ?h and right-aligned numbers, or ?format=json),
// _cluster/health, _nodes (settings with the deb paths, os from the
// persona, jvm), _search and _count over all indices, /<index>/_search
// and _count (index lists and * patterns; size, from, match_all, match,
// match_phrase, term, query_string, multi_match and ?q=field:value with a
// BM25-like score), /<index>/_doc/<id> GET/HEAD/PUT/POST/DELETE, POST
// /<index>/_doc (generated ids), _create and _update, PUT /<index>,
// GET/HEAD /<index> (settings and an inferred mapping) and DELETE
// /<index> (also _all and patterns: allowed on 7.x, refused on 8.x as
// action.destructive_requires_name does). Bait indices are seeded per
// decky: customers (names, emails, phones, card last four), orders and a
// day of application logs. Writes are kept in memory for every client of
// the decky (5000 documents, 16 MiB), so a ransom note written after a
// wipe is read back. Other paths answer "no handler found" (400) and a
// wrong method 405, with Elasticsearch's texts.
//
// # Persona fields used
//
// Persona.Hostname is the node name; Persona.Distro PrettyName and Kernel
// fill _nodes' os; the identity seeds the cluster UUID, node id, index
// UUIDs, the bait documents, JVM pid and heap, loads in _cat/nodes.
//
// # Config keys
//
//   - version: a release listed in data.go (7.10.2 default, 7.17.1-7.17.6,
//     8.4.3, 8.7.1, 8.12.2, 8.13.0, 8.15.0) with its real build hash, build
//     date and Lucene version; another version borrows the nearest
//     release's Lucene and compatibility versions with a seeded hash.
//   - cluster_name: default one of a few names operators use, per decky.
//   - legacy INI key es_version maps to version.
//
// # Events emitted
//
//   - elasticsearch.request.received for every request (method, path,
//     query, action, index, status, user agent, body size and preview,
//     sha256 of the body, which is quarantined whenever there is one).
//   - elasticsearch.document.write, elasticsearch.index.delete.
//   - elasticsearch.exploit.attempt: script injection (CVE-2014-3120
//     MVEL/Runtime/ProcessBuilder, CVE-2015-1427 Groovy reflection),
//     traversal under _plugin (CVE-2015-3337) and _snapshot
//     (CVE-2015-5531), other ../ traversal; percent-decoded up to three
//     times.
//   - elasticsearch.login.success when an Authorization header is sent
//     (security off: it is accepted), with the credential.
//   - elasticsearch.protocol.error for an unreadable request.
//
// # Known tells and how we avoid them
//
//   - Headers are Netty's: lowercase content-type/content-length, no
//     Server or Date; X-elastic-product from 7.14, the 7.x "security
//     features are not enabled" Warning from 7.13, in DefaultRestChannel's
//     order; content type "application/json; charset=UTF-8" on 7.x,
//     "application/json" on 8.x; X-Opaque-Id echoed.
//   - JSON is compact unless ?pretty, and pretty output is Jackson's
//     (" : ", "[ ]", "{ }", doubles printed as 1.0); 7.x hits carry _type.
//   - nmap 7.93's signatures expect content-type right after the status
//     line, so they name releases before 7.14 ("Elasticsearch REST API
//     7.10.2 (name: ...; cluster: ...; Lucene 8.7.0)", the default) and,
//     like for the real product, leave 7.14+ and 8.x unnamed.
//   - The original's single-threaded server, global seeds, decky-id node
//     name and empty _cat answers are gone.
//   - Not emulated: _bulk, _msearch, scroll, aggregations, _mapping and
//     _settings endpoints, _security/_xpack, TLS (8.x's default https).
package elasticsearch
