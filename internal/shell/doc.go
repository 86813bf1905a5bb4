// Package shell is the emulated login shell that the SSH and Telnet
// services hand to attackers who log in. It parses command lines as bash
// does for the constructs bots use (quotes, $VAR, $(...), ;, &&, ||, |,
// redirections) and answers about 100 common commands from a per-decky
// in-memory file system built from the persona: /etc/os-release,
// /etc/passwd, /etc/hostname, /proc/cpuinfo, /proc/meminfo, /proc/version,
// home directories, with file times and hardware derived from the decky's
// identity so a redeployed decky looks the same.
//
// Nothing an attacker types is executed on the host: every command is a Go
// function over the in-memory FS, downloads (wget, curl, tftp) are reported
// through Shell.OnFetch and never made, and the FS bounds what a session
// can write (DefaultMaxBytes, a node cap). Output per command line is
// capped at MaxOutput and nested evaluation ($(...), sh -c, scripts) at a
// small depth.
//
// A Shell is owned by one goroutine (the channel that reads the
// attacker's input); its FS may be shared with an SFTP channel of the same
// connection and is safe for concurrent use.
package shell
