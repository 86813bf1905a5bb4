// Package mssql emulates a Microsoft SQL Server default instance on 1433
// for a Windows decky: TDS 7.x up to the login, which always fails.
//
// # What it emulates
//
// PRELOGIN is answered as SQL Server answers it: the options the client
// sent, in its order (VERSION with the server's build and a zero
// sub-build, ENCRYPTION, INSTOPT 0, an empty THREADID, MARS and
// FEDAUTHREQUIRED off; TRACEID and NONCEOPT not echoed). For nmap's probe
// these are the 37 bytes its ms-sql-s lines match. Encryption follows a
// server without Force Encryption: a client that says OFF gets OFF and its
// LOGIN7 alone is encrypted, ON or REQ gets ON, NOT_SUP gets NOT_SUP and a
// login in clear. TLS runs inside PRELOGIN packets as TDS 7 requires, with
// SQL Server's self-made certificate (CN=SSL_Self_Signed_Fallback, RSA
// 2048, thirty years from the service's start, new at every start), TLS
// 1.0 to 1.2. A LOGIN7 without PRELOGIN is accepted (nmap's
// ms-sql-ntlm-info sends one).
//
// LOGIN7 is read whole, every offset checked: host, user, password (XOR
// 0xA5 and nibble swap undone), application, server, client interface
// library, language, database, SSPI. A SQL login fails with error 18456,
// state 1, class 14, "Login failed for user '<user>'.", the server name
// (the host's NetBIOS name, @@SERVERNAME of a default instance), an empty
// procedure, line 1, then DONE with DONE_ERROR, and the connection is
// closed. An integrated login's NTLM NEGOTIATE (raw or SPNEGO) gets the
// decky's CHALLENGE in an SSPI token; the client's SSPI message with the
// AUTHENTICATE is captured as a hashcat line and the login fails as SQL
// Server fails a logon the domain refuses: 18452 "Login failed. The login
// is from an untrusted domain and cannot be used with Integrated
// authentication." ("Windows authentication" before SQL Server 2019).
//
// One goroutine per connection (serve.TCP); a client that has not finished
// logging in after 60 s is dropped. A packet is at most 32767 bytes, a
// message 64 KiB.
//
// # Persona fields used
//
// env.Windows() gives the server name and the NTLM target information
// (names, version, time). Persona.Distro picks the default release (Server
// 2016: SQL Server 2016 or 2017; 2022 and Windows 11: 2019 or 2022; else
// 2017 or 2019) and Identity a build of it (RTM or a cumulative update).
//
// # Config keys
//
//   - version: the build announced, e.g. 15.0.2000.5 or 16.0.1000.6.
//
// # Events emitted
//
//   - mssql.client.prelogin: client_version, encryption, instance,
//     thread_id, mars, options (the client's option order).
//   - mssql.tls.handshake: the client's JA3/JA4, version, cipher.
//   - mssql.ntlm.challenge: an integrated login's NEGOTIATE answered.
//   - mssql.login.failed: a plaintext credential (SQL login) or a
//     NetNTLM one with its hashcat line (integrated), with app, host,
//     library, database, server, tds_version, tls and the error answered.
//   - mssql.protocol.error: anything malformed, then the close.
//
// # Known tells and how we avoid them
//
//   - The original answered ENCRYPT_NOT_SUP (no SQL Server since 2005
//     does by default) and "Login failed for user." without the name:
//     here encryption and the error tokens follow SQL Server.
//   - nmap 7.93 names 2016-2019 builds; it has no line for 2022 (16.x),
//     which it reports as unrecognised, as for a real 2022.
//   - crypto/tls is not SChannel: JA3S differs from a real Windows.
//   - Not emulated: the SQL Server Browser (UDP 1434), Kerberos, a login
//     that succeeds, TDS 8 (strict encryption).
package mssql
