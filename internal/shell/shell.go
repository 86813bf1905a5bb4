package shell

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxOutput bounds what one command line can print (yes, cat of a large
// upload): the rest is dropped.
const MaxOutput = 1 << 20

// Fetch is a download a command asked for. It is recorded, never made.
type Fetch struct {
	Tool string // wget, curl, tftp, ftpget
	URL  string
}

// Shell is one emulated login shell: a user on a Machine with a private
// in-memory file system. It interprets command lines; nothing is ever
// executed on the host. A Shell is used by one goroutine at a time.
type Shell struct {
	M    Machine
	FS   *FS
	User string
	UID  int
	Home string
	Cwd  string
	Env  map[string]string
	// Login marks an interactive login shell (errors read "-bash: ...");
	// otherwise the shell runs ssh exec commands ("bash: line 1: ...").
	Login bool
	// Cols is the terminal's width (ls lays names out in it); 0 is 80.
	Cols int
	// OnFetch is called for every download a command asks for.
	OnFetch func(Fetch)
	// Exited is set by exit and logout.
	Exited   bool
	ExitCode int

	history []string
	// funcs are the shell functions defined, by name; calls counts the
	// calls running, retCode is a pending return's status; docs are the
	// here-documents cut out of lines (see funcs.go).
	funcs   map[string]string
	calls   int
	retCode int
	docs    map[int]hereDoc
	nextDoc int
	// jobs counts the background jobs started.
	jobs int
	// term is what the terminal shows of the line running: a command
	// whose output goes there formats for a terminal (see onTerminal).
	term io.Writer
	// attrs are chattr's flags by path (see usercmds.go).
	attrs    map[string]string
	lastExit int
	depth    int
	// loops counts the loops running; jump is a pending break or
	// continue of the innermost one.
	loops int
	jump  string
	// steps counts the loop iterations of one Run, bounded by
	// maxSteps over all its loops (nested ones multiply).
	steps int
	start time.Time
}

// New returns a shell for user on m with a freshly built file system.
func New(m Machine, user string) *Shell {
	if user == "" {
		user = "root"
	}
	f := NewFS(DefaultMaxBytes)
	if user != "root" && m.User == "" {
		m.User = user
	}
	m.build(f)
	s := &Shell{M: m, FS: f, User: user, start: time.Now()}
	s.Home = "/root"
	if user != "root" {
		s.UID = 1000
		s.Home = "/home/" + user
		_ = f.Mkdir(s.Home, true)
	}
	s.Cwd = s.Home
	sh := "/bin/bash"
	if m.Busybox() {
		sh = "/bin/ash"
	}
	s.Env = map[string]string{
		"HOME": s.Home, "USER": user, "LOGNAME": user, "SHELL": sh, "PWD": s.Cwd, "LANG": "C.UTF-8",
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "xterm-256color", "SHLVL": "1",
	}
	return s
}

// Prompt returns the prompt the distro's default shell shows.
func (s *Shell) Prompt() string {
	h := s.M.ShortHostname()
	sign := "#"
	if s.UID != 0 {
		sign = "$"
	}
	dir := s.Cwd
	if dir == s.Home {
		dir = "~"
	} else if strings.HasPrefix(dir, s.Home+"/") {
		dir = "~" + dir[len(s.Home):]
	}
	switch {
	case s.M.rhel():
		base := path.Base(dir)
		if dir == "~" {
			base = "~"
		}
		return fmt.Sprintf("[%s@%s %s]%s ", s.User, h, base, sign)
	case s.M.Busybox():
		return fmt.Sprintf("%s:%s%s ", h, dir, sign)
	}
	return fmt.Sprintf("%s@%s:%s%s ", s.User, h, dir, sign)
}

// Var implements Expander.
func (s *Shell) Var(name string) string {
	switch name {
	case "?":
		return strconv.Itoa(s.lastExit)
	case "$":
		return strconv.Itoa(2000 + int(s.M.Identity.Bytes("pid", 1)[0])*11)
	case "0":
		if s.M.Busybox() {
			return "-ash"
		}
		return "-bash"
	case "#":
		if n, ok := s.Env["#"]; ok {
			return n
		}
		return "0"
	case "RANDOM":
		return strconv.Itoa(int(time.Now().UnixNano() % 32768))
	case "HOSTNAME":
		return s.M.Hostname
	case "UID":
		return strconv.Itoa(s.UID)
	}
	return s.Env[name]
}

// subshell runs a ( list ): its directory and variables do not outlive
// it, and exit leaves only it.
func (s *Shell) subshell(src string, out, errw io.Writer, stdin []byte) int {
	if s.depth >= maxDepth {
		return 0
	}
	cwd, env := s.Cwd, maps.Clone(s.Env)
	s.depth++
	code := s.run(src, out, errw, stdin)
	s.depth--
	s.Cwd, s.Env, s.Exited = cwd, env, false
	return code
}

// Subst implements Expander: the output of a nested command line.
func (s *Shell) Subst(cmd string) string {
	if s.depth >= maxDepth {
		return ""
	}
	var b limitedBuffer
	s.depth++
	s.run(cmd, &b, &b, nil)
	s.depth--
	return b.String()
}

// limitedBuffer keeps the first MaxOutput bytes written to it. It does
// not embed bytes.Buffer, whose WriteString would bypass the cap.
type limitedBuffer struct{ buf bytes.Buffer }

func (b *limitedBuffer) Len() int       { return b.buf.Len() }
func (b *limitedBuffer) Bytes() []byte  { return b.buf.Bytes() }
func (b *limitedBuffer) String() string { return b.buf.String() }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := MaxOutput - b.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

// Run interprets one command line, writing what the terminal would show to
// out, and returns the exit status.
func (s *Shell) Run(line string, out io.Writer) int {
	if strings.TrimSpace(line) != "" && s.depth == 0 {
		s.history = append(s.history, strings.TrimRight(line, "\n"))
		if len(s.history) > 1000 {
			s.history = s.history[1:]
		}
	}
	s.SyncDrops()
	lw := &limitedBuffer{}
	s.term = lw
	s.steps = 0
	code := s.run(line, lw, lw, nil)
	_, _ = out.Write(lw.Bytes())
	return code
}

func (s *Shell) errPrefix() string {
	if s.M.Busybox() {
		if s.Login {
			return "-ash"
		}
		return "sh"
	}
	if s.Login {
		return "-bash"
	}
	if bash51(s.M) {
		return "bash: line 1"
	}
	return "bash"
}

// bash51 reports a bash of 5.1 or later, which names the line in
// non-interactive errors.
func bash51(m Machine) bool {
	switch m.Distro.OSReleaseID {
	case "centos":
		return false
	case "ubuntu":
		return m.Distro.VersionID >= "22"
	}
	return true
}

func (s *Shell) run(line string, stdout, stderr io.Writer, stdin []byte) int {
	line, _ = s.hereDocs(line, stderr)
	if hasCompound(line) {
		return s.compoundRun(line, stdout, stderr, stdin)
	}
	return s.runSimple(line, stdout, stderr, stdin)
}

// runSimple runs a line of simple commands (no compound command in it).
func (s *Shell) runSimple(line string, stdout, stderr io.Writer, stdin []byte) int {
	// The structure is parsed first without expansion; each pipeline is
	// expanded just before it runs, so $? and $(...) see earlier effects.
	list, err := Parse(line, nil)
	if err != nil {
		tok := "newline"
		for _, t := range []string{";;", ";", "&&", "||", "|", "&"} {
			if strings.Contains(line, t) {
				tok = t
				break
			}
		}
		fmt.Fprintf(stderr, "%s: syntax error near unexpected token `%s'\n", s.errPrefix(), tok)
		s.lastExit = 2
		return 2
	}
	code := s.lastExit
	prev := OpSeq
	for _, pl := range list {
		run := prev == OpSeq || prev == OpBg || prev == "" ||
			(prev == OpAnd && code == 0) || (prev == OpOr && code != 0)
		if run {
			cur := pl
			if exp, err := Parse(pl.Src, s); err == nil && len(exp) == 1 {
				cur = exp[0]
			}
			if pl.Op == OpBg && s.Login && s.depth == 0 && s.calls == 0 {
				// An interactive bash names the job it started; the job's
				// status is not the line's.
				s.jobs++
				fmt.Fprintf(stderr, "[1] %d\n", 2000+int(s.M.Identity.Bytes("pid", 1)[0])*11+37*s.jobs)
				s.pipeline(cur, stdout, stderr, stdin)
				code = 0
			} else {
				code = s.pipeline(cur, stdout, stderr, stdin)
			}
			s.lastExit = code
		}
		if s.Exited || s.jump != "" {
			return code
		}
		prev = pl.Op
	}
	return code
}

func (s *Shell) pipeline(pl Pipeline, stdout, stderr io.Writer, stdin []byte) int {
	in := stdin
	code := 0
	for i, c := range pl.Cmds {
		last := i == len(pl.Cmds)-1
		var buf limitedBuffer
		var w io.Writer = &buf
		if last {
			w = stdout
		}
		code = s.simple(c, w, stderr, in)
		in = buf.Bytes()
		if s.Exited {
			break
		}
	}
	return code
}

func (s *Shell) simple(c Cmd, stdout, stderr io.Writer, stdin []byte) int {
	for _, a := range c.Assign {
		k, v, _ := strings.Cut(a, "=")
		if len(c.Args) == 0 {
			s.Env[k] = v
		}
	}
	out, errw := stdout, stderr
	var files []struct {
		path   string
		buf    *limitedBuffer
		append bool
	}
	for _, r := range c.Redirs {
		if code, ok := s.devNet(r, stderr); ok {
			if code != 0 {
				return code
			}
			if r.Fd == 0 {
				stdin = nil
			} else if r.Fd == 2 {
				errw = io.Discard
			} else {
				out = io.Discard
			}
			continue
		}
		switch r.Op {
		case "<<":
			stdin = s.hereDocInput(r.Target)
		case "<<<":
			stdin = []byte(r.Target + "\n")
		case "<>": // opened read-write: made when missing, read from when 0
			p := Clean(s.Cwd, r.Target)
			if _, err := s.FS.Stat(p); err != nil {
				if err := s.FS.WriteFile(p, nil, false); err != nil {
					fmt.Fprintf(stderr, "%s: %s: %s\n", s.errPrefix(), r.Target, err)
					return 1
				}
			}
		case "<":
			data, err := s.FS.ReadFile(Clean(s.Cwd, r.Target))
			if err != nil {
				fmt.Fprintf(stderr, "%s: %s: %s\n", s.errPrefix(), r.Target, err)
				return 1
			}
			stdin = data
		case ">&":
			if r.Target == "1" && r.Fd == 2 {
				errw = out
			} else if r.Target == "2" && r.Fd == 1 {
				out = errw
			}
		case ">", ">>":
			var w io.Writer
			if r.Target == "/dev/null" {
				w = io.Discard
			} else {
				p := Clean(s.Cwd, r.Target)
				if n, err := s.FS.Stat(p); err == nil && n.IsDir() {
					fmt.Fprintf(stderr, "%s: %s: Is a directory\n", s.errPrefix(), r.Target)
					return 1
				}
				if a := s.attrs[p]; strings.Contains(a, "i") || r.Op == ">" && strings.Contains(a, "a") {
					fmt.Fprintf(stderr, "%s: %s: Operation not permitted\n", s.errPrefix(), r.Target)
					return 1
				}
				if r.Op == ">" {
					if err := s.FS.WriteFile(p, nil, false); err != nil {
						fmt.Fprintf(stderr, "%s: %s: %s\n", s.errPrefix(), r.Target, err)
						return 1
					}
				}
				b := &limitedBuffer{}
				files = append(files, struct {
					path   string
					buf    *limitedBuffer
					append bool
				}{p, b, true})
				w = b
			}
			if r.Fd == 2 {
				errw = w
			} else if r.Fd == 1 {
				out = w
			}
		}
	}
	code := 0
	if c.Group != "" {
		code = s.subshell(c.Group, out, errw, stdin)
	} else if len(c.Args) > 0 {
		code = s.exec(c.Args, out, errw, stdin)
	}
	for _, f := range files {
		if err := s.FS.WriteFile(f.path, f.buf.Bytes(), f.append); err != nil {
			fmt.Fprintf(stderr, "%s: %s: %s\n", s.errPrefix(), f.path, err)
		}
	}
	return code
}

// exec runs one command by name or path.
func (s *Shell) exec(args []string, out, errw io.Writer, stdin []byte) int {
	name := args[0]
	if body, ok := s.funcs[name]; ok {
		return s.callFunc(body, args, out, errw, stdin)
	}
	if strings.Contains(name, "/") {
		p := Clean(s.Cwd, name)
		n, err := s.FS.Stat(p)
		if err != nil {
			fmt.Fprintf(errw, "%s: %s: No such file or directory\n", s.errPrefix(), name)
			return 127
		}
		if n.IsDir() {
			fmt.Fprintf(errw, "%s: %s: Is a directory\n", s.errPrefix(), name)
			return 126
		}
		base := path.Base(p)
		if _, ok := commands[base]; ok && (strings.HasPrefix(p, "/usr/") || strings.HasPrefix(p, "/bin/") || strings.HasPrefix(p, "/sbin/")) {
			return s.builtin(base, args, out, errw, stdin)
		}
		return s.execFile(name, n, args, out, errw)
	}
	if _, ok := commands[name]; ok {
		return s.builtin(name, args, out, errw, stdin)
	}
	if a, ok := s.Env["__alias_"+name]; ok {
		return s.run(a+" "+strings.Join(quoteAll(args[1:]), " "), out, errw, stdin)
	}
	fmt.Fprintf(errw, "%s: %s: %s\n", s.errPrefix(), name, s.notFound())
	return 127
}

func (s *Shell) notFound() string {
	if s.M.Busybox() {
		return "not found"
	}
	return "command not found"
}

func quoteAll(a []string) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = "'" + strings.ReplaceAll(x, "'", `'\''`) + "'"
	}
	return out
}

// execFile "runs" a file of the VFS: scripts are interpreted line by line,
// binaries for another architecture fail as they would, others do nothing.
func (s *Shell) execFile(name string, n *Node, args []string, out, errw io.Writer) int {
	if n.Mode&0o111 == 0 {
		fmt.Fprintf(errw, "%s: %s: Permission denied\n", s.errPrefix(), name)
		return 126
	}
	data := n.Content()
	if len(data) >= 20 && string(data[:4]) == "\x7fELF" {
		machine := int(data[18]) | int(data[19])<<8
		if data[5] == 2 {
			machine = int(data[18])<<8 | int(data[19])
		}
		if machine != 62 { // EM_X86_64
			fmt.Fprintf(errw, "%s: %s: cannot execute binary file: Exec format error\n", s.errPrefix(), name)
			return 126
		}
		return 0
	}
	return s.script(string(data), out, errw)
}

// script interprets a shell script from the VFS, bounded in lines.
func (s *Shell) script(src string, out, errw io.Writer) int {
	if s.depth >= maxDepth {
		return 0
	}
	s.depth++
	defer func() { s.depth-- }()
	code := 0
	chunk := ""
	for i, line := range strings.Split(src, "\n") {
		if i >= 500 || s.Exited {
			break
		}
		if chunk == "" && (strings.HasPrefix(line, "#!") || strings.TrimSpace(line) == "") {
			continue
		}
		// A here-document or compound command spans lines.
		if chunk += line; Incomplete(chunk) {
			chunk += "\n"
			continue
		}
		code = s.run(chunk, out, errw, nil)
		chunk = ""
	}
	if chunk != "" && !s.Exited {
		code = s.run(chunk, out, errw, nil)
	}
	return code
}

func modeString(m fs.FileMode) string {
	b := []byte("----------")
	switch {
	case m&fs.ModeDir != 0:
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	if m&fs.ModeSticky != 0 {
		if b[9] == 'x' {
			b[9] = 't'
		} else {
			b[9] = 'T'
		}
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if !strings.HasPrefix(k, "__alias_") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// devNet handles a redirection to bash's /dev/tcp/HOST/PORT or
// /dev/udp/HOST/PORT, a dropper's way to fetch without wget: reported as
// a fetch, refused as by a host that reaches nothing (bash's messages),
// a UDP one "connected" (UDP needs no answer). BusyBox's ash has no
// /dev/tcp: its own errors. ok is false for any other target.
func (s *Shell) devNet(r Redir, stderr io.Writer) (code int, ok bool) {
	proto, rest, found := strings.Cut(strings.TrimPrefix(r.Target, "/dev/"), "/")
	if !strings.HasPrefix(r.Target, "/dev/") || !found || (proto != "tcp" && proto != "udp") || r.Op == "<<<" || r.Op == ">&" {
		return 0, false
	}
	host, port, _ := strings.Cut(rest, "/")
	s.fetch("/dev/"+proto, proto+"://"+net.JoinHostPort(host, port))
	if s.M.Busybox() {
		if r.Op == "<" {
			fmt.Fprintf(stderr, "sh: can't open %s: no such file\n", r.Target)
		} else {
			fmt.Fprintf(stderr, "sh: can't create %s: nonexistent directory\n", r.Target)
		}
		return 1, true
	}
	name, prefix := "bash", s.errPrefix() // bash's connect error has no line number
	if s.Login {
		name = "-bash"
	}
	if _, err := netip.ParseAddr(host); err != nil {
		fmt.Fprintf(stderr, "%s: %s: Name or service not known\n%s: %s: Invalid argument\n", prefix, host, prefix, r.Target)
		return 1, true
	}
	if proto == "udp" {
		return 0, true
	}
	fmt.Fprintf(stderr, "%s: connect: Connection refused\n%s: %s: Connection refused\n", name, prefix, r.Target)
	return 1, true
}

// onTerminal reports whether out is the login terminal (not a pipe, a file
// or a substitution): ls, lscpu and curl format differently for it.
func (s *Shell) onTerminal(out io.Writer) bool {
	return s.Login && out == s.term
}
