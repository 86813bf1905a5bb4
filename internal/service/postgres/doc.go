// Package postgres emulates a PostgreSQL server on 5432 for a decky.
//
// # What it emulates
//
// The frontend/backend protocol 3.0 as the persona's packaged PostgreSQL
// speaks it: the startup phase (SSLRequest answered 'S' and TLS when the
// package's cluster has ssl = on, else 'N'; GSSENCRequest answered 'G' as
// every GSSAPI-enabled build does, then the token is read and the
// connection dropped, as a server without a keytab does; CancelRequest
// ignored; NegotiateProtocolVersion for a 3.x minor or _pq_ options), the
// unsupported-protocol, missing-user, layout and "unencrypted data after
// SSL request" FATALs, password authentication (md5 with a fresh salt per
// connection, or SCRAM-SHA-256 with SCRAM-SHA-256-PLUS over TLS and a
// salt stable per decky and role, 4096 iterations, 18-byte nonce), and,
// for an accepted user:password, a session: ParameterStatus in the
// version's order, BackendKeyData, ReadyForQuery, simple queries (several
// statements per message) and the extended protocol (Parse, Bind,
// Describe, Execute, Sync, Close) as drivers such as pgx use it.
//
// The bait catalog answers what psql's \l and \dt send (matched by the
// column aliases of the pg_database and pg_class queries, so any psql
// version's text works), SELECT version(), current_user, session_user,
// current_database(), literals, current_setting, pg_sleep (capped at 10
// s), SHOW, SELECT ... FROM the seeded tables (users, customers,
// api_keys, and pg_shadow with a decoy SCRAM verifier) with column lists,
// count(*) and LIMIT, and transaction and DDL commands with their tags.
// Tables clients create are kept per decky (bounded) and listed by \dt.
// Anything else gets the real error: syntax error at or near (42601),
// relation does not exist (42P01), column does not exist (42703),
// function does not exist (42883), with the P position and the F/L/R
// source fields. COPY ... PROGRAM fails as a program exiting 1 (38000),
// the file functions fail with Permission denied; nothing is executed,
// read or fetched.
//
// Every read is bounded: startup packets at 10000 bytes (shorter than 8 or
// longer is closed silently, as the server does), authentication messages
// at 65535, other messages at 1 MiB, 64 startup parameters, 64 statements
// per Query, 256 prepared statements and portals. Authentication must
// finish within 60 s (authentication_timeout).
//
// # Persona fields used
//
// Persona.Distro.Slug picks the package: Debian 12 15.18 (Debian
// 15.18-0+deb12u1), Ubuntu 22.04 14.19, Ubuntu 20.04 12.22, Rocky 9 13.16,
// CentOS 7 9.2.24, Alpine 3.19 16.3, Fedora 39 15.7, Kali 16.3, Arch 16.3;
// it sets server_version, version()'s compiler and target, the default
// password method (scram-sha-256 from 14, md5 before), ssl, the protocol
// range in the unsupported-protocol error, the V field (9.6+), the
// ParameterStatus set (default_transaction_read_only and in_hot_standby
// from 14) and the source lines of the errors. Persona.Hostname is the
// TLS certificate's name. Identity seeds the databases, the bait rows,
// the SCRAM salts, the pg_shadow verifier, the backend pid range and the
// postmaster start time.
//
// # Config keys
//
//   - version: overrides the server version string.
//   - databases: database names besides postgres, template0, template1
//     (default: two seeded application names).
//   - users: user:password pairs that log in (default none).
//   - auth_method: auto, md5 or scram-sha-256. md5 gives hashcat 11100
//     captures; SCRAM captures are not hashcat-crackable (see below).
//   - ssl: auto, on or off.
//
// # Events emitted
//
//   - postgres.client.startup: user, database, application_name, every
//     parameter, protocol, tls.
//   - postgres.login.failed / postgres.login.success: the credential. md5:
//     kind postgres_md5, Challenge the salt, CrackLine
//     $postgres$user*salt_hex*hash_hex (hashcat -m 11100). SCRAM: kind
//     postgres_scram_sha256, Method the mechanism, Challenge the
//     server-first-message (hex), Material with iterations, salt_b64,
//     auth_message and client_proof: everything an offline guess needs
//     (PBKDF2 the guess, derive ClientKey, compare ClientKey XOR
//     HMAC(H(ClientKey), auth_message) with the proof). No crack line:
//     hashcat's 28600 takes the pg_authid verifier (StoredKey:ServerKey),
//     which a network exchange does not reveal.
//   - postgres.query.input: each statement (text capped at 4096), protocol,
//     Bind parameters, result (command tag or SQLSTATE), attack
//     (copy_from_program, file_read, large_object, extension, udf_library).
//   - postgres.tls.handshake: JA3/JA4 of the client.
//   - postgres.protocol.error for malformed startup or messages.
//
// # Known tells and how we avoid them
//
//   - The original answered 'N' to SSLRequest on a Debian persona and
//     never logged the md5 salt: here ssl follows the package and every
//     capture carries its challenge.
//   - Error bytes are compared in a test with the real PostgreSQL 15.18
//     (unsupported protocol as nmap's probe sends it, no user, bad
//     layout, data after SSLRequest, GSSENCRequest, wrong password for an
//     existing and an unknown role): identical, and nmap -sV prints the
//     same line for both. The line numbers of other majors are estimates
//     (nmap's table where it lists the release), not measured.
//   - psql's \d on a table, information_schema and pg_stat_* views, COPY
//     TO STDOUT and cursors are not emulated and answer errors; a careful
//     human will notice a thin catalog.
//   - Protocol 2.0 (servers before 14 accept it) is refused as 3.0-only
//     servers do.
package postgres
