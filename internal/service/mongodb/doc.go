// Package mongodb emulates a MongoDB server (mongod) on 27017 for a decky.
//
// # What it emulates
//
// A standalone mongod (or the primary of a one-node replica set when
// repl_set is set) speaking the wire protocol: OP_MSG (body and document
// sequence sections, checksum and moreToCome flags) and legacy OP_QUERY on
// db.$cmd answered with OP_REPLY. From 5.1 on, as the real server, only
// hello/isMaster may come as OP_QUERY; any other command gets error 352
// UnsupportedOpQueryCommand, and removed opcodes (OP_INSERT, OP_GET_MORE,
// ...) and OP_COMPRESSED (never negotiated) close the connection. The BSON
// codec (bson.go) is the package's own: ordered documents, every BSON type
// decoded (the uninterpreted ones kept raw), nesting bounded; messages are
// bounded at 16 MiB and 100000 documents per sequence.
//
// hello/isMaster/ismaster return the real field layout (helloOk,
// isWritablePrimary or ismaster, topologyVersion with a per-boot processId,
// maxBsonObjectSize, maxMessageSizeBytes, maxWriteBatchSize, localTime,
// logicalSessionTimeoutMinutes, connectionId, minWireVersion,
// maxWireVersion matching the version, readOnly, ok), saslSupportedMechs
// when asked and speculativeAuthenticate (the driver's saslStart inside
// hello). buildInfo has version, a gitVersion stable per version,
// versionArray, openssl, buildEnvironment (distmod of the distro's package).
//
// SCRAM-SHA-1 and SCRAM-SHA-256 are real conversations: saslStart gets a
// server-first-message with a fresh nonce (crypto/rand), a salt stable per
// decky, mechanism and user (the identity; 16 and 28 bytes as mongod's) and
// mongod's iteration counts (10000, 15000); saslContinue carries the client
// proof, which is captured, then the answer is the real
// {ok: 0, errmsg: "Authentication failed.", code: 18, codeName:
// "AuthenticationFailed"} unless the user is configured and the proof
// verifies (then v=ServerSignature, skipEmptyExchange honoured).
//
// With auth off (the exposed database) the commands of the ransom bots and
// of the drivers work on a per-decky in-memory store seeded from the
// identity (users and orders collections in the bait databases, bounded
// at 20000 documents and 16 MiB): listDatabases (nameOnly too),
// listCollections, listIndexes, find, aggregate, count, insert, update,
// delete, findAndModify, create, createIndexes, drop, dropDatabase,
// dbStats, serverStatus, hostInfo, getCmdLineOpts, connectionStatus,
// whatsmyuri, getParameter, getLog, ping, killCursors, endSessions. Filters
// are not evaluated: finds return the first documents. Anything else is
// 59 CommandNotFound "no such command: 'x'". With auth on every command
// but hello, isMaster, buildInfo, ping, SASL, logout and endSessions is
// refused with 13 Unauthorized "Command x requires authentication"
// ("command" before 5.0).
//
// # Persona fields used
//
// Persona.Distro.Slug picks the mongodb.org package (Debian 12, Ubuntu
// 22.04, Rocky 9, Kali 7.0.14; Ubuntu 20.04, Fedora 6.0.18; CentOS 7
// 5.0.29) and its distmod and OpenSSL; Persona.Hostname is serverStatus's
// host and the replica set member name; Distro PrettyName and Kernel feed
// hostInfo. Identity gives the boot time (Uptime), the processId, pid, the
// first connectionId, the SCRAM salts, collection UUIDs and the bait data.
//
// # Config keys
//
//   - version: the mongod version (wire version, OP_QUERY support and error
//     texts follow it).
//   - repl_set: report as primary of this replica set.
//   - auth: security.authorization; off (default) is the exposed database.
//   - users: user:password pairs SCRAM accepts when auth is on.
//   - databases: bait database names (default: two seeded app names).
//
// # Events emitted
//
//   - mongodb.client.hello: command, opcode, driver, os, platform,
//     application, sasl_user.
//   - mongodb.command.input for every other command but SASL: command, db,
//     collection, opcode, document (Extended JSON, 4 KiB), result.
//   - mongodb.data.write for insert/update/delete/findAndModify: command,
//     db, collection, n, preview, and the documents (Extended JSON lines)
//     quarantined: sha256, size. A ransom note is such an artifact.
//   - mongodb.data.drop for drop and dropDatabase: command, db, collection,
//     existed.
//   - mongodb.login.failed / mongodb.login.success after saslContinue: user,
//     db, mechanism, speculative, error_code; the credential (kind
//     mongodb_scram_sha1 or mongodb_scram_sha256, secret = client proof,
//     challenge = hex of the server-first-message) carries in Material the
//     salt, iterations, auth message, client proof and the password
//     transform (SCRAM-SHA-1 runs on hex(md5(user:mongo:password))): hashcat
//     24100/24200 take a stored verifier, not an exchange, so no CrackLine.
//   - mongodb.protocol.error for an unparseable message (then the close),
//     an unknown mechanism or a malformed SCRAM message.
//
// # Fingerprinting tells and how we avoid them
//
// nmap's probe is an OP_QUERY serverStatus: versions before 5.1 answer it
// and nmap names "MongoDB <version>"; 6.0/7.0 answer error 352, so nmap
// shows "mongod?" with a fingerprint, exactly as against a real 7.0. The
// original decoy answered everything, saslStart included, with the hello
// document, so drivers never reached the proof; here each command has its
// own reply and error codes and texts are mongod's. Remaining tells:
// filters, projections, sorts and cursors (getMore) are not implemented;
// sizes in listDatabases and dbStats are estimates; no TLS, no
// compression, no $clusterTime signing on a standalone (correct) but a
// zero signature on a replica set.
package mongodb
