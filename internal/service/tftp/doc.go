// Package tftp emulates Debian 12's tftpd-hpa 5.2 (5.2+20150808-1.4) on
// UDP 69 for a decky.
//
// # What it emulates
//
// in.tftpd --secure --create on /srv/tftp: RFC 1350 with the option
// extension (RFC 2347 OACK; blksize RFC 2348 clamped to 65464, tsize and
// timeout RFC 2349, and tftpd-hpa's blksize2, utimeout and rollover),
// following tftpd-hpa's request parser token by token: "Request not
// null-terminated", "Missing mode", "Unknown mode" (code 4); the file is
// checked before any option; an option with an out-of-range value fails
// the request with code 8 "Unsupported option(s) requested" (tsize on
// netascii reads too), an unknown option or a non-numeric value is
// ignored, option names are echoed as the client wrote them. Errors use
// tftpd-hpa's texts and codes: 1 "File not found", 0 "Permission
// denied" and 0 "Is a directory" (errno texts with code 0), 3 "Disk full
// or allocation exceeded". Packets other than RRQ and WRQ on port 69
// are ignored. Every answer, errors included, comes from a new socket
// (a new TID) on the decky address the request came to. Retransmission
// is tftpd-hpa's: the timeout starts at 1 s (or the negotiated one) and
// doubles after each resend; the transfer ends silently when it reaches
// 63 times the base (six sends of a packet). A stray ACK never causes a
// resend; a repeated DATA gets its ACK again; after the last block the
// server waits once for a repeat. Block numbers wrap to 0 (or the
// rollover value). Netascii reads convert LF to CR LF and CR to CR NUL.
// The test runs in.tftpd beside the decky on the same files and compares
// 34 request conversations packet by packet, the tftp-hpa client's get,
// missing get and put, and nmap -sU -sV.
//
// # The bait tree (read-only, root-owned)
//
// startup-config and running-config, <device>-confg for four switches
// and routers (saved as copy running-config tftp: names them), each an
// IOS 15.2 configuration in the decky's /24 with seeded secrets (enable
// and user md5-crypt lookalikes, type 7 passwords, SNMP communities, a
// TACACS key); pxelinux.0 and pxelinux.cfg/default; a Catalyst firmware
// image (about 23 MB of seeded bytes, generated as it is read).
//
// # Config keys
//
//   - write: create (default) accepts new files as --create does, so
//     Mirai-style droppers run to the end and their payload is captured;
//     refuse answers them "File not found" as Debian's default options
//     (--secure alone) do. Either way bait files answer "Permission
//     denied" (they are root's) and new files in bait directories too.
//     Uploads are kept (32 files, 1 MiB each) so a read after a write
//     finds the file.
//   - max_upload: bytes kept from one upload (default 16 MiB); past it
//     the transfer ends with code 3 as a full disk would end it.
//   - per_source: transfers one source may run at once (default 4; more
//     requests are dropped unanswered).
//
// # Events emitted
//
//   - tftp.file.download for every RRQ: path (as sent), mode, options,
//     acked, bytes, size, blocks, complete, error_code and error.
//   - tftp.file.upload for every WRQ: the same plus size, sha256 (the
//     bytes received, as received, in the quarantine) and truncated.
//   - tftp.rate.limited (serve.UDP) for a flooding source.
//
// # Limits and tells
//
// serve.UDP bounds requests to 10/s per source (burst 40) and runs at
// most 64 transfers at once (a transfer runs in its request's worker);
// a limited source's requests are dropped, since a transfer's first
// block is far larger than its request. One transfer lasts at most 15
// minutes. tftpd-hpa has no such limits. Not emulated: remap rules
// (-m), --permissive, --blocksize; a 1-byte request, which tftpd-hpa
// answers from a stale buffer, is ignored.
package tftp
