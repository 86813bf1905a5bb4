// Package ftp emulates an FTP server (vsftpd by default, ProFTPD on
// request) on 21 for a decky.
//
// # What it emulates
//
// The control connection of vsftpd (or ProFTPD) with its exact greeting
// and reply texts, including what each allows before login, the delay of a
// failed login (1 to 2.5 s, blocking only that session) and the disconnect
// after three failures. After login: PWD, CWD/CDUP, TYPE, MODE, STRU, REST,
// PASV/EPSV, PORT/EPRT, LIST/NLST (with -a), RETR, STOR/APPE/STOU, SIZE,
// MDTM, DELE (own uploads), RNFR/RNTO, MKD/RMD (refused), SITE, STAT, FEAT,
// HELP, OPTS UTF8, NOOP, QUIT. The filesystem is a bait tree generated from
// the decky's identity: a Linux root with /etc (passwd listing the bait
// users, hostname, os-release, an unreadable shadow), home directories with
// backups and notes (with bait credentials), /var/www/html with a
// config.php, and /srv/ftp/pub as the anonymous root. Local users log into
// their home and see the whole tree (vsftpd's default without chroot).
//
// Data connections: PASV/EPSV listen on the decky address the client
// reached, on a random port, for one transfer, accept for 60 s, and only
// from the client's IP (vsftpd's "425 Security: Bad IP connecting."
// otherwise). PORT/EPRT are accepted only for the client's own IP and a
// port >= 1024 (vsftpd without port_promiscuous), so the decoy never
// connects to a third party. Uploads are streamed into the quarantine
// (content-addressed by SHA-256, cut at its cap, 256 MiB read at most) and
// listed in the session afterwards; they are never served back or run.
// Command lines are capped at 4096 bytes (vsftpd's limit); the rest of a
// longer line is dropped. Data connections time out after 5 idle minutes.
//
// # Persona fields used
//
// Persona.Distro.Slug picks the daemon and version (Debian 12 vsftpd 3.0.3,
// Ubuntu 22.04 3.0.5, Rocky 9 3.0.5, CentOS 7 3.0.2, ...) and ProFTPD's
// ServerName; Persona.Distro gives os-release and issue; Persona.Hostname
// the hostname file and bait notes; Identity seeds the tree (users, file
// names, sizes, dates and contents).
//
// # Config keys
//
//   - banner: the greeting. "proftpd" selects ProFTPD with its default
//     greeting "220 ProFTPD Server (Debian) [::ffff:IP]"; any banner
//     mentioning ProFTPD selects the ProFTPD reply texts; another text is
//     sent after "220 " with vsftpd's replies.
//   - anonymous: allow anonymous (and "ftp") logins with any password into
//     /srv/ftp.
//   - users: "user:password" pairs that log in; every other login fails.
//
// # Events emitted
//
//   - ftp.command.input for every command but PASS: verb, args, cwd,
//     logged_in, user.
//   - ftp.login.failed / ftp.login.success with a plaintext credential and
//     the anonymous flag (the e-mail "password" of anonymous logins is the
//     secret).
//   - ftp.file.download for RETR: path, bytes sent, size, complete.
//   - ftp.file.upload for STOR/APPE/STOU: path, file_name, command, sha256,
//     size, truncated.
//   - ftp.exploit.attempt for a USER containing ":)" (vsftpd 2.3.4 backdoor,
//     CVE-2011-2523) and, on ProFTPD, SITE CPFR/CPTO (mod_copy,
//     CVE-2015-3306).
//
// # Known tells and how we avoid them
//
//   - Library greetings ("Welcome to the Go FTP Server") and honeypot
//     banners nmap knows (Dionaea's): the greeting is the daemon's own, and
//     nmap -sV names "vsftpd 3.0.3" (or "ProFTPD", which hides its version by
//     default as the real one does).
//   - Logins that succeed at random (the original): success depends only on
//     the configured users and the anonymous switch.
//   - Instant "530 Login incorrect.": answered after PAM's delay.
//   - Identical bait trees across deckies: names, sizes, dates and contents
//     derive from the decky's identity.
//   - Known gaps: no FTPS (AUTH TLS is not offered, as in vsftpd's Debian
//     default), no MLSD/MLST, MKD and renames are refused, the tree is
//     read-only apart from the session's own uploads, and directory sizes
//     and link counts are approximations.
package ftp
