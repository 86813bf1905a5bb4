// Package ssh is the SSH service (slug "ssh", port 22/tcp): an emulated
// OpenSSH server that captures credentials, commands and files, and hands
// logged-in attackers the emulated shell of package shell. Nothing an
// attacker sends is executed on the host and nothing is forwarded.
//
// # What it emulates
//
// The OpenSSH release the persona claims: the identification string, the
// algorithm lists and their order (key exchange, host key, cipher, MAC),
// the SSH_MSG_EXT_INFO extensions, the auth method list and its order
// ("publickey,password[,keyboard-interactive]" as the distro's
// sshd_config enables), MaxAuthTries 6, the ~2 s PAM delay before a
// failed password is answered (a per-connection timer, never a sleep that
// stalls other connections), the motd and "Last login" line, and the
// distro's bash (or busybox ash) through package shell. Session channels
// accept pty-req, env (LANG and LC_* as Debian's AcceptEnv), shell, exec,
// subsystem sftp and window-change. "scp -t" (legacy scp sink) and the
// sftp subsystem (github.com/pkg/sftp over the in-memory file system)
// receive uploads; "scp -f" sends files of the emulated file system.
// direct-tcpip channels and tcpip-forward requests are refused as a host
// whose forwarded connection fails.
//
// The transport is internal/transport, a fork of golang.org/x/crypto/ssh
// v0.59.0 (BSD licence kept in that directory) extended where a stock
// library cannot play OpenSSH; every change is marked "DECNET" in the code
// and was written from the published specifications:
//   - sntrup761x25519-sha512(@openssh.com): Streamlined NTRU Prime 761
//     encapsulation plus X25519, server side (sntrup761.go);
//   - diffie-hellman-group18-sha512 (RFC 8268, RFC 3526 8192-bit group);
//   - umac-64/umac-128 (@openssh.com, plain and -etm), RFC 4418 (umac.go);
//   - hmac-sha1-etm@openssh.com;
//   - zlib@openssh.com delayed compression (compress.go, with a DEFLATE
//     decoder of its own in inflate.go because compress/flate holds
//     output across OpenSSH's partial flushes);
//   - the auth failure method list in OpenSSH's order (publickey first);
//   - host key signature algorithms in the signer's order (OpenSSH sends
//     rsa-sha2-512 before rsa-sha2-256);
//   - Config.ServerExtInfo and Config.ServerCompression: the EXT_INFO
//     extensions and compression list of the claimed release.
//
// Every algorithm offered is completed by the real OpenSSH 9.2 client in
// TestAlgorithmsWithOpenSSH (each kex, cipher, MAC, host key algorithm and
// ssh -C, with packets over 1 KiB both ways): a wrong key exchange or MAC
// cannot pass that test, so it is the known-answer check of the fork.
//
// # Persona fields used
//
// Distro.SSHVersion (identification string and algorithm profile),
// Distro.OSReleaseID (sshd_config defaults: keyboard-interactive, RHEL
// crypto-policies), Distro.Kernel/PrettyName/VersionID (motd, uname,
// /etc/os-release via package shell), Hostname, and Identity: the host keys
// (RSA 3072, ECDSA P-256, Ed25519) are derived from Identity.Bytes and
// Identity.Rand ("hostkey-ed25519", "hostkey-ecdsa-N", "hostkey-rsa-p/q"),
// so a redeployed decky keeps its fingerprints and no two deckies share
// one; CPU, memory, file times and the last-login line come from it too.
//
// # Config keys
//
//   - users: accepted "user:password" pairs, e.g. "root:toor".
//   - password (legacy): root's accepted password.
//   - user, user_password (legacy): one more accepted account.
//   - accept_after: accept any password from a source after this many
//     failed attempts from it (0: never); counted per source IP across
//     connections, bounded to 65536 sources.
//   - banner: software version after "SSH-2.0-" (default the distro's);
//     the algorithm profile follows it.
//   - hostname: the hostname the shell shows (default the persona's).
//   - motd: text shown after login ("b64:" prefix for base64).
//
// With no credentials and accept_after 0, root:admin (the original
// system's default) is accepted so the decoy still catches sessions.
//
// # Events emitted
//
//   - ssh.session.open / ssh.session.close / ssh.session.rejected (by
//     serve.TCP).
//   - ssh.client.version: client_version, read off the wire before the
//     handshake completes, so scanners that hang up are recorded.
//   - ssh.client.kex: hassh, hassh_algorithms, kex_algs, host_key_algs,
//     enc_cs, mac_cs, comp_cs, lang_cs, from the client's first cleartext
//     KEXINIT parsed by a bounded wire tap (tap, ParseKexInit).
//   - ssh.login.failed / ssh.login.success: one per attempt; Credential
//     kind "plaintext" (methods password, keyboard-interactive) or
//     "ssh_pubkey" (method publickey; secret = key blob; material
//     fingerprint "SHA256:..." and key_type); fields method, user,
//     attempt, client_version. Public keys are always refused.
//   - ssh.channel.request: channel_id, request (pty-req, env, shell, exec,
//     subsystem, window-change, x11-req, auth-agent-req@openssh.com,
//     signal, break) with term/cols/rows, env_name/env_value, subsystem or
//     command; at most 64 per channel.
//   - ssh.command.input: command_line, command_b64 (lossless), args,
//     working_directory, interactive, user, known, exit_code.
//   - ssh.file.fetch: url, tool (wget, curl, tftp, ftpget), fetched=false:
//     downloads are recorded and never made.
//   - ssh.file.upload: transfer (scp, sftp), name, path, directory, size,
//     sha256, truncated, stored; the bytes are in the quarantine under
//     their SHA-256.
//   - ssh.file.download: transfer scp, path, size, sha256 ("scp -f").
//   - ssh.transcript.saved: sha256, size, format asciicast-v2, truncated,
//     input_sha256, duration_ms, channel_id; one per pty shell, stored in
//     the quarantine (capped at 4 MiB with a marker).
//   - ssh.forward.request: kind (direct-tcpip, tcpip-forward,
//     cancel-tcpip-forward), host, port, originator_host/port, decision.
//   - ssh.protocol.error: a malformed client KEXINIT, a recovered panic, or
//     a client identification refused as sshd refuses it (error: the text
//     sent, "Invalid SSH identification string." or "Protocol major
//     versions differ.").
//
// # Known tells and how we avoid them
//
// Avoided: the Go banner and Go's algorithm lists and order (profiles per
// release, see algorithms.go, completed by the fork); honeypot default
// banners (the persona picks a real patch release per decky, never one in
// persona.HoneypotSSHBanners); Twisted's and Go's answers to bad client
// identifications (sshd's texts and close, KEXINIT sent before reading,
// compared with the host's sshd); Go's auth method
// order and EXT_INFO (fork);
// instant password failures (PAM delay); shared or fresh-per-start host
// keys (derived per decky); a 1-byte-stub userland, missing /proc files,
// uname or /etc/os-release disagreeing with the banner (package shell
// builds them from the same persona); "sh: command not found" wording
// (bash's exact errors, "bash: line 1:" for exec on bash >= 5.1, "-bash:"
// for login shells, ash's "not found" on busybox distros); scp and sftp
// that fail (the original's sessrec bug).
//
// Remaining differences from the real release (none of them reported by
// ssh-audit, which shows the decoy's Debian 12 lists identical to a real
// OpenSSH 9.2p1's):
//   - kex-strict-s-v00@openssh.com is always sent, also for releases that
//     predate the Terrapin fix (CentOS 7's 7.4); mlkem768x25519-sha256 is
//     only offered for releases that have it (9.9+); the plain
//     sntrup761x25519-sha512 name for those and for Debian's bookworm
//     updates from deb12u4, which backported it.
//   - the RSA host key is offered for every OpenSSH persona (Debian's key
//     set); dropbear personas get an approximate profile.
//   - rekey thresholds, packet size limits and the group-exchange groups
//     are x/crypto's, not OpenSSH's /etc/ssh/moduli.
//   - the shell emulates GNU/Linux userland for every persona family; a
//     BSD, Windows or Cisco persona with this service shows a Linux shell.
//
// # Goroutines and ownership
//
// Serve runs serve.TCP, which owns one goroutine per connection.
// handle owns the connection: it runs the handshake, one goroutine for
// global requests and one per session channel, and waits for all of them
// before returning (the transport closes their channels when the
// connection ends). A session channel's program (shell, exec, sftp) runs
// in a goroutine the channel's request loop waits for; panics there are
// recovered, evented as ssh.protocol.error, and close only that channel.
package ssh
