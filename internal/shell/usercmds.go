package shell

import (
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Commands the bot-session corpus (testdata/botsessions) showed missing or
// partial, each with GNU grep's, coreutils', procps', e2fsprogs' and
// shadow's messages and exit codes on Debian.

func init() {
	maps.Copy(commands, map[string]cmdFunc{
		"grep": cmdGrep, "egrep": cmdGrep, "fgrep": cmdGrep, "printenv": cmdPrintenv, "getconf": cmdGetconf,
		"enable": cmdEnable, "useradd": cmdUseradd, "adduser": cmdUseradd, "lsattr": cmdLsattr, "chattr": cmdChattr,
		"pkill": cmdPkill, "killall": cmdPkill, "ln": cmdLn, "passwd": cmdPasswd,
		"return": cmdReturn, ":": cmdNop, "wc": cmdWc, "cut": cmdCut, "groups": cmdGroups, "df": cmdDf, "stat": cmdStat, "find": cmdFind,
	})
}

// twoOperands splits a coreutils command's options from its operands and
// gives its usage error (msg) when there are fewer than two.
func twoOperands(errw io.Writer, args []string, msg string) (map[byte]bool, []string, bool) {
	f, rest := flags(args[1:])
	if len(rest) < 2 {
		tryHelp(errw, strings.TrimPrefix(path.Base(args[0]), "busybox-"), msg)
		return f, rest, false
	}
	return f, rest, true
}

// tryHelp prints a coreutils usage error: the message, then the pointer
// to --help.
func tryHelp(errw io.Writer, tool, msg string) {
	fmt.Fprintf(errw, "%s: %s\nTry '%s --help' for more information.\n", tool, msg, tool)
}

// maxGrepPattern bounds a pattern compiled from attacker input.
const maxGrepPattern = 4096

// cmdGrep is GNU grep for the options one-liners use: -E -F -i -v -c -q
// -o -n -w -x -s -h -H -e PAT, BRE by default.
func cmdGrep(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	var pats []string
	var files []string
	opt := map[byte]bool{}
	switch path.Base(args[0]) {
	case "egrep":
		opt['E'] = true
	case "fgrep":
		opt['F'] = true
	}
	done := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case done || a == "-" || !strings.HasPrefix(a, "-"):
			files = append(files, a)
		case a == "--":
			done = true
		case strings.HasPrefix(a, "--"):
			switch a {
			case "--count":
				opt['c'] = true
			case "--quiet", "--silent":
				opt['q'] = true
			case "--invert-match":
				opt['v'] = true
			case "--ignore-case":
				opt['i'] = true
			case "--only-matching":
				opt['o'] = true
			case "--extended-regexp":
				opt['E'] = true
			}
		default:
			for j := 1; j < len(a); j++ {
				c := a[j]
				if c == 'e' || c == 'f' || c == 'm' || c == 'A' || c == 'B' || c == 'C' {
					v := a[j+1:]
					if v == "" && i+1 < len(args) {
						i++
						v = args[i]
					}
					if c == 'e' {
						pats = append(pats, v)
					}
					break
				}
				opt[c] = true
			}
		}
	}
	if len(pats) == 0 {
		if len(files) == 0 {
			fmt.Fprintf(errw, "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n")
			return 2
		}
		pats, files = strings.Split(files[0], "\n"), files[1:]
	}
	var exprs []string
	for _, p := range pats {
		switch {
		case len(p) > maxGrepPattern:
			fmt.Fprintf(errw, "grep: memory exhausted\n")
			return 2
		case opt['F']:
			p = regexp.QuoteMeta(p)
		case !opt['E']:
			p = bre(p)
		}
		if opt['w'] {
			p = `(?:^|\W)(` + p + `)(?:\W|$)`
		}
		if opt['x'] {
			p = `^(?:` + p + `)$`
		}
		exprs = append(exprs, "(?:"+p+")")
	}
	expr := strings.Join(exprs, "|")
	if opt['i'] {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		fmt.Fprintf(errw, "grep: Unmatched ( or \\(\n")
		return 2
	}
	recursive := opt['r'] || opt['R']
	named := (len(files) > 1 || opt['H'] || recursive) && !opt['h']
	if len(files) == 0 && recursive {
		files = []string{"."}
	}
	if recursive {
		files = s.walkFiles(files)
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	total, code := 0, 0
	for _, f := range files {
		data := in
		if f != "-" {
			p := s.path(f)
			n, err := s.FS.Stat(p)
			switch {
			case err != nil:
				if !opt['s'] {
					fmt.Fprintf(errw, "grep: %s: %s\n", f, err)
				}
				code = 2
				continue
			case n.IsDir():
				if !opt['s'] {
					fmt.Fprintf(errw, "grep: %s: Is a directory\n", f)
				}
				continue
			}
			data, _ = s.FS.ReadFile(p)
		}
		name := f
		if f == "-" {
			name = "(standard input)"
		}
		n := 0
		for i, l := range lines(data) {
			line := strings.TrimSuffix(l, "\n")
			if re.MatchString(line) == opt['v'] {
				continue
			}
			n++
			if opt['q'] {
				return 0
			}
			if opt['c'] || opt['l'] {
				continue
			}
			prefix := ""
			if named {
				prefix = name + ":"
			}
			if opt['n'] {
				prefix += strconv.Itoa(i+1) + ":"
			}
			if opt['o'] && !opt['v'] {
				for _, m := range re.FindAllString(line, -1) {
					if m != "" {
						io.WriteString(out, prefix+m+"\n")
					}
				}
				continue
			}
			io.WriteString(out, prefix+line+"\n")
		}
		switch {
		case opt['l'] && n > 0:
			io.WriteString(out, name+"\n")
		case opt['c'] && named:
			fmt.Fprintf(out, "%s:%d\n", name, n)
		case opt['c']:
			fmt.Fprintf(out, "%d\n", n)
		}
		total += n
	}
	if code != 0 && !(opt['s'] && total > 0) {
		return code
	}
	if total == 0 {
		return 1
	}
	return 0
}

// cmdPrintenv prints the named variables (exit 1 when one is unset) or
// the whole environment.
func cmdPrintenv(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	if len(args) < 2 {
		return cmdEnv(s, args[:1], out, errw, in)
	}
	code := 0
	for _, k := range args[1:] {
		v, ok := s.Env[k]
		if !ok || strings.HasPrefix(k, "__") {
			code = 1
			continue
		}
		io.WriteString(out, v+"\n")
	}
	return code
}

func cmdGetconf(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	if len(args) < 2 {
		fmt.Fprintf(errw, "Usage: getconf [-v specification] variable_name [pathname]\n       getconf -a [pathname]\n")
		return 1
	}
	switch args[1] {
	case "LONG_BIT":
		io.WriteString(out, "64\n")
	case "_NPROCESSORS_ONLN", "_NPROCESSORS_CONF":
		fmt.Fprintf(out, "%d\n", s.M.hw().cpus)
	case "PAGESIZE", "PAGE_SIZE":
		io.WriteString(out, "4096\n")
	case "CLK_TCK":
		io.WriteString(out, "100\n")
	case "GNU_LIBC_VERSION":
		io.WriteString(out, "glibc 2.36\n")
	default:
		fmt.Fprintf(errw, "getconf: Unrecognized variable `%s'\n", args[1])
		return 1
	}
	return 0
}

// bashBuiltins are what `enable` lists, in its order (bash 5.2).
var bashBuiltins = strings.Fields(". : [ alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt source suspend test times trap true type typeset ulimit umask unalias unset wait")

func cmdEnable(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	if s.M.Busybox() {
		fmt.Fprintf(errw, "%s: enable: not found\n", s.errPrefix())
		return 127
	}
	if len(args) > 1 {
		return 0
	}
	for _, b := range bashBuiltins {
		io.WriteString(out, "enable "+b+"\n")
	}
	return 0
}

// cmdUseradd adds an account to /etc/passwd, /etc/shadow and /etc/group
// (the next free uid from 1000), with -m its home from nothing.
func cmdUseradd(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	shell, home, mk := "/bin/sh", "", false
	var name string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "-m", "--create-home":
			mk = true
		case "-s", "-d", "-g", "-G", "-c", "-u", "-p", "-k", "-e":
			if i+1 < len(args) {
				switch a {
				case "-s":
					shell = args[i+1]
				case "-d":
					home = args[i+1]
				}
				i++
			}
		default:
			if !strings.HasPrefix(a, "-") {
				name = a
			}
		}
	}
	cmd := path.Base(args[0])
	if name == "" {
		fmt.Fprintf(errw, "Usage: %s [options] LOGIN\n", cmd)
		return 2
	}
	if s.UID != 0 {
		fmt.Fprintf(errw, "%s: Permission denied.\n%s: cannot lock /etc/passwd; try again later.\n", cmd, cmd)
		return 1
	}
	passwd, _ := s.FS.ReadFile("/etc/passwd")
	uid := 1000
	for _, l := range strings.Split(string(passwd), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 3 {
			continue
		}
		if f[0] == name {
			fmt.Fprintf(errw, "%s: user '%s' already exists\n", cmd, name)
			return 9
		}
		if n, err := strconv.Atoi(f[2]); err == nil && n >= uid && n < 60000 {
			uid = n + 1
		}
	}
	if home == "" {
		home = "/home/" + name
	}
	_ = s.FS.WriteFile("/etc/passwd", fmt.Appendf(nil, "%s:x:%d:%d::%s:%s\n", name, uid, uid, home, shell), true)
	_ = s.FS.WriteFile("/etc/shadow", fmt.Appendf(nil, "%s:!:%d:0:99999:7:::\n", name, 20430), true)
	_ = s.FS.WriteFile("/etc/group", fmt.Appendf(nil, "%s:x:%d:\n", name, uid), true)
	if mk {
		_ = s.FS.Mkdir(home, true)
		_ = s.FS.Chmod(home, fs.ModeDir|0o755)
	}
	return 0
}

// attrs are the ext4 flags chattr set on a path in this session; i
// (immutable) and a (append only) are enforced by rm, mv and writes.
func (s *Shell) attr(p string) string {
	return s.attrs[p]
}

func (s *Shell) immutable(p string) bool {
	return strings.ContainsAny(s.attrs[p], "ia")
}

const maxAttrs = 1000

func cmdChattr(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	var ops []string
	var files []string
	recursive := false
	for _, a := range args[1:] {
		switch {
		case a == "-R":
			recursive = true
		case len(a) > 1 && (a[0] == '+' || a[0] == '-' || a[0] == '='):
			ops = append(ops, a)
		default:
			files = append(files, a)
		}
	}
	_ = recursive
	if len(ops) == 0 || len(files) == 0 {
		fmt.Fprintf(errw, "Usage: chattr [-RVf] [-+=aAcCdDeijPsStTuFx] [-p project] [-v version] files...\n")
		return 1
	}
	code := 0
	for _, f := range files {
		p := s.path(f)
		if _, err := s.FS.Stat(p); err != nil {
			fmt.Fprintf(errw, "chattr: No such file or directory while trying to stat %s\n", f)
			code = 1
			continue
		}
		if s.UID != 0 {
			fmt.Fprintf(errw, "chattr: Operation not permitted while setting flags on %s\n", f)
			code = 1
			continue
		}
		cur := s.attrs[p]
		for _, op := range ops {
			for _, c := range op[1:] {
				switch op[0] {
				case '+':
					if !strings.ContainsRune(cur, c) {
						cur += string(c)
					}
				case '-':
					cur = strings.ReplaceAll(cur, string(c), "")
				case '=':
					cur = op[1:]
				}
			}
		}
		if s.attrs == nil {
			s.attrs = map[string]string{}
		}
		if cur == "" {
			delete(s.attrs, p)
		} else if len(s.attrs) < maxAttrs {
			s.attrs[p] = cur
		}
	}
	return code
}

// lsattrOrder is e2fsprogs' flag column order.
const lsattrOrder = "suSDiadAcEjItTeCxFNPVm"

func cmdLsattr(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	_, files := flags(args[1:])
	if len(files) == 0 {
		files = []string{"."}
	}
	code := 0
	for _, f := range files {
		p := s.path(f)
		n, err := s.FS.Stat(p)
		if err != nil {
			fmt.Fprintf(errw, "lsattr: No such file or directory while trying to stat %s\n", f)
			code = 1
			continue
		}
		list := []string{f}
		if n.IsDir() {
			list = nil
			kids, _ := s.FS.ReadDir(p)
			for _, k := range kids {
				if !strings.HasPrefix(k.Name, ".") {
					list = append(list, strings.TrimSuffix(f, "/")+"/"+k.Name)
				}
			}
		}
		for _, l := range list {
			fl := s.attr(s.path(l)) + "e" // extents, as ext4 sets on every file
			var b strings.Builder
			for _, c := range lsattrOrder {
				if strings.ContainsRune(fl, c) {
					b.WriteRune(c)
				} else {
					b.WriteByte('-')
				}
			}
			fmt.Fprintf(out, "%s %s\n", b.String(), l)
		}
	}
	return code
}

// cmdPkill is pkill and killall: no emulated process is one a bot wants
// dead, so nothing matches (pkill exits 1 silently, killall says so).
func cmdPkill(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	_, rest := flags(args[1:])
	if len(rest) == 0 {
		if path.Base(args[0]) == "killall" {
			fmt.Fprintf(errw, "Usage: killall [OPTION]... [--] NAME...\n")
		} else {
			fmt.Fprintf(errw, "pkill: no matching criteria specified\nTry `pkill --help' for more information.\n")
		}
		return 2
	}
	for _, p := range s.procs() {
		for _, pat := range rest {
			if strings.Contains(p.cmd, pat) && path.Base(args[0]) == "pkill" && slices.Contains(args[1:], "-f") {
				return 0
			}
		}
	}
	if path.Base(args[0]) == "killall" {
		for _, n := range rest {
			fmt.Fprintf(errw, "%s: no process found\n", n)
		}
	}
	return 1
}

// cmdLn makes symbolic links (-s); hard links are copies.
func cmdLn(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	f, rest, ok := twoOperands(errw, args, "missing file operand")
	if !ok {
		return 1
	}
	target, link := rest[0], s.path(rest[1])
	if n, err := s.FS.Stat(link); err == nil && n.IsDir() && !f['n'] {
		link = path.Join(link, path.Base(target))
	}
	if _, err := s.FS.Lstat(link); err == nil {
		if !f['f'] {
			fmt.Fprintf(errw, "ln: failed to create symbolic link '%s': File exists\n", rest[1])
			return 1
		}
		if s.immutable(link) {
			fmt.Fprintf(errw, "ln: cannot remove '%s': Operation not permitted\n", rest[1])
			return 1
		}
		_ = s.FS.Remove(link, false)
	}
	if f['s'] {
		s.FS.Add(link, &Node{Mode: fs.ModeSymlink | 0o777, Link: target, ModTime: s.FS.now()})
		return 0
	}
	data, err := s.FS.ReadFile(s.path(target))
	if err != nil {
		fmt.Fprintf(errw, "ln: failed to access '%s': No such file or directory\n", target)
		return 1
	}
	_ = s.FS.WriteFile(link, data, false)
	return 0
}

// cmdPasswd changes a password: from a terminal it cannot (the decky has
// none to prompt on), from a pipe it reads the new one twice, as
// passwd(1) through PAM does.
func cmdPasswd(_ *Shell, _ []string, out, errw io.Writer, in []byte) int {
	ls := lines(in)
	if len(ls) >= 2 && ls[0] == ls[1] && strings.TrimSpace(ls[0]) != "" {
		io.WriteString(out, "New password: Retype new password: passwd: password updated successfully\n")
		return 0
	}
	if len(ls) >= 2 {
		io.WriteString(out, "New password: Retype new password: Sorry, passwords do not match.\n")
		fmt.Fprintf(errw, "passwd: Authentication token manipulation error\npasswd: password unchanged\n")
		return 10
	}
	fmt.Fprintf(errw, "passwd: Authentication token manipulation error\npasswd: password unchanged\n")
	return 10
}

// cmdWc counts lines, words and bytes: the file's name after its counts,
// a total line for several files, columns as wide as the largest count.
func cmdWc(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	f, files := flags(args[1:])
	if !f['l'] && !f['w'] && !f['c'] && !f['m'] {
		f['l'], f['w'], f['c'] = true, true, true
	}
	type count struct {
		n    [3]int
		name string
	}
	var rows []count
	code := 0
	add := func(data []byte, name string) {
		rows = append(rows, count{[3]int{strings.Count(string(data), "\n"), len(strings.Fields(string(data))), len(data)}, name})
	}
	if len(files) == 0 {
		add(in, "")
	}
	for _, name := range files {
		p := s.path(name)
		if n, err := s.FS.Stat(p); err != nil {
			fmt.Fprintf(errw, "wc: %s: No such file or directory\n", name)
			code = 1
			continue
		} else if n.IsDir() {
			fmt.Fprintf(errw, "wc: %s: Is a directory\n", name)
			rows = append(rows, count{name: name})
			code = 1
			continue
		}
		data, _ := s.FS.ReadFile(p)
		add(data, name)
	}
	if len(files) > 1 {
		var t count
		for _, r := range rows {
			for i := range t.n {
				t.n[i] += r.n[i]
			}
		}
		t.name = "total"
		rows = append(rows, t)
	}
	sel := []bool{f['l'], f['w'], f['c'] || f['m']}
	nsel := 0
	for _, on := range sel {
		if on {
			nsel++
		}
	}
	// coreutils: one count alone is unpadded; otherwise the width of the
	// largest byte count (at least 7 when reading a pipe).
	width := 1
	if nsel > 1 || len(rows) > 1 {
		for _, r := range rows {
			width = max(width, len(strconv.Itoa(r.n[2])))
		}
		if len(files) == 0 {
			width = max(width, 7)
		}
	}
	for _, r := range rows {
		var cols []string
		for i, on := range sel {
			if on {
				cols = append(cols, fmt.Sprintf("%*d", width, r.n[i]))
			}
		}
		line := strings.Join(cols, " ")
		if r.name != "" {
			line += " " + r.name
		}
		io.WriteString(out, line+"\n")
	}
	return code
}

// cutList parses cut's LIST (N, N-M, N-, -M, comma separated) into a
// predicate on 1-based positions.
func cutList(l string) (func(int) bool, bool) {
	type rng struct{ lo, hi int }
	var rs []rng
	for _, part := range strings.Split(l, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		switch {
		case !isRange && errA == nil && a > 0:
			rs = append(rs, rng{a, a})
		case isRange && lo == "" && errB == nil && b > 0:
			rs = append(rs, rng{1, b})
		case isRange && hi == "" && errA == nil && a > 0:
			rs = append(rs, rng{a, 1 << 30})
		case isRange && errA == nil && errB == nil && a > 0 && b >= a:
			rs = append(rs, rng{a, b})
		default:
			return nil, false
		}
	}
	return func(i int) bool {
		for _, r := range rs {
			if i >= r.lo && i <= r.hi {
				return true
			}
		}
		return false
	}, true
}

// cmdCut is cut -f LIST [-d D] [-s] and cut -c/-b LIST.
func cmdCut(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	delim, list, mode, only := "\t", "", byte(0), false
	var files []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			files = append(files, a)
			continue
		}
		switch a[1] {
		case 'd', 'f', 'c', 'b':
			v := a[2:]
			if v == "" && i+1 < len(args) {
				i++
				v = args[i]
			}
			if a[1] == 'd' {
				delim = v
			} else {
				mode, list = a[1], v
			}
		case 's':
			only = true
		}
	}
	if mode == 0 {
		tryHelp(errw, "cut", "you must specify a list of bytes, characters, or fields")
		return 1
	}
	if len(delim) != 1 {
		tryHelp(errw, "cut", "the delimiter must be a single character")
		return 1
	}
	keep, ok := cutList(list)
	if !ok {
		tryHelp(errw, "cut", "invalid field range")
		return 1
	}
	data, code := s.inputs(files, in, "cut", errw)
	for _, l := range lines(data) {
		l = strings.TrimSuffix(l, "\n")
		var b strings.Builder
		if mode == 'f' {
			parts := strings.Split(l, delim)
			if len(parts) == 1 {
				if !only {
					io.WriteString(out, l+"\n")
				}
				continue
			}
			var kept []string
			for i, p := range parts {
				if keep(i + 1) {
					kept = append(kept, p)
				}
			}
			b.WriteString(strings.Join(kept, delim))
		} else {
			for i := 0; i < len(l); i++ {
				if keep(i + 1) {
					b.WriteByte(l[i])
				}
			}
		}
		io.WriteString(out, b.String()+"\n")
	}
	return code
}

// cmdGroups names the groups of a user from /etc/group (the primary one
// first).
func cmdGroups(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	user := s.User
	if len(args) > 1 {
		user = args[1]
	}
	passwd, _ := s.FS.ReadFile("/etc/passwd")
	gid := -1
	for _, l := range strings.Split(string(passwd), "\n") {
		if p := strings.Split(l, ":"); len(p) > 3 && p[0] == user {
			gid, _ = strconv.Atoi(p[3])
		}
	}
	if gid < 0 {
		fmt.Fprintf(errw, "groups: '%s': no such user\n", user)
		return 1
	}
	names := []string{s.idNames("/etc/group")[gid]}
	group, _ := s.FS.ReadFile("/etc/group")
	for _, l := range strings.Split(string(group), "\n") {
		p := strings.Split(l, ":")
		if len(p) > 3 && slices.Contains(strings.Split(p[3], ","), user) && p[0] != names[0] {
			names = append(names, p[0])
		}
	}
	line := strings.Join(names, " ")
	if len(args) > 1 {
		line = user + " : " + line
	}
	io.WriteString(out, line+"\n")
	return 0
}

// dfRow is one mounted file system as df shows it, sizes in KiB.
type dfRow struct {
	src               string
	size, used, avail int64
	mount             string
}

func (s *Shell) dfRows() []dfRow {
	mem := s.M.hw().memKB
	return []dfRow{
		{"udev", mem / 2, 0, mem / 2, "/dev"},
		{"tmpfs", mem / 10, 1204, mem/10 - 1204, "/run"},
		{"/dev/sda1", 50620216, 6350612, 41664220, "/"},
		{"tmpfs", mem / 2, 0, mem / 2, "/dev/shm"},
	}
}

// cmdDf is coreutils df: every file system, or those holding the named
// files; columns as wide as their contents (the source at least 14, -h
// sizes at least 5), -h rounded up.
func cmdDf(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	f, files := flags(args[1:])
	all := s.dfRows()
	rows := all
	code := 0
	if len(files) > 0 {
		rows = nil
		for _, name := range files {
			p := s.path(name)
			if _, err := s.FS.Stat(p); err != nil {
				fmt.Fprintf(errw, "df: %s: No such file or directory\n", name)
				code = 1
				continue
			}
			best := all[2]
			for _, r := range all {
				if (p == r.mount || strings.HasPrefix(p, r.mount+"/")) && len(r.mount) > len(best.mount) {
					best = r
				}
			}
			rows = append(rows, best)
		}
		if len(rows) == 0 {
			return code
		}
	}
	head := []string{"Filesystem", "1K-blocks", "Used", "Available", "Use%", "Mounted on"}
	num := func(kb int64) string { return strconv.FormatInt(kb, 10) }
	minW := 0
	if f['h'] {
		head[1], head[3] = "Size", "Avail"
		num = func(kb int64) string {
			if kb == 0 {
				return "0"
			}
			return humanCeil(float64(kb))
		}
		minW = 5
	}
	table := [][]string{head}
	for _, r := range rows {
		pct := "-"
		if r.size > 0 {
			pct = fmt.Sprintf("%d%%", (r.used*100+r.used+r.avail-1)/(r.used+r.avail))
		}
		table = append(table, []string{r.src, num(r.size), num(r.used), num(r.avail), pct, r.mount})
	}
	w := []int{14, minW, minW, minW, 4}
	for _, row := range table {
		for i := range w {
			w[i] = max(w[i], len(row[i]))
		}
	}
	for _, row := range table {
		fmt.Fprintf(out, "%-*s %*s %*s %*s %*s %s\n", w[0], row[0], w[1], row[1], w[2], row[2], w[3], row[3], w[4], row[4], row[5])
	}
	return code
}

// cmdStat is GNU stat: the default report, or -c/--format/--printf with
// %a %A %U %G %u %g %n %s %F %y %Y %i %h.
func cmdStat(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	format, newline := "", true
	var files []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-c" || a == "--printf") && i+1 < len(args):
			format, newline = args[i+1], a == "-c"
			i++
		case strings.HasPrefix(a, "--format="):
			format = strings.TrimPrefix(a, "--format=")
		case strings.HasPrefix(a, "--printf="):
			format, newline = strings.TrimPrefix(a, "--printf="), false
		case strings.HasPrefix(a, "-") && len(a) > 1:
		default:
			files = append(files, a)
		}
	}
	if len(files) == 0 {
		tryHelp(errw, "stat", "missing operand")
		return 1
	}
	users, groups := s.idNames("/etc/passwd"), s.idNames("/etc/group")
	code := 0
	for _, a := range files {
		n, err := s.FS.Lstat(s.path(a))
		if err != nil {
			fmt.Fprintf(errw, "stat: cannot statx '%s': %s\n", a, err)
			code = 1
			continue
		}
		kind := "regular file"
		switch {
		case n.IsDir():
			kind = "directory"
		case n.Mode&fs.ModeSymlink != 0:
			kind = "symbolic link"
		case n.Size() == 0 && n.Gen == nil:
			kind = "regular empty file"
		}
		if format == "" {
			fmt.Fprintf(out, "  File: %s\n  Size: %-15d Blocks: %-10d IO Block: 4096   %s\nAccess: (%04o/%s)  Uid: (%5d/%8s)   Gid: (%5d/%8s)\nModify: %s\n",
				a, n.Size(), blocksKB(n)*2, kind, n.Mode&fs.ModePerm, modeString(n.Mode), n.UID, users[n.UID], n.GID, groups[n.GID], n.ModTime.Format("2006-01-02 15:04:05.000000000 -0700"))
			continue
		}
		var b strings.Builder
		for i := 0; i < len(format); i++ {
			c := format[i]
			if c == '\\' && !newline && i+1 < len(format) {
				if e, ok := map[byte]string{'n': "\n", 't': "\t", '\\': "\\"}[format[i+1]]; ok {
					b.WriteString(e)
					i++
					continue
				}
			}
			if c != '%' || i+1 >= len(format) {
				b.WriteByte(c)
				continue
			}
			i++
			switch format[i] {
			case 'a':
				fmt.Fprintf(&b, "%o", statPerm(n.Mode))
			case 'A':
				b.WriteString(modeString(n.Mode))
			case 'U':
				b.WriteString(users[n.UID])
			case 'G':
				b.WriteString(groups[n.GID])
			case 'u':
				b.WriteString(strconv.Itoa(n.UID))
			case 'g':
				b.WriteString(strconv.Itoa(n.GID))
			case 'n':
				b.WriteString(a)
			case 's':
				b.WriteString(strconv.FormatInt(n.Size(), 10))
			case 'F':
				b.WriteString(kind)
			case 'y':
				b.WriteString(n.ModTime.Format("2006-01-02 15:04:05.000000000 -0700"))
			case 'Y':
				b.WriteString(strconv.FormatInt(n.ModTime.Unix(), 10))
			case 'h':
				b.WriteString("1")
			case '%':
				b.WriteByte('%')
			default:
				b.WriteByte('?')
			}
		}
		if newline {
			b.WriteByte('\n')
		}
		io.WriteString(out, b.String())
	}
	return code
}

// statPerm is the permission bits as %a shows them, sticky bit included.
func statPerm(m fs.FileMode) uint32 {
	p := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

// maxFind bounds what one find walks.
const maxFind = 20000

// cmdFind walks the file system for -name/-iname GLOB, -type f|d|l,
// -maxdepth/-mindepth N (a subset of GNU find; other tests are ignored,
// actions other than printing are not run).
func cmdFind(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	var starts []string
	i := 1
	for ; i < len(args) && !strings.HasPrefix(args[i], "-") && args[i] != "!" && args[i] != "("; i++ {
		starts = append(starts, args[i])
	}
	if len(starts) == 0 {
		starts = []string{"."}
	}
	maxDepth, minDepth := 1<<30, 0
	var tests []func(name string, n *Node) bool
	for ; i < len(args); i++ {
		a := args[i]
		val := ""
		if i+1 < len(args) {
			val = args[i+1]
		}
		switch a {
		case "-maxdepth", "-mindepth":
			d, err := strconv.Atoi(val)
			if err != nil || d < 0 {
				fmt.Fprintf(errw, "find: Expected a positive decimal integer argument to %s, but got ‘%s’\n", a, val)
				return 1
			}
			if a == "-maxdepth" {
				maxDepth = d
			} else {
				minDepth = d
			}
			i++
		case "-name", "-iname":
			pat := val
			fold := a == "-iname"
			tests = append(tests, func(name string, _ *Node) bool {
				if fold {
					return globMatch(strings.ToLower(pat), strings.ToLower(name))
				}
				return globMatch(pat, name)
			})
			i++
		case "-type":
			want := val
			tests = append(tests, func(_ string, n *Node) bool {
				switch want {
				case "d":
					return n.IsDir()
				case "l":
					return n.Mode&fs.ModeSymlink != 0
				case "f":
					return !n.IsDir() && n.Mode&(fs.ModeSymlink|fs.ModeDevice) == 0
				}
				return false
			})
			i++
		case "-perm", "-user", "-group", "-size", "-mtime", "-newer", "-path", "-exec", "-execdir":
			if a == "-exec" || a == "-execdir" {
				for i < len(args) && args[i] != ";" && args[i] != "+" {
					i++
				}
				continue
			}
			i++
		}
	}
	code, seen := 0, 0
	var walk func(p, shown string, depth int)
	walk = func(p, shown string, depth int) {
		if seen++; seen > maxFind {
			return
		}
		n, err := s.FS.Lstat(p)
		if err != nil {
			fmt.Fprintf(errw, "find: ‘%s’: No such file or directory\n", shown)
			code = 1
			return
		}
		ok := depth >= minDepth
		for _, t := range tests {
			ok = ok && t(path.Base(p), n)
		}
		if ok {
			io.WriteString(out, shown+"\n")
		}
		if !n.IsDir() || depth >= maxDepth {
			return
		}
		kids, _ := s.FS.ReadDir(p)
		for _, k := range kids {
			walk(path.Join(p, k.Name), strings.TrimSuffix(shown, "/")+"/"+k.Name, depth+1)
		}
	}
	for _, st := range starts {
		walk(s.path(st), st, 0)
	}
	return code
}

// walkFiles expands directories among names into the files under them,
// in name order, as grep -r reads them (at most maxFind).
func (s *Shell) walkFiles(names []string) []string {
	var out []string
	var walk func(shown string, depth int)
	walk = func(shown string, depth int) {
		if len(out) >= maxFind || depth > 40 {
			return
		}
		p := s.path(shown)
		n, err := s.FS.Lstat(p)
		if err != nil || !n.IsDir() {
			if err != nil || n.Mode&fs.ModeSymlink == 0 || depth == 0 {
				out = append(out, shown)
			}
			return
		}
		if strings.HasPrefix(p, "/proc") || strings.HasPrefix(p, "/sys") || strings.HasPrefix(p, "/dev") {
			return
		}
		kids, _ := s.FS.ReadDir(p)
		for _, k := range kids {
			walk(strings.TrimSuffix(shown, "/")+"/"+k.Name, depth+1)
		}
	}
	for _, n := range names {
		walk(n, 0)
	}
	return out
}
