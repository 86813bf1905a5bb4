// Package mysql emulates the pre-authentication part of a MySQL or MariaDB
// server on 3306 for a decky.
//
// # What it emulates
//
// The protocol v10 greeting with the persona's server version, a
// connection id that grows per decky, a fresh 20-byte printable scramble
// per connection (bytes 33..126, never NUL, as the real servers generate),
// capability flags and status of the real build (without CLIENT_SSL: the
// decoy offers no TLS), and the default authentication plugin of the build
// (caching_sha2_password for MySQL 8, mysql_native_password for MariaDB).
// It parses HandshakeResponse41 (and 320), including the auth response in
// its three encodings, database, plugin and connection attributes. A
// client that answers with another plugin than mysql_native_password gets
// an AuthSwitchRequest to mysql_native_password with a fresh scramble, as
// for an account created WITH mysql_native_password. Every login then ends
// with the real ERR packet: 1045 (28000) "Access denied for user
// 'USER'@'IP' (using password: YES|NO)", so the mysql client prints
// "ERROR 1045 (28000): ...". An SSLRequest, a malformed or an oversized
// packet gets 1043 (08S01) "Bad handshake". No query is ever executed.
//
// The handshake must finish within connect_timeout (10 s); packets are read
// with a 64 KiB cap (the 3-byte length would allow 16 MiB), at most 64
// connection attributes of 1 KiB each are kept.
//
// # Persona fields used
//
// Persona.Distro.Slug picks the server: Debian 12 MariaDB
// "5.5.5-10.11.6-MariaDB-0+deb12u1", Ubuntu 22.04 "8.0.39-0ubuntu0.22.04.1",
// Ubuntu 20.04 "8.0.39-0ubuntu0.20.04.1", Rocky 9 "8.0.36", CentOS 7
// "5.5.68-MariaDB", Alpine 3.19 MariaDB 10.11.6, ...; the default collation
// follows (utf8mb4_general_ci for MariaDB, utf8mb4_0900_ai_ci for MySQL 8).
// Identity seeds the first connection id.
//
// # Config keys
//
//   - version: overrides the server version; a version containing "MariaDB"
//     selects the MariaDB greeting (and gets the "5.5.5-" prefix MariaDB 10+
//     sends).
//
// # Events emitted
//
//   - mysql.client.hello: capabilities (hex and flag names), max_packet,
//     charset, user, database, auth_plugin, tls_requested, the connection
//     attributes and, promoted, client_name, client_version, os, platform,
//     program_name.
//   - mysql.login.failed: a credential of kind mysql_native (method
//     mysql_native_password) with the 20-byte response as the secret, the
//     scramble that response answers as challenge (hex), and for a 20-byte
//     response the hashcat 11200 line $mysqlna$<salt hex>*<response hex>; an
//     empty password gives no line. Other plugins' responses (a client that
//     refuses the switch) are kept with kind mysql_<plugin>.
//   - mysql.protocol.error for a bad handshake.
//
// # Known tells and how we avoid them
//
//   - The original logged the response without the scramble (uncrackable):
//     the challenge and a ready crack line are in every event.
//   - A per-decky constant scramble, a constant connection id or a scramble
//     with NUL bytes: the scramble is fresh and printable for every
//     exchange, the id grows with small random gaps like a busy server's.
//   - Version strings that no distro ships, or a MariaDB version without the
//     5.5.5- prefix: versions come from each distro's repository; nmap names
//     "MySQL 8.0.39-0ubuntu0.22.04.1" or "MySQL 5.5.5-10.11.6-MariaDB-0+deb12u1".
//   - Known gap: no account ever succeeds, so no query is seen; the MySQL 8
//     caching_sha2_password full-authentication path (RSA key exchange) is
//     never reached because every login is switched to mysql_native_password.
package mysql
