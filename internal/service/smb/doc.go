// Package smb emulates the SMB server of a decky on 445 (direct TCP) and
// 139 (NetBIOS session service): Windows' SMB server on a Windows persona,
// Debian's Samba 4.17 on a Linux one.
//
// # What it emulates
//
// SMB1 is off, as on Windows Server 2016 and later and on Samba with
// "server min protocol = SMB2_02": a multi-protocol NEGOTIATE offering
// "SMB 2.???" is upgraded (dialect 0x02FF), "SMB 2.002" alone gets 2.0.2,
// and an SMB1-only NEGOTIATE is dropped by Windows and answered "no
// dialect" (index 0xFFFF) then dropped by Samba, which nmap -sV names
// "Samba smbd 4.6.2" as it does the real Samba. On 139 Windows wants a
// session request (a session message before it gets the negative
// response 0x8F nmap calls "Microsoft Windows netbios-ssn") and accepts
// its own name, *SMBSERVER or an address; Samba accepts any name and SMB
// without a session request.
//
// SMB 2.0.2, 2.1, 3.0, 3.0.2 and 3.1.1 with the 3.1.1 contexts
// (preauth integrity SHA-512 with a fresh salt, the encryption cipher by
// the server's preference, signing capabilities on Windows 11, Server
// 2022 and Samba), capabilities answered to the client's as MS-SMB2
// 3.3.5.4 says, 8 MiB max sizes (64 KiB for 2.0.2), no server start time
// (as Windows 10/2016+ and Samba send none), the server GUID of the
// identity (Samba's is its lowercase NetBIOS name), signing required on a
// domain controller. SESSION_SETUP speaks SPNEGO (NegTokenInit2 hint with
// the persona's mechanisms) around NTLMSSP (internal/service/ntlm): a
// fresh challenge per session, the full target info; the AUTHENTICATE is
// checked against the configured users with NTLMv2, and a success derives
// the SMB 2/3 signing and encryption keys, signs the final response and
// answers SPNEGO's mechListMIC, so smbclient and impacket complete. SMB 3
// encryption (TRANSFORM, AES-CCM and AES-GCM) is served when a client
// encrypts (impacket always does on 3.0).
//
// Shares: IPC$, ADMIN$ and C$ (administrators only), NETLOGON and SYSVOL
// on a domain controller, and bait shares (Finance, Public, Users on a
// server; Samba: print$, public, backup), each with a tree of believable
// files generated from the identity (sizes, dates, magic bytes; contents
// keyed by the decky). srvsvc (NetShareEnumAll 0/1, NetShareGetInfo,
// NetServerGetInfo) and wkssvc (NetWkstaGetInfo 100) answer over DCE/RPC
// on named pipes, by WRITE/READ or FSCTL_PIPE_TRANSCEIVE. CREATE,
// QUERY_DIRECTORY, QUERY_INFO, READ, WRITE, SET_INFO (rename, delete, end
// of file), CLOSE, compounds and related operations work as on a real
// server; written files are kept (within 64 MiB per decky) so they list
// and read back, across connections.
//
// Logons: a null session on either persona (IPC$ only; Windows then
// refuses every pipe, as NullSessionPipes is empty since 2016, while
// Samba serves srvsvc so smbclient -L -N lists); configured users with
// their password; on Samba any unknown user becomes guest (map to guest =
// bad user) with read access to the bait shares and write access to
// public; everything else is STATUS_LOGON_FAILURE at once, as both
// servers answer.
//
// One goroutine per connection (serve.TCPPorts), which owns the
// connection's sessions, trees and opens; the Server's mutex guards the
// share trees and the stored bytes. Bounds: frames to the max size plus
// 64 KiB, 32 messages per compound, 16 sessions, 64 trees and 1024 opens
// per connection, 32 MiB captured per open file, 64 KiB of RPC in or out
// per pipe, 512 credits, 10000 files added per decky.
//
// # Persona fields used
//
// Persona.Family picks Windows or Samba; Distro.Kernel the Windows build
// (signing capabilities and 256-bit ciphers since 20348); Archetype
// "domain-controller" requires signing and adds NETLOGON/SYSVOL;
// Hostname and env.Windows() the NetBIOS and DNS names, domain, GUID and
// boot time; Identity the bait trees.
//
// # Config keys
//
//   - workgroup: overrides the NetBIOS domain (Windows) or workgroup
//     (Samba, shown by wkssvc).
//   - shares: bait share names (name or name:comment), replacing the
//     persona's set.
//   - users: user:password pairs accepted (a user named administrator or
//     admin reaches ADMIN$ and C$).
//   - signing: persona, enabled or required.
//
// # Events emitted
//
//   - smb.negotiate.request: the client's dialects, capabilities, GUID,
//     contexts, ciphers (a fingerprint of its SMB stack), the dialect chosen.
//   - smb.login.success / smb.login.failed: the NTLM credential with its
//     hashcat line (5600 NetNTLMv2, 5500 NetNTLMv1), user, domain,
//     workstation, anonymous, guest, status.
//   - smb.tree.connect: share, UNC path, status.
//   - smb.file.open, smb.directory.list, smb.file.download (at close, with
//     bytes read), smb.file.upload (at close, quarantined by SHA-256),
//     smb.file.rename, smb.file.delete; past 1000 file events in a
//     connection one smb.file.suppressed and no more (a ransomware sweep
//     stays bounded).
//   - smb.rpc.call: pipe, interface, bind or operation and opnum.
//
// # Tells avoided
//
// The original's SMB answered with a challenge constant per decky, the
// same GUID on every install, a Type 2 without version or DNS names, no
// SMB1 answer at all and a logon failure for everything. Here the
// challenge is fresh per session, the GUID and names come from the
// topology seed, the Type 2 is the persona's (Windows: version and DNS
// names; Samba: version 6.1.0 and its own name as the domain, as Samba
// sends), and SMB1, 139 and logons behave as the real servers. Known
// gaps: no Kerberos, no SMB1 for Windows 2016 with SMB1 enabled, no
// compression, no oplocks or leases granted, no change notifications
// (STATUS_NOT_SUPPORTED), no DFS referrals.
package smb
