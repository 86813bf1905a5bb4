// Package telnet is the Telnet service (slug telnet, 23/tcp).
//
// # What it emulates
//
// The distro's telnetd in front of login(1) and the persona's shell: on
// busybox systems busybox telnetd's opening negotiation (DO ECHO, DO NAWS,
// WILL ECHO, WILL SGA), elsewhere netkit telnetd's (DO TTYPE, TSPEED,
// XDISPLOC, NEW-ENVIRON, waiting for the client before it takes over
// echoing), so nmap names "BusyBox telnetd" or "Linux telnetd"; the
// distro's /etc/issue line (none on busybox systems), "<host> login: " and
// "Password: " prompts, a 2.5-3.5 s pause before "Login incorrect" that
// holds up nobody else, three attempts and a 60 s login timeout. After a
// login, the emulated shell of package shell (the SSH service's) with the
// distro's motd: the Mirai family's `enable`, `sh`, `/bin/busybox ECCHI`
// ("ECCHI: applet not found") and echo -e tricks work.
//
// # Persona fields
//
// Distro (issue line, motd, busybox or bash userland), Hostname, Identity.
//
// # Config keys
//
// users, password, user, user_password, accept_after (package authpolicy,
// shared with SSH), hostname, banner (replaces the issue line).
//
// # Events
//
// telnet.session.open/close, telnet.client.negotiate (ordered option list
// and its SHA-256, terminal type, window size), telnet.login.failed /
// telnet.login.success (plaintext credential), telnet.command.input
// (command, b64 copy, cwd, user, known), telnet.file.fetch (wget/curl/tftp
// URL; never fetched).
//
// # Tells and how they are avoided
//
// Password input is never echoed; lines are bounded (4 KiB) and
// subnegotiations (512 bytes). No transcript is recorded for Telnet yet.
package telnet
