package shell

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
)

// The tools bots probe for before they use them (openssl to hash a
// password or fetch over TLS, strace and lsof to look for monitoring), with
// the distro's versions.

func init() {
	commands["openssl"] = cmdOpenSSL
	commands["strace"] = cmdStrace
	commands["lsof"] = cmdLsof
	commands["file"] = cmdFile
}

// resolve returns the canonical form of absolute path p, symlinks
// followed in every element (readlink -f), or "" when it does not exist.
func (s *Shell) resolve(p string) string {
	cur := "/"
	parts := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
	for hops := 0; len(parts) > 0 && hops < 40; {
		name := parts[0]
		parts = parts[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		n, err := s.FS.Lstat(next)
		if err != nil {
			return ""
		}
		if n.Mode&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		hops++
		target := n.Link
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		parts = append(strings.Split(strings.Trim(target, "/"), "/"), parts...)
	}
	return cur
}

func cmdReadlink(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	f, files := flags(args[1:])
	code := 0
	for _, a := range files {
		p := s.path(a)
		if f['f'] || f['e'] || f['m'] {
			if r := s.resolve(p); r != "" {
				fmt.Fprintln(out, r)
				continue
			}
			code = 1
			continue
		}
		n, err := s.FS.Lstat(p)
		if err != nil || n.Mode&fs.ModeSymlink == 0 {
			code = 1
			continue
		}
		fmt.Fprintln(out, n.Link)
	}
	return code
}

const fileUsage = "Usage: file [-bcCdEhikLlNnprsSvzZ0] [--apple] [--extension] [--mime-encoding]\n            [--mime-type] [-e <testname>] [-F <separator>]  [-f <namefile>]\n            [-m <magicfiles>] [-P <parameter=value>] [--exclude-quiet]\n            <file> ...\n       file -C [-m <magicfiles>]\n       file [--help]\n"

// cmdFile answers as file(1) for what the machine holds: its binaries are
// Debian's x86-64 PIEs.
func cmdFile(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	f, files := flags(args[1:])
	if len(files) == 0 {
		io.WriteString(out, fileUsage)
		return 1
	}
	for _, a := range files {
		p := s.path(a)
		n, err := s.FS.Lstat(p)
		var what string
		switch {
		case err != nil:
			what = "cannot open `" + a + "' (No such file or directory)"
		case n.Mode&fs.ModeSymlink != 0 && !f['L']:
			what = "symbolic link to " + n.Link
		default:
			if n.Mode&fs.ModeSymlink != 0 {
				if n, err = s.FS.Stat(p); err != nil {
					what = "broken symbolic link to " + n.Link
					break
				}
			}
			data, _ := s.FS.ReadFile(p)
			switch {
			case n.IsDir():
				what = "directory"
			case n.Mode&fs.ModeCharDevice != 0:
				what = "character special (1/3)"
			case len(data) == 0:
				what = "empty"
			case strings.HasPrefix(string(data), "\x7fELF"):
				sum := sha1.Sum([]byte(s.resolve(p)))
				what = "ELF 64-bit LSB pie executable, x86-64, version 1 (SYSV), dynamically linked, interpreter /lib64/ld-linux-x86-64.so.2, BuildID[sha1]=" + hex.EncodeToString(sum[:]) + ", for GNU/Linux 3.2.0, stripped"
			case strings.HasPrefix(string(data), "#!/bin/sh"), strings.HasPrefix(string(data), "#!/bin/bash"):
				what = "POSIX shell script, ASCII text executable"
			case isText(data):
				what = "ASCII text"
			default:
				what = "data"
			}
		}
		fmt.Fprintf(out, "%s: %s\n", a, what)
	}
	return 0
}

func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\t' && c != '\r' || c >= 0x7f {
			return false
		}
	}
	return true
}

// opensslVersion is `openssl version` of the distro's package.
func (m Machine) opensslVersion() string {
	switch m.Distro.Slug {
	case "ubuntu22":
		return "OpenSSL 3.0.2 15 Mar 2022 (Library: OpenSSL 3.0.2 15 Mar 2022)"
	case "ubuntu20":
		return "OpenSSL 1.1.1f  31 Mar 2020"
	case "rocky9":
		return "OpenSSL 3.0.7 1 Nov 2022 (Library: OpenSSL 3.0.7 1 Nov 2022)"
	case "centos7":
		return "OpenSSL 1.0.2k-fips  26 Jan 2017"
	case "alpine":
		return "OpenSSL 3.1.4 24 Oct 2023 (Library: OpenSSL 3.1.4 24 Oct 2023)"
	case "fedora":
		return "OpenSSL 3.1.1 30 May 2023 (Library: OpenSSL 3.1.1 30 May 2023)"
	case "kali", "arch":
		return "OpenSSL 3.3.1 4 Jun 2024 (Library: OpenSSL 3.3.1 4 Jun 2024)"
	}
	return "OpenSSL 3.0.15 3 Sep 2024 (Library: OpenSSL 3.0.15 3 Sep 2024)"
}

func cmdOpenSSL(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	if len(args) < 2 {
		// Interactive mode: reads commands from stdin; with none, quits.
		return 0
	}
	switch args[1] {
	case "version":
		v := s.M.opensslVersion()
		if len(args) > 2 && args[2] != "-v" {
			fmt.Fprintln(out, v)
			fmt.Fprintln(out, "built on: Sun Jun  8 12:00:00 2025 UTC\nplatform: debian-amd64\nOPENSSLDIR: \"/usr/lib/ssl\"")
			return 0
		}
		fmt.Fprintln(out, v)
		return 0
	case "rand":
		return opensslRand(args[2:], out, errw)
	case "base64", "enc":
		dec := false
		for _, a := range args[2:] {
			if a == "-d" {
				dec = true
			}
		}
		if dec {
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(in)), ""))
			if err != nil {
				return 1
			}
			out.Write(b)
			return 0
		}
		enc := base64.StdEncoding.EncodeToString(in)
		for len(enc) > 64 {
			fmt.Fprintln(out, enc[:64])
			enc = enc[64:]
		}
		if enc != "" {
			fmt.Fprintln(out, enc)
		}
		return 0
	case "s_client":
		fmt.Fprintf(errw, "%s:error:8000006F:system library:BIO_connect:Connection refused:../crypto/bio/bio_sock2.c:125:calling connect()\n%s:error:10000067:BIO routines:BIO_connect:connect error:../crypto/bio/bio_sock2.c:127:\nconnect:errno=111\n", "40A7D1F7C67F0000", "40A7D1F7C67F0000")
		return 1
	}
	fmt.Fprintf(errw, "Invalid command '%s'; type \"help\" for a list.\n", args[1])
	return 1
}

func opensslRand(args []string, out, errw io.Writer) int {
	hexOut, b64 := false, false
	n := -1
	for _, a := range args {
		switch a {
		case "-hex":
			hexOut = true
		case "-base64":
			b64 = true
		default:
			v, err := strconv.Atoi(a)
			if err != nil || v < 0 {
				fmt.Fprintf(errw, "rand: Unknown option or message digest: %s\nrand: Use -help for summary.\n", strings.TrimPrefix(a, "-"))
				return 1
			}
			n = min(v, 1<<16)
		}
	}
	if n < 0 {
		fmt.Fprintf(errw, "Usage: rand [options] num\n")
		return 1
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	switch {
	case hexOut:
		fmt.Fprintln(out, hex.EncodeToString(b))
	case b64:
		fmt.Fprintln(out, base64.StdEncoding.EncodeToString(b))
	default:
		out.Write(b)
	}
	return 0
}

func cmdStrace(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	if len(args) < 2 {
		fmt.Fprintf(errw, "strace: must have PROG [ARGS] or -p PID\nTry 'strace -h' for more information.\n")
		return 1
	}
	switch args[1] {
	case "-V", "--version":
		fmt.Fprintf(out, "strace -- version 6.1\nCopyright (c) 1991-2022 The strace developers <https://strace.io>.\nThis is free software; see the source for copying conditions.  There is NO\nwarranty; not even for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.\n\nOptional features enabled: stack-trace=libunwind stack-demangle m32-mpers mx32-mpers\n")
		return 0
	case "-p":
		pid := ""
		if len(args) > 2 {
			pid = args[2]
		}
		for _, p := range s.procs() {
			if strconv.Itoa(p.pid) == pid {
				fmt.Fprintf(errw, "strace: Process %s attached\n", pid)
				return 0
			}
		}
		fmt.Fprintf(errw, "strace: attach: ptrace(PTRACE_SEIZE, %s): No such process\n", pid)
		return 1
	}
	prog := args[1]
	if strings.HasPrefix(prog, "-") {
		fmt.Fprintf(errw, "strace: must have PROG [ARGS] or -p PID\nTry 'strace -h' for more information.\n")
		return 1
	}
	if _, ok := commands[prog]; !ok {
		fmt.Fprintf(errw, "strace: Can't stat '%s': No such file or directory\n", prog)
		return 1
	}
	quoted := make([]string, 0, len(args)-1)
	for _, a := range args[1:] {
		quoted = append(quoted, strconv.Quote(a))
	}
	fmt.Fprintf(errw, "execve(\"/usr/bin/%s\", [%s], 0x7ffc%08x /* %d vars */) = 0\n", prog, strings.Join(quoted, ", "), rand.Uint32(), len(s.Env))
	code := commands[prog](s, args[1:], out, errw, in)
	fmt.Fprintf(errw, "exit_group(%d)                           = ?\n+++ exited with %d +++\n", code, code)
	return code
}

func cmdLsof(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	inet := false
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-i") {
			inet = true
		}
	}
	var sshd, sess int
	for _, p := range s.procs() {
		switch {
		case strings.HasPrefix(p.cmd, "sshd: /usr/sbin/sshd"):
			sshd = p.pid
		case strings.HasPrefix(p.cmd, "sshd: "+s.User):
			sess = p.pid
		}
	}
	ip, _ := s.netInfo()
	fmt.Fprintf(out, "COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n")
	if inet {
		fmt.Fprintf(out, "sshd    %5d root    3u  IPv4  %5d      0t0  TCP *:ssh (LISTEN)\n", sshd, 21000+sshd)
		fmt.Fprintf(out, "sshd    %5d root    4u  IPv6  %5d      0t0  TCP *:ssh (LISTEN)\n", sshd, 21002+sshd)
		if from := s.Env["__from"]; from != "" {
			fmt.Fprintf(out, "sshd    %5d root    4u  IPv4  %5d      0t0  TCP %s:ssh->%s:%s (ESTABLISHED)\n", sess, 90000+sess, ip, from, s.Env["__fromport"])
		}
		return 0
	}
	fmt.Fprintf(out, "systemd       1 root  cwd       DIR  259,2     4096    2 /\nsystemd       1 root  rtd       DIR  259,2     4096    2 /\nsystemd       1 root  txt       REG  259,2  1744888 3148 /usr/lib/systemd/systemd\n")
	return 0
}
