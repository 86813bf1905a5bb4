// Package snmp emulates the SNMP agent of a decky on udp/161: net-snmp's
// snmpd (5.9, Debian 12's) on Linux and BSD personas, the Windows SNMP
// service on Windows personas.
//
// # What it emulates
//
// SNMPv1 and v2c Get, GetNext, GetBulk (and so snmpwalk and snmpbulkwalk)
// over a MIB built once per decky from its persona: the system group with
// net-snmp's sysORTable, interfaces and ifXTable (lo plus one interface per
// decky address, with the decky's MAC), the ip group scalars and
// ipAddrTable, host resources (hrSystem, hrMemorySize, hrStorageTable,
// hrSWRunTable and hrSWRunPerfTable with the daemons of the persona's
// archetype), the snmp group, and the SNMP engine and USM statistics that
// end net-snmp's tree. Counters grow with the seeded uptime, so two walks
// agree and later ones are higher. The v1 and v2c error behaviour follows
// net-snmp: v1 answers noSuchName (index of the first failing binding,
// bindings echoed) where v2c answers noSuchObject, noSuchInstance or
// endOfMibView per binding; Counter64 objects are skipped by v1 GetNext.
//
// Communities: a community not configured gets no answer at all (net-snmp
// drops it and counts snmpInBadCommunityNames). The configured ones are
// read-only: a Set is refused with noAccess (v2c) or noSuchName (v1) on its
// first binding, as net-snmp refuses it for an rocommunity. SNMPv3: the
// agent has no users; an engine discovery (or a message naming another
// engine) gets the usmStatsUnknownEngineIDs report with the engine id,
// boots and time, and a message to this engine gets
// usmStatsUnknownUserNames, byte for byte as net-snmp reports them. The
// engine id has net-snmp's default layout (80 00 1f 88 80, four random
// bytes, a little-endian time_t), seeded per decky. Windows' SNMP service
// has no v3: v3 messages are dropped on Windows personas.
//
// Default view: Debian's packaged snmpd.conf listens on localhost only and
// lets "public" read the system and hrSystem groups. A snmpd reachable on
// a LAN address was configured by someone, most often for a monitoring
// system that reads everything, so the default is "public" with the whole
// MIB; view: systemonly reproduces the packaged restriction.
//
// Bounds: the BER codec accepts definite lengths of up to four bytes,
// single-byte tags, at most 512 bindings and 128 sub-identifiers per OID,
// and recurses nowhere (the message structure is walked by the code, not
// by nesting). GetBulk answers at most 512 bindings in 8 KiB, trailing
// bindings dropped (RFC 3416). serve.UDP's per-source packet bucket is
// generous (a walk is thousands of GetNexts) and a per-source byte budget
// bounds the amplification (64 KiB/s beyond what the source sent, 512 KiB
// burst); past either, a reply no larger than the request is sent: a
// GetBulk trimmed, anything else tooBig with no bindings.
//
// # Persona fields used
//
// Persona.Family (net-snmp or Windows, v3 or not, sysServices 72 or 76),
// Persona.Distro (uname for sysDescr, packaged sysContact/sysLocation,
// kernel in hrSystemInitialLoadParameters), Persona.Hostname (sysName and
// sysDescr), Persona.Archetype (the daemons in hrSWRunTable), Addrs
// (interfaces, ipAddrTable), Identity (uptime, MACs, memory and disk sizes,
// counters' rates, pids, engine id and boots).
//
// # Config keys
//
//   - communities: accepted read-only communities (default public).
//   - view: all (default) or systemonly.
//   - sys_descr, sys_contact, sys_location: override the persona's values.
//
// # Events emitted
//
//   - snmp.login.failed: a community that is not accepted (credential kind
//     snmp_community, plaintext), or an SNMPv3 user (kind snmpv3_usm,
//     principal the user, secret its HMAC, with the hashcat mode 25000
//     line for 96-bit HMACs). Once a minute per source and secret.
//   - snmp.login.success: an accepted community, once per ten minutes per
//     source, community and version.
//   - snmp.request.read: Get, GetNext, GetBulk; a walk is one event (its
//     continuation requests start where the last answer ended).
//   - snmp.request.set: every Set, with its values, refused.
//   - snmp.engine.discovery: a v3 discovery.
//   - snmp.protocol.error: a malformed datagram, once a minute per source.
//
// # Known tells and how we avoid them
//
//   - The original answered any community, typed every value OCTET STRING
//     and knew only the system group: here communities are checked, types
//     are net-snmp's, and the walk's shape of the system, interfaces,
//     ifXTable and hrSystem groups equals a real snmpd's (tested side by
//     side, with nmap -sU -sV naming both "net-snmp SNMPv3 server").
//   - Not emulated: at, icmp, tcp, udp, ipRouteTable, ipNetToMediaTable,
//     the IPv6 and IP-MIB tables, hrDeviceTable, hrSWInstalledTable, the
//     UCD and NET-SNMP-AGENT enterprise trees (a full net-snmp walk has
//     them; a walk of the decky is shorter), Windows' LanManager MIB.
//     The Windows and Cisco personas reuse the MIB-II structure with their
//     own names and strings but were not compared with a real agent.
package snmp
