package shell

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// cmdFunc is one emulated program.
type cmdFunc func(s *Shell, args []string, out, errw io.Writer, in []byte) int

var commands map[string]cmdFunc

// busyboxApplets are the applets `busybox` answers to; others give
// "applet not found".
var busyboxApplets = map[string]bool{}

func init() {
	commands = map[string]cmdFunc{
		"echo": cmdEcho, "printf": cmdPrintf, "cat": cmdCat, "ls": cmdLs, "cd": cmdCd, "pwd": cmdPwd,
		"id": cmdID, "whoami": cmdWhoami, "hostname": cmdHostname, "uname": cmdUname, "ps": cmdPs,
		"free": cmdFree, "w": cmdW, "uptime": cmdUptime, "chmod": cmdChmod, "chattr": cmdNop, "rm": cmdRm,
		"mkdir": cmdMkdir, "touch": cmdTouch, "mv": cmdMv, "cp": cmdCp, "history": cmdHistory,
		"export": cmdExport, "env": cmdEnv, "printenv": cmdEnv, "which": cmdWhich, "crontab": cmdCrontab,
		"nproc": cmdNproc, "lscpu": cmdLscpu, "ifconfig": cmdIfconfig, "ip": cmdIP, "netstat": cmdNetstat,
		"top": cmdTop, "busybox": cmdBusybox, "wget": cmdWget, "curl": cmdCurl, "tftp": cmdTftp,
		"ftpget": cmdTftp, "sh": cmdSh, "bash": cmdSh, "ash": cmdSh, "dash": cmdSh, "exit": cmdExit,
		"logout": cmdExit, "true": cmdNop, "false": cmdFalse, "sleep": cmdNop, "kill": cmdNop,
		"pkill": cmdNop, "killall": cmdNop, "unset": cmdUnset, "set": cmdNop, "alias": cmdAlias,
		"unalias": cmdNop, "source": cmdSource, ".": cmdSource, "grep": cmdGrep, "head": cmdHead,
		"tail": cmdTail, "wc": cmdWc, "base64": cmdBase64, "md5sum": cmdSum, "sha256sum": cmdSum,
		"date": cmdDate, "df": cmdDf, "sudo": cmdSudo, "nohup": cmdSudo, "chpasswd": cmdNop,
		"passwd": cmdPasswd, "ulimit": cmdNop, "sync": cmdNop, "cut": cmdCut, "sort": cmdSort,
		"uniq": cmdUniq, "tr": cmdTr, "break": cmdBreak, "continue": cmdBreak, "awk": cmdAwk, "gawk": cmdAwk, "mawk": cmdAwk, "sed": cmdSed, "xargs": cmdXargs, "seq": cmdSeq, "yes": cmdYes, "clear": cmdClear, "lsb_release": cmdLsbRelease,
		"dd": cmdDd, "ln": cmdNop, "chown": cmdNop, "service": cmdNop, "systemctl": cmdNop,
		"last": cmdNop, "who": cmdWho, "dmesg": cmdNop, "mount": cmdMount, "su": cmdNop,
		"shopt": cmdNop, "type": cmdType, "command": cmdCommand, "test": cmdTest, "[": cmdTest,
		"tar": cmdNop, "gzip": cmdNop, "history_": cmdNop, "stat": cmdStat, "readlink": cmdReadlink,
	}
	delete(commands, "history_")
	for _, a := range strings.Fields("ash cat chmod cp cut date dd df echo env free grep head hostname id ip ifconfig kill ls mkdir mount mv netstat nproc ps pwd rm sh sleep sort tail tftp ftpget top touch tr true false uname uniq uptime w wc wget which whoami yes base64 md5sum sha256sum printf") {
		busyboxApplets[a] = true
	}
}

// Known reports whether name is an emulated command.
func Known(name string) bool {
	_, ok := commands[path.Base(name)]
	return ok
}

func (s *Shell) builtin(name string, args []string, out, errw io.Writer, in []byte) int {
	return commands[name](s, args, out, errw, in)
}

// flags splits leading -abc options from operands (without --long
// support beyond ignoring them).
func flags(args []string) (map[byte]bool, []string) {
	f := map[byte]bool{}
	var rest []string
	done := false
	for _, a := range args {
		if !done && a == "--" {
			done = true
			continue
		}
		if !done && len(a) > 1 && a[0] == '-' {
			if strings.HasPrefix(a, "--") {
				f['-'] = true
				continue
			}
			for i := 1; i < len(a); i++ {
				f[a[i]] = true
			}
			continue
		}
		rest = append(rest, a)
	}
	return f, rest
}

func cmdNop(*Shell, []string, io.Writer, io.Writer, []byte) int   { return 0 }
func cmdFalse(*Shell, []string, io.Writer, io.Writer, []byte) int { return 1 }

func cmdClear(_ *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	io.WriteString(out, "\x1b[H\x1b[2J\x1b[3J")
	return 0
}

// unescape interprets echo -e / printf %b escapes; stop reports \c.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'e', 'E':
			b.WriteByte(0x1b)
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\\':
			b.WriteByte('\\')
		case 'c':
			return b.String(), true
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteString(`\x`)
				continue
			}
			v, _ := strconv.ParseUint(s[i+1:j], 16, 8)
			b.WriteByte(byte(v))
			i = j - 1
		case '0':
			j := i + 1
			for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint("0"+s[i+1:j], 8, 16)
			b.WriteByte(byte(v))
			i = j - 1
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String(), false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func cmdEcho(_ *Shell, args []string, out, _ io.Writer, _ []byte) int {
	args = args[1:]
	newline, esc := true, false
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		for _, c := range args[0][1:] {
			switch c {
			case 'n':
				newline = false
			case 'e':
				esc = true
			case 'E':
				esc = false
			}
		}
		args = args[1:]
	}
	text := strings.Join(args, " ")
	if esc {
		var stop bool
		text, stop = unescape(text)
		if stop {
			newline = false
		}
	}
	if newline {
		text += "\n"
	}
	io.WriteString(out, text)
	return 0
}

func cmdPrintf(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	if len(args) < 2 {
		fmt.Fprintf(errw, "printf: usage: printf [-v var] format [arguments]\n")
		return 2
	}
	format, rest := args[1], args[2:]
	for iter := 0; iter < 1000; iter++ {
		used := 0
		var b strings.Builder
		for i := 0; i < len(format); i++ {
			c := format[i]
			if c == '\\' && i+1 < len(format) {
				j := i + 1
				switch {
				case format[j] >= '0' && format[j] <= '7':
					for j < len(format) && j < i+4 && format[j] >= '0' && format[j] <= '7' {
						j++
					}
					v, _ := strconv.ParseUint(format[i+1:j], 8, 16)
					b.WriteByte(byte(v))
				case format[j] == 'x':
					j++
					for j < len(format) && j < i+4 && isHex(format[j]) {
						j++
					}
					u, _ := unescape(format[i:j])
					b.WriteString(u)
				default:
					j++
					u, _ := unescape(format[i:j])
					b.WriteString(u)
				}
				i = j - 1
				continue
			}
			if c != '%' || i+1 >= len(format) {
				b.WriteByte(c)
				continue
			}
			j := i + 1
			for j < len(format) && strings.IndexByte("-+ #0123456789.", format[j]) >= 0 {
				j++
			}
			if j >= len(format) {
				b.WriteString(format[i:])
				break
			}
			spec := format[i+1 : j]
			verb := format[j]
			i = j
			arg := ""
			if used < len(rest) {
				arg = rest[used]
			}
			switch verb {
			case '%':
				b.WriteByte('%')
				continue
			case 's':
				fmt.Fprintf(&b, "%"+spec+"s", arg)
			case 'b':
				u, _ := unescape(arg)
				b.WriteString(u)
			case 'd', 'i':
				n, _ := strconv.ParseInt(arg, 0, 64)
				fmt.Fprintf(&b, "%"+spec+"d", n)
			case 'x', 'X', 'o':
				n, _ := strconv.ParseInt(arg, 0, 64)
				fmt.Fprintf(&b, "%"+spec+string(verb), n)
			case 'c':
				if arg != "" {
					b.WriteByte(arg[0])
				}
			case 'f':
				f, _ := strconv.ParseFloat(arg, 64)
				fmt.Fprintf(&b, "%"+spec+"f", f)
			default:
				b.WriteByte('%')
				b.WriteString(spec)
				b.WriteByte(verb)
				continue
			}
			used++
		}
		io.WriteString(out, b.String())
		if used == 0 || used >= len(rest) {
			break
		}
		rest = rest[used:]
	}
	return 0
}

func (s *Shell) path(p string) string { return Clean(s.Cwd, p) }

func cmdCat(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	_, files := flags(args[1:])
	if len(files) == 0 {
		out.Write(in)
		return 0
	}
	code := 0
	for _, f := range files {
		if f == "-" {
			out.Write(in)
			continue
		}
		data, err := s.FS.ReadFile(s.path(f))
		if err != nil {
			fmt.Fprintf(errw, "cat: %s: %s\n", f, err)
			code = 1
			continue
		}
		out.Write(data)
	}
	return code
}

func cmdCd(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	target := s.Home
	if len(args) > 1 {
		target = args[1]
	}
	if target == "-" {
		target = s.Env["OLDPWD"]
	}
	if strings.HasPrefix(target, "~") {
		target = s.Home + target[1:]
	}
	shown := target
	if len(args) > 1 {
		shown = args[1]
	}
	p := s.path(target)
	n, err := s.FS.Stat(p)
	if err != nil {
		fmt.Fprintf(errw, "%s: cd: %s: %s\n", s.errPrefix(), shown, err)
		return 1
	}
	if !n.IsDir() {
		fmt.Fprintf(errw, "%s: cd: %s: Not a directory\n", s.errPrefix(), shown)
		return 1
	}
	s.Env["OLDPWD"] = s.Cwd
	s.Cwd = p
	s.Env["PWD"] = p
	if len(args) > 1 && args[1] == "-" {
		io.WriteString(out, p+"\n")
	}
	return 0
}

func cmdPwd(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	io.WriteString(out, s.Cwd+"\n")
	return 0
}

func cmdID(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	f, _ := flags(args[1:])
	switch {
	case f['u']:
		if f['n'] {
			io.WriteString(out, s.User+"\n")
		} else {
			fmt.Fprintf(out, "%d\n", s.UID)
		}
		return 0
	case f['g']:
		fmt.Fprintf(out, "%d\n", s.UID)
		return 0
	}
	if s.UID == 0 {
		io.WriteString(out, "uid=0(root) gid=0(root) groups=0(root)\n")
	} else {
		fmt.Fprintf(out, "uid=1000(%s) gid=1000(%s) groups=1000(%s),27(sudo)\n", s.User, s.User, s.User)
	}
	return 0
}

func cmdWhoami(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	io.WriteString(out, s.User+"\n")
	return 0
}

func cmdHostname(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	f, _ := flags(args[1:])
	switch {
	case f['I'], f['i']:
		io.WriteString(out, "10.0.0."+strconv.Itoa(10+int(s.M.Identity.Bytes("ip", 1)[0])%200)+" \n")
	case f['s']:
		io.WriteString(out, s.M.ShortHostname()+"\n")
	default:
		io.WriteString(out, s.M.Hostname+"\n")
	}
	return 0
}

func cmdUname(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	f, _ := flags(args[1:])
	if f['-'] {
		f['a'] = true
	}
	osName := "GNU/Linux"
	if s.M.Busybox() {
		osName = "Linux"
	}
	var parts []string
	add := func(c byte, v string) {
		if f['a'] || f[c] {
			parts = append(parts, v)
		}
	}
	if len(f) == 0 {
		f['s'] = true
	}
	add('s', "Linux")
	add('n', s.M.Hostname)
	add('r', s.M.Distro.Kernel)
	add('v', s.M.KernelBuild())
	add('m', "x86_64")
	if !f['a'] {
		add('p', "unknown")
		add('i', "unknown")
	} else if !s.M.Busybox() && !s.M.rhel() {
		// Debian's uname -a omits unknown -p and -i.
	} else if s.M.rhel() {
		parts = append(parts, "x86_64", "x86_64")
	}
	add('o', osName)
	for c := range f {
		if !strings.ContainsRune("asnrvmpio", rune(c)) {
			fmt.Fprintf(errw, "uname: invalid option -- '%c'\nTry 'uname --help' for more information.\n", c)
			return 1
		}
	}
	io.WriteString(out, strings.Join(parts, " ")+"\n")
	return 0
}

type proc struct {
	pid  int
	user string
	cmd  string
	tty  string
}

func (s *Shell) procs() []proc {
	base := 300 + int(s.M.Identity.Bytes("pids", 1)[0])
	ps := []proc{
		{1, "root", "/sbin/init", "?"}, {2, "root", "[kthreadd]", "?"}, {3, "root", "[rcu_gp]", "?"},
		{4, "root", "[rcu_par_gp]", "?"}, {9, "root", "[mm_percpu_wq]", "?"}, {10, "root", "[ksoftirqd/0]", "?"},
		{11, "root", "[rcu_preempt]", "?"}, {12, "root", "[migration/0]", "?"},
		{base, "root", "/lib/systemd/systemd-journald", "?"}, {base + 31, "root", "/lib/systemd/systemd-udevd", "?"},
		{base + 290, "root", "/usr/sbin/cron -f", "?"}, {base + 295, "message+", "/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only", "?"},
		{base + 301, "root", "/usr/sbin/rsyslogd -n -iNONE", "?"}, {base + 309, "root", "/lib/systemd/systemd-logind", "?"},
		{base + 351, "root", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", "?"},
		{base + 362, "root", "/sbin/agetty -o -p -- \\u --noclear - linux", "tty1"},
	}
	sp := 20000 + int(s.M.Identity.Bytes("sess", 2)[0])*50
	ps = append(ps, proc{sp, "root", "sshd: " + s.User + "@pts/0", "?"}, proc{sp + 12, s.User, "-bash", "pts/0"})
	return ps
}

func cmdPs(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	opts := strings.Join(args[1:], "")
	all := strings.ContainsAny(opts, "aeAx")
	sp := s.procs()
	self := sp[len(sp)-1].pid + 17
	var b strings.Builder
	switch {
	case strings.Contains(opts, "u"):
		b.WriteString("USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n")
		for _, p := range sp {
			if !all && p.tty != "pts/0" {
				continue
			}
			fmt.Fprintf(&b, "%-8s %7d  0.0  0.1 %6d %5d %-8s Ss   %s   0:00 %s\n", p.user, p.pid, 10000+p.pid%9000, 4000+p.pid%3000, p.tty, s.start.Format("15:04"), p.cmd)
		}
		fmt.Fprintf(&b, "%-8s %7d  0.0  0.0  11084  4416 pts/0    R+   %s   0:00 ps %s\n", s.User, self, time.Now().Format("15:04"), strings.Join(args[1:], " "))
	case all:
		b.WriteString("UID          PID    PPID  C STIME TTY          TIME CMD\n")
		for _, p := range sp {
			ppid := 1
			if strings.HasPrefix(p.cmd, "[") {
				ppid = 2
			}
			if p.pid <= 2 {
				ppid = 0
			}
			fmt.Fprintf(&b, "%-8s %7d %7d  0 %s %-8s 00:00:00 %s\n", p.user, p.pid, ppid, s.start.Format("15:04"), p.tty, p.cmd)
		}
		fmt.Fprintf(&b, "%-8s %7d %7d  0 %s pts/0    00:00:00 ps %s\n", s.User, self, sp[len(sp)-1].pid, time.Now().Format("15:04"), strings.Join(args[1:], " "))
	default:
		b.WriteString("    PID TTY          TIME CMD\n")
		fmt.Fprintf(&b, "%7d pts/0    00:00:00 bash\n%7d pts/0    00:00:00 ps\n", sp[len(sp)-1].pid, self)
	}
	io.WriteString(out, b.String())
	return 0
}

func cmdFree(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	f, _ := flags(args[1:])
	// procps 4: used is total less available, buff/cache is Buffers,
	// Cached and SReclaimable, from the same /proc/meminfo cat shows.
	mi := map[string]int64{}
	for _, l := range strings.Split(s.M.meminfo(s.M.hw()), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			mi[k], _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	total, free, avail := mi["MemTotal"], mi["MemFree"], mi["MemAvailable"]
	used, shared, cache := total-avail, mi["Shmem"], mi["Buffers"]+mi["Cached"]+mi["SReclaimable"]
	swap, swapFree := mi["SwapTotal"], mi["SwapFree"]
	conv := func(kb int64) string { return strconv.FormatInt(kb, 10) }
	switch {
	case f['h']:
		conv = func(kb int64) string {
			switch {
			case kb >= 1<<20:
				return fmt.Sprintf("%.1fGi", float64(kb)/(1<<20))
			case kb >= 1<<10:
				return fmt.Sprintf("%dMi", kb>>10)
			}
			return fmt.Sprintf("%dKi", kb)
		}
	case f['m']:
		conv = func(kb int64) string { return strconv.FormatInt(kb>>10, 10) }
	case f['g']:
		conv = func(kb int64) string { return strconv.FormatInt(kb>>20, 10) }
	}
	fmt.Fprintf(out, "               total        used        free      shared  buff/cache   available\n")
	fmt.Fprintf(out, "Mem:      %10s  %10s  %10s  %10s  %10s  %10s\n", conv(total), conv(used), conv(free), conv(shared), conv(cache), conv(avail))
	fmt.Fprintf(out, "Swap:     %10s  %10s  %10s\n", conv(swap), conv(swap-swapFree), conv(swapFree))
	return 0
}

func (s *Shell) uptimeLine() string {
	up := s.M.Identity.Uptime(time.Now())
	days := int(up.Hours()) / 24
	hm := fmt.Sprintf("%2d:%02d", int(up.Hours())%24, int(up.Minutes())%60)
	u := hm
	if days > 0 {
		d := "days"
		if days == 1 {
			d = "day"
		}
		u = fmt.Sprintf("%d %s, %s", days, d, hm)
	}
	return fmt.Sprintf(" %s up %s,  1 user,  load average: 0.08, 0.03, 0.01", time.Now().Format("15:04:05"), u)
}

func cmdUptime(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	f, _ := flags(args[1:])
	if f['p'] {
		up := s.M.Identity.Uptime(time.Now())
		fmt.Fprintf(out, "up %d days, %d hours, %d minutes\n", int(up.Hours())/24, int(up.Hours())%24, int(up.Minutes())%60)
		return 0
	}
	io.WriteString(out, s.uptimeLine()+"\n")
	return 0
}

func cmdW(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	io.WriteString(out, s.uptimeLine()+"\nUSER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n")
	fmt.Fprintf(out, "%-8s pts/0    %-16s %s    0.00s  0.02s  0.00s w\n", s.User, s.Env["__from"], s.start.Format("15:04"))
	return 0
}

func cmdWho(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	fmt.Fprintf(out, "%-8s pts/0        %s (%s)\n", s.User, s.start.Format("2006-01-02 15:04"), s.Env["__from"])
	return 0
}

func cmdChmod(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	_, rest, ok := twoOperands(errw, args, "missing operand")
	if !ok {
		return 1
	}
	code := 0
	for _, f := range rest[1:] {
		p := s.path(f)
		n, err := s.FS.Stat(p)
		if err != nil {
			if args[0] == "busybox-chmod" || s.M.Busybox() {
				fmt.Fprintf(errw, "chmod: %s: %s\n", f, err)
			} else {
				fmt.Fprintf(errw, "chmod: cannot access '%s': %s\n", f, err)
			}
			code = 1
			continue
		}
		mode := n.Mode & fs.ModePerm
		if v, err := strconv.ParseUint(rest[0], 8, 32); err == nil {
			mode = fs.FileMode(v) & fs.ModePerm
		} else if strings.Contains(rest[0], "+x") {
			mode |= 0o111
		} else if strings.Contains(rest[0], "-x") {
			mode &^= 0o111
		} else if strings.Contains(rest[0], "+w") {
			mode |= 0o200
		}
		_ = s.FS.Chmod(p, mode)
	}
	return code
}

func cmdRm(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	f, rest := flags(args[1:])
	if len(rest) == 0 {
		if f['f'] {
			return 0
		}
		fmt.Fprintf(errw, "rm: missing operand\nTry 'rm --help' for more information.\n")
		return 1
	}
	code := 0
	for _, a := range rest {
		if s.immutable(s.path(a)) {
			fmt.Fprintf(errw, "rm: cannot remove '%s': Operation not permitted\n", a)
			code = 1
			continue
		}
		err := s.FS.Remove(s.path(a), f['r'] || f['R'])
		switch {
		case err == nil:
		case err == ErrNotExist && f['f']:
		case err == ErrIsDir:
			fmt.Fprintf(errw, "rm: cannot remove '%s': Is a directory\n", a)
			code = 1
		default:
			fmt.Fprintf(errw, "rm: cannot remove '%s': %s\n", a, err)
			code = 1
		}
	}
	return code
}

func cmdMkdir(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	f, rest := flags(args[1:])
	if len(rest) == 0 {
		fmt.Fprintf(errw, "mkdir: missing operand\nTry 'mkdir --help' for more information.\n")
		return 1
	}
	code := 0
	for _, a := range rest {
		if err := s.FS.Mkdir(s.path(a), f['p']); err != nil {
			fmt.Fprintf(errw, "mkdir: cannot create directory ‘%s’: %s\n", a, err)
			code = 1
		}
	}
	return code
}

func cmdTouch(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	_, rest := flags(args[1:])
	if len(rest) == 0 {
		fmt.Fprintf(errw, "touch: missing file operand\nTry 'touch --help' for more information.\n")
		return 1
	}
	code := 0
	for _, a := range rest {
		if err := s.FS.Touch(s.path(a)); err != nil {
			fmt.Fprintf(errw, "touch: cannot touch '%s': %s\n", a, err)
			code = 1
		}
	}
	return code
}

func cmdMv(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	_, rest := flags(args[1:])
	if len(rest) < 2 {
		fmt.Fprintf(errw, "mv: missing file operand\nTry 'mv --help' for more information.\n")
		return 1
	}
	dst := s.path(rest[len(rest)-1])
	code := 0
	for _, a := range rest[:len(rest)-1] {
		if err := s.FS.Rename(s.path(a), dst); err != nil {
			fmt.Fprintf(errw, "mv: cannot stat '%s': %s\n", a, err)
			code = 1
		}
	}
	return code
}

func cmdCp(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	_, rest := flags(args[1:])
	if len(rest) < 2 {
		fmt.Fprintf(errw, "cp: missing file operand\nTry 'cp --help' for more information.\n")
		return 1
	}
	dst := s.path(rest[len(rest)-1])
	code := 0
	for _, a := range rest[:len(rest)-1] {
		n, err := s.FS.Stat(s.path(a))
		if err != nil {
			fmt.Fprintf(errw, "cp: cannot stat '%s': %s\n", a, err)
			code = 1
			continue
		}
		if n.IsDir() {
			fmt.Fprintf(errw, "cp: -r not specified; omitting directory '%s'\n", a)
			code = 1
			continue
		}
		target := dst
		if d, err := s.FS.Stat(dst); err == nil && d.IsDir() {
			target = path.Join(dst, path.Base(a))
		}
		if err := s.FS.WriteFile(target, n.Content(), false); err != nil {
			fmt.Fprintf(errw, "cp: cannot create regular file '%s': %s\n", rest[len(rest)-1], err)
			code = 1
			continue
		}
		_ = s.FS.Chmod(target, n.Mode&fs.ModePerm)
	}
	return code
}

func cmdHistory(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	if len(args) > 1 && args[1] == "-c" {
		s.history = nil
		return 0
	}
	for i, h := range s.history {
		fmt.Fprintf(out, "%5d  %s\n", i+1, h)
	}
	return 0
}

func cmdExport(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	if len(args) == 1 || args[1] == "-p" {
		for _, k := range sortedKeys(s.Env) {
			if !strings.HasPrefix(k, "__") {
				fmt.Fprintf(out, "declare -x %s=%q\n", k, s.Env[k])
			}
		}
		return 0
	}
	for _, a := range args[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			s.Env[k] = v
		}
	}
	return 0
}

func cmdUnset(s *Shell, args []string, _, _ io.Writer, _ []byte) int {
	for _, a := range args[1:] {
		delete(s.Env, a)
	}
	return 0
}

func cmdAlias(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	if len(args) == 1 {
		io.WriteString(out, "alias ls='ls $LS_OPTIONS'\n")
		return 0
	}
	for _, a := range args[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			s.Env["__alias_"+k] = v
		}
	}
	return 0
}

func cmdEnv(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	rest := args[1:]
	for len(rest) > 0 && strings.Contains(rest[0], "=") {
		rest = rest[1:]
	}
	if len(rest) > 0 {
		return s.exec(rest, out, errw, in)
	}
	for _, k := range sortedKeys(s.Env) {
		if !strings.HasPrefix(k, "__") {
			fmt.Fprintf(out, "%s=%s\n", k, s.Env[k])
		}
	}
	return 0
}

func (s *Shell) lookPath(name string) (string, bool) {
	if strings.Contains(name, "/") {
		_, err := s.FS.Stat(s.path(name))
		return name, err == nil
	}
	for _, d := range strings.Split(s.Env["PATH"], ":") {
		p := path.Join(d, name)
		if n, err := s.FS.Stat(p); err == nil && !n.IsDir() {
			return p, true
		}
	}
	return "", false
}

func cmdWhich(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	code := 0
	for _, a := range args[1:] {
		if p, ok := s.lookPath(a); ok {
			io.WriteString(out, p+"\n")
		} else {
			code = 1
		}
	}
	return code
}

func cmdType(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	code := 0
	terse := false
	for _, a := range args[1:] {
		if a == "-t" {
			terse = true
			continue
		}
		if _, ok := s.funcs[a]; ok {
			if terse {
				io.WriteString(out, "function\n")
			} else {
				fmt.Fprintf(out, "%s is a function\n", a)
			}
			continue
		}
		if slices.Contains(bashBuiltins, a) {
			if terse {
				io.WriteString(out, "builtin\n")
			} else {
				fmt.Fprintf(out, "%s is a shell builtin\n", a)
			}
			continue
		}
		if p, ok := s.lookPath(a); ok {
			if terse {
				io.WriteString(out, "file\n")
			} else {
				fmt.Fprintf(out, "%s is %s\n", a, p)
			}
		} else if terse {
			code = 1
		} else {
			fmt.Fprintf(errw, "%s: type: %s: not found\n", s.errPrefix(), a)
			code = 1
		}
	}
	return code
}

func cmdCommand(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	if len(args) > 2 && args[1] == "-v" {
		code := 0
		for _, a := range args[2:] {
			if p, ok := s.lookPath(a); ok {
				io.WriteString(out, p+"\n")
			} else if Known(a) {
				io.WriteString(out, a+"\n")
			} else {
				code = 1
			}
		}
		return code
	}
	if len(args) > 1 {
		return s.exec(args[1:], out, errw, in)
	}
	return 0
}

func cmdCrontab(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	f, rest := flags(args[1:])
	spool := "/var/spool/cron/crontabs/" + s.User
	switch {
	case f['l']:
		data, err := s.FS.ReadFile(spool)
		if err != nil {
			fmt.Fprintf(errw, "no crontab for %s\n", s.User)
			return 1
		}
		out.Write(data)
	case f['r']:
		if s.FS.Remove(spool, false) != nil {
			fmt.Fprintf(errw, "no crontab for %s\n", s.User)
			return 1
		}
	case len(rest) > 0:
		data := in
		if rest[0] != "-" {
			var err error
			if data, err = s.FS.ReadFile(s.path(rest[0])); err != nil {
				fmt.Fprintf(errw, "%s: No such file or directory\n", rest[0])
				return 1
			}
		}
		_ = s.FS.Mkdir(path.Dir(spool), true)
		_ = s.FS.WriteFile(spool, data, false)
	}
	return 0
}

func cmdNproc(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	fmt.Fprintf(out, "%d\n", s.M.hw().cpus)
	return 0
}

func cmdLscpu(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	h := s.M.hw()
	vendor := "GenuineIntel"
	if strings.Contains(h.model, "AMD") {
		vendor = "AuthenticAMD"
	}
	rows := [][3]string{
		{"0", "Architecture:", "x86_64"}, {"1", "CPU op-mode(s):", "32-bit, 64-bit"},
		{"1", "Address sizes:", "46 bits physical, 48 bits virtual"}, {"1", "Byte Order:", "Little Endian"},
		{"0", "CPU(s):", strconv.Itoa(h.cpus)}, {"1", "On-line CPU(s) list:", fmt.Sprintf("0-%d", h.cpus-1)},
		{"0", "Vendor ID:", vendor}, {"1", "Model name:", h.model}, {"2", "CPU family:", "6"}, {"2", "Model:", "85"},
		{"2", "Thread(s) per core:", "1"}, {"2", "Core(s) per socket:", strconv.Itoa(h.cpus)}, {"2", "Socket(s):", "1"},
		{"2", "BogoMIPS:", fmt.Sprintf("%.2f", h.mhz*2)}, {"0", "Virtualization features:", ""},
		{"1", "Hypervisor vendor:", "KVM"}, {"1", "Virtualization type:", "full"},
	}
	for _, r := range rows {
		if s.onTerminal(out) {
			// On a terminal, util-linux 2.38 prints sections.
			key := strings.Repeat("  ", int(r[0][0]-'0')) + r[1]
			fmt.Fprintf(out, "%-25s%s\n", key, r[2])
		} else {
			fmt.Fprintf(out, "%-41s%s\n", r[1], r[2])
		}
	}
	return 0
}

func (s *Shell) netInfo() (ip, mac string) { return s.M.netInfo() }

func (m Machine) netInfo() (ip, mac string) {
	b := m.Identity.Bytes("shell-net", 4)
	return fmt.Sprintf("10.%d.%d.%d", b[0]%8, b[1], 2+b[2]%250), m.Identity.MAC(m.Distro.Family)
}

// procNetARP is /proc/net/arp: the gateway (.1, as `ip route` names it)
// and a neighbour on eth0's /24, with MACs from the identity.
func (m Machine) procNetARP() string {
	ip, _ := m.netInfo()
	net := ip[:strings.LastIndexByte(ip, '.')]
	b := m.Identity.Bytes("shell-arp", 10)
	var out strings.Builder
	out.WriteString("IP address       HW type     Flags       HW address            Mask     Device\n")
	for i, host := range []int{1, 2 + int(b[9])%250} {
		peer := fmt.Sprintf("%s.%d", net, host)
		if peer == ip {
			continue
		}
		mac := fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0]&0xfe|0x02*byte(i), b[1], b[2], b[3+i], b[5+i], b[7+i])
		fmt.Fprintf(&out, "%-16s 0x%-10x0x%-10x%-17s     *        %s\n", peer, 1, 2, mac, "eth0")
	}
	return out.String()
}

func cmdIfconfig(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	ip, mac := s.netInfo()
	fmt.Fprintf(out, "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n        inet %s  netmask 255.255.255.0  broadcast %s.255\n        ether %s  txqueuelen 1000  (Ethernet)\n        RX packets 1849215  bytes 402177331 (383.5 MiB)\n        RX errors 0  dropped 12  overruns 0  frame 0\n        TX packets 977121  bytes 180012387 (171.6 MiB)\n        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0\n\nlo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n        inet 127.0.0.1  netmask 255.0.0.0\n        inet6 ::1  prefixlen 128  scopeid 0x10<host>\n        loop  txqueuelen 1000  (Local Loopback)\n        RX packets 5012  bytes 412991 (403.3 KiB)\n        RX errors 0  dropped 0  overruns 0  frame 0\n        TX packets 5012  bytes 412991 (403.3 KiB)\n        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0\n\n",
		ip, ip[:strings.LastIndexByte(ip, '.')], mac)
	return 0
}

func cmdIP(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	ip, mac := s.netInfo()
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch {
	case sub == "":
		fmt.Fprintf(errw, "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n")
		return 255
	case strings.HasPrefix("address", sub) || sub == "a":
		fmt.Fprintf(out, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n    inet6 ::1/128 scope host noprefixroute \n       valid_lft forever preferred_lft forever\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether %s brd ff:ff:ff:ff:ff:ff\n    altname enp0s3\n    inet %s/24 brd %s.255 scope global eth0\n       valid_lft forever preferred_lft forever\n", mac, ip, ip[:strings.LastIndexByte(ip, '.')])
	case strings.HasPrefix("route", sub) || sub == "r":
		fmt.Fprintf(out, "default via %s.1 dev eth0 onlink \n%s.0/24 dev eth0 proto kernel scope link src %s \n", ip[:strings.LastIndexByte(ip, '.')], ip[:strings.LastIndexByte(ip, '.')], ip)
	case strings.HasPrefix("link", sub) || sub == "l":
		fmt.Fprintf(out, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\n    link/ether %s brd ff:ff:ff:ff:ff:ff\n", mac)
	default:
		fmt.Fprintf(errw, "Object \"%s\" is unknown, try \"ip help\".\n", sub)
		return 255
	}
	return 0
}

func cmdNetstat(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	ip, _ := s.netInfo()
	fmt.Fprintf(out, "Active Internet connections (servers and established)\nProto Recv-Q Send-Q Local Address           Foreign Address         State      \ntcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN     \ntcp        0     36 %-23s %-23s ESTABLISHED\ntcp6       0      0 :::22                   :::*                    LISTEN     \n", ip+":22", s.Env["__from"]+":"+s.Env["__fromport"])
	return 0
}

func cmdTop(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	h := s.M.hw()
	mib := float64(h.memKB) / 1024
	fmt.Fprintf(out, "top - %s\nTasks: %3d total,   1 running, %3d sleeping,   0 stopped,   0 zombie\n%%Cpu(s):  0.0 us,  3.1 sy,  0.0 ni, 96.9 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st \nMiB Mem : %8.1f total, %8.1f free, %8.1f used, %8.1f buff/cache     \nMiB Swap:    980.0 total,    980.0 free,      0.0 used. %8.1f avail Mem \n\n    PID USER      PR  NI    VIRT    RES    SHR S  %%CPU  %%MEM     TIME+ COMMAND\n",
		strings.TrimPrefix(strings.Replace(s.uptimeLine(), " up ", " up ", 1), " "), 118, 117, mib, mib/3, mib/5, mib-mib/3-mib/5, mib*0.7)
	for _, p := range s.procs() {
		name := p.cmd
		if i := strings.IndexByte(name, ' '); i > 0 {
			name = name[:i]
		}
		name = strings.Trim(path.Base(strings.Trim(name, "[]")), ":")
		fmt.Fprintf(out, "%7d %-8s  20   0  %6d   %5d   %5d S   0.0   0.1   0:00.%02d %s\n", p.pid, p.user, 10000+p.pid%90000, 4000+p.pid%3000, 3000+p.pid%2000, p.pid%100, name)
	}
	return 0
}

func cmdBusybox(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	if len(args) < 2 || args[1] == "--help" {
		fmt.Fprintf(out, "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\nBusyBox is copyrighted by many authors between 1998-2015.\nLicensed under GPLv2. See source distribution for detailed\ncopyright notices.\n\nUsage: busybox [function [arguments]...]\n   or: busybox --list[-full]\n   or: function [arguments]...\n\n")
		return 0
	}
	if args[1] == "--list" {
		var names []string
		for a := range busyboxApplets {
			names = append(names, a)
		}
		sort.Strings(names)
		io.WriteString(out, strings.Join(names, "\n")+"\n")
		return 0
	}
	if !busyboxApplets[args[1]] {
		fmt.Fprintf(errw, "%s: applet not found\n", args[1])
		return 127
	}
	if u, ok := busyboxUsage[args[1]]; ok && len(args) == 2 {
		fmt.Fprintf(errw, "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n\n%s", u)
		return 1
	}
	if args[1] == "ps" {
		io.WriteString(out, "PID   USER     COMMAND\n")
		for _, p := range s.procs() {
			fmt.Fprintf(out, "%5d %-8s %s\n", p.pid, p.user, p.cmd)
		}
		return 0
	}
	if args[1] == "wget" || args[1] == "chmod" {
		// BusyBox's own applets, with their own messages.
		return s.builtin(args[1], append([]string{"busybox-" + args[1]}, args[2:]...), out, errw, in)
	}
	return s.builtin(args[1], args[1:], out, errw, in)
}

// busyboxUsage is the help of the applets bots run bare to see whether
// they exist.
var busyboxUsage = map[string]string{
	"tftp": "Usage: tftp [OPTIONS] HOST [PORT]\n\nTransfer a file from/to tftp server\n\n\t-l FILE\tLocal FILE\n\t-r FILE\tRemote FILE\n\t-g\tGet file\n\t-p\tPut file\n\t-b SIZE\tTransfer blocks in bytes\n",
	"wget": "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[--no-check-certificate] [-P DIR] [-U AGENT] URL...\n\nRetrieve files via HTTP or FTP\n\n\t--spider\tOnly check URL existence: $? is 0 if exists\n\t--header STR\tAdd STR (of form 'header: value') to headers\n\t--post-data STR\tSend STR using POST method\n\t--post-file FILE\tSend FILE using POST method\n\t--no-check-certificate\tDon't validate the server's certificate\n\t-c\t\tContinue retrieval of aborted transfer\n\t-q\t\tQuiet\n\t-P DIR\t\tSave to DIR (default .)\n\t-S    \t\tShow server response\n\t-O FILE\t\tSave to FILE ('-' for stdout)\n\t-o LOGFILE\tLog messages to FILE\n\t-U STR\t\tUse STR for User-Agent header\n\t-Y on/off\tUse proxy\n",
}

// fetchTarget is the host and port a download tool would connect to.
func fetchTarget(raw string) (host, port string, isIP bool) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw, "80", false
	}
	h := u.Hostname()
	isIP = h != "" && strings.Trim(h, "0123456789.:") == ""
	port = u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "ftp": "21"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	return h, port, isIP
}

func (s *Shell) fetch(tool, u string) {
	if s.OnFetch != nil {
		s.OnFetch(Fetch{Tool: tool, URL: u})
	}
}

// wgetValued are wget's options that take the next word as their value
// (GNU getopt: options and URLs may come in any order).
var wgetValued = map[string]bool{"-O": true, "-o": true, "-a": true, "-P": true, "-U": true, "-t": true, "-T": true,
	"-e": true, "-i": true, "-B": true, "-w": true, "-Q": true, "-l": true, "-A": true, "-R": true, "-D": true,
	"--output-document": true, "--output-file": true, "--append-output": true, "--directory-prefix": true,
	"--user-agent": true, "--tries": true, "--timeout": true, "--header": true, "--post-data": true, "--post-file": true,
	"--user": true, "--password": true, "--input-file": true, "--execute": true, "--wait": true, "--referer": true}

func cmdWget(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	var urls []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			urls = append(urls, args[i+1:]...)
			i = len(args)
		case wgetValued[a]:
			i++
		case strings.HasPrefix(a, "-") && len(a) > 1:
		default:
			urls = append(urls, a)
		}
	}
	if len(urls) == 0 {
		fmt.Fprintf(errw, "wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n")
		return 1
	}
	if s.M.Busybox() || args[0] == "busybox-wget" {
		// BusyBox's wget: the first failure ends it, exit 1; -q keeps the
		// error line only.
		quiet := slices.ContainsFunc(args[1:], func(a string) bool { return a == "-q" || a == "--quiet" })
		u := urls[0]
		s.fetch("wget", u)
		host, port, isIP := fetchTarget(u)
		if !isIP {
			fmt.Fprintf(errw, "wget: bad address '%s'\n", host)
			return 1
		}
		if !quiet {
			shown := host
			if strings.Contains(strings.TrimPrefix(u, "http://"), ":"+port) {
				shown = host + ":" + port
			}
			fmt.Fprintf(errw, "Connecting to %s (%s:%s)\n", shown, host, port)
		}
		fmt.Fprintf(errw, "wget: can't connect to remote host (%s): Connection refused\n", host)
		return 1
	}
	quiet := slices.ContainsFunc(args[1:], func(a string) bool {
		return a == "--quiet" || len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'q')
	})
	// -O FILE is opened (made empty) before any connection is tried.
	for i := 1; i+1 < len(args); i++ {
		if (args[i] == "-O" || args[i] == "--output-document") && args[i+1] != "-" {
			_ = s.FS.WriteFile(s.path(args[i+1]), nil, false)
		}
	}
	if quiet {
		errw = io.Discard
	}
	for _, u := range urls {
		s.fetch("wget", u)
		full := u
		if !strings.Contains(full, "://") {
			full = "http://" + full
		}
		host, port, isIP := fetchTarget(u)
		fmt.Fprintf(errw, "--%s--  %s\n", time.Now().Format("2006-01-02 15:04:05"), full)
		if isIP {
			fmt.Fprintf(errw, "Connecting to %s:%s... failed: Connection refused.\n", host, port)
		} else {
			fmt.Fprintf(errw, "Resolving %s (%s)... failed: Name or service not known.\nwget: unable to resolve host address ‘%s’\n", host, host, host)
		}
	}
	return 4
}

func cmdCurl(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	var urls []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			switch a {
			case "-o", "-O", "--output", "-H", "-d", "-X", "-A", "-u", "--data", "-e", "-b", "-c", "-T", "-m", "--connect-timeout":
				if a != "-O" {
					i++
				}
			}
			continue
		}
		urls = append(urls, a)
	}
	if len(urls) == 0 {
		fmt.Fprintf(errw, "curl: try 'curl --help' or 'curl --manual' for more information\n")
		return 2
	}
	for _, u := range urls {
		s.fetch("curl", u)
	}
	// -s silences the error, unless -S shows it again.
	silent, show := false, false
	for _, a := range args[1:] {
		if a == "--silent" || len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 's') {
			silent = true
		}
		if a == "--show-error" || len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'S') {
			show = true
		}
	}
	toFile := slices.ContainsFunc(args[1:], func(a string) bool {
		return a == "-o" || a == "-O" || a == "--output" || a == "--remote-name"
	})
	if silent && !show {
		errw = io.Discard
	}
	host, port, isIP := fetchTarget(urls[0])
	if !silent && (toFile || !s.onTerminal(out)) {
		// The progress meter, when the body does not go to the terminal.
		const row = "\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0"
		io.WriteString(errw, "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n"+row)
		if isIP {
			io.WriteString(errw, row+"\n")
		}
	}
	if isIP {
		fmt.Fprintf(errw, "curl: (7) Failed to connect to %s port %s after 0 ms: Couldn't connect to server\n", host, port)
		return 7
	}
	fmt.Fprintf(errw, "curl: (6) Could not resolve host: %s\n", host)
	return 6
}

func cmdTftp(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	host := ""
	file := ""
	for i := 1; i < len(args); i++ {
		switch args[i] {
		case "-r", "-l", "-g", "-p":
			if args[i] == "-r" && i+1 < len(args) {
				file = args[i+1]
			}
			if args[i] == "-r" || args[i] == "-l" {
				i++
			}
		default:
			if host == "" {
				host = args[i]
			} else if file == "" {
				file = args[i]
			}
		}
	}
	s.fetch(path.Base(args[0]), "tftp://"+host+"/"+strings.TrimPrefix(file, "/"))
	if path.Base(args[0]) == "tftp" && !s.M.Busybox() && slices.ContainsFunc(args[1:], func(a string) bool { return a == "-g" || a == "-r" || a == "-p" }) {
		// tftp-hpa has no BusyBox-style -g/-r/-p: usage, EX_USAGE.
		io.WriteString(errw, "Usage: tftp [-4][-6][-v][-l][-m mode] [host [port]] [-c command]\n")
		return 64
	}
	fmt.Fprintf(errw, "%s: timeout\n", path.Base(args[0]))
	return 1
}

func cmdSh(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	if s.depth >= maxDepth {
		return 0
	}
	for i := 1; i < len(args); i++ {
		if args[i] == "-c" && i+1 < len(args) {
			s.depth++
			code := s.run(args[i+1], out, errw, in)
			s.depth--
			return code
		}
		if !strings.HasPrefix(args[i], "-") {
			data, err := s.FS.ReadFile(s.path(args[i]))
			if err != nil {
				if path.Base(args[0]) == "sh" && !s.M.Busybox() && !s.M.rhel() {
					// Debian's and Ubuntu's sh is dash.
					fmt.Fprintf(errw, "sh: 0: cannot open %s: No such file\n", args[i])
					return 2
				}
				fmt.Fprintf(errw, "%s: %s: No such file or directory\n", path.Base(args[0]), args[i])
				return 127
			}
			return s.script(string(data), out, errw)
		}
	}
	if len(in) > 0 {
		return s.script(string(in), out, errw)
	}
	return 0
}

func cmdSource(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	if len(args) < 2 {
		fmt.Fprintf(errw, "%s: %s: filename argument required\n", s.errPrefix(), args[0])
		return 2
	}
	data, err := s.FS.ReadFile(s.path(args[1]))
	if err != nil {
		fmt.Fprintf(errw, "%s: %s: No such file or directory\n", s.errPrefix(), args[1])
		return 1
	}
	return s.script(string(data), out, errw)
}

func cmdExit(s *Shell, args []string, _, _ io.Writer, _ []byte) int {
	s.Exited = true
	s.ExitCode = s.lastExit
	if len(args) > 1 {
		n, _ := strconv.Atoi(args[1])
		s.ExitCode = n & 0xff
	}
	return s.ExitCode
}

func cmdSudo(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	_, rest := flags(args[1:])
	if len(rest) == 0 {
		return 0
	}
	return s.exec(rest, out, errw, in)
}

func (s *Shell) inputs(files []string, in []byte, name string, errw io.Writer) ([]byte, int) {
	if len(files) == 0 {
		return in, 0
	}
	var b bytes.Buffer
	code := 0
	for _, f := range files {
		data, err := s.FS.ReadFile(s.path(f))
		if err != nil {
			fmt.Fprintf(errw, "%s: %s: %s\n", name, f, err)
			code = 2
			continue
		}
		b.Write(data)
	}
	return b.Bytes(), code
}

func lines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.SplitAfter(strings.TrimSuffix(string(data), "\n")+"\n", "\n")[:strings.Count(strings.TrimSuffix(string(data), "\n")+"\n", "\n")]
}

func countArg(args []string, def int) (int, []string) {
	n := def
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-n" && i+1 < len(args):
			n, _ = strconv.Atoi(strings.TrimPrefix(args[i+1], "+"))
			i++
		case strings.HasPrefix(a, "-n"):
			n, _ = strconv.Atoi(a[2:])
		case len(a) > 1 && a[0] == '-' && strings.Trim(a[1:], "0123456789") == "":
			n, _ = strconv.Atoi(a[1:])
		case strings.HasPrefix(a, "-"):
		default:
			rest = append(rest, a)
		}
	}
	return n, rest
}

func cmdHead(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	if c, rest, ok := byteCount(args[1:]); ok {
		data, code := s.inputs(rest, in, "head", errw)
		out.Write(data[:min(max(c, 0), len(data))])
		return code
	}
	n, rest := countArg(args[1:], 10)
	data, code := s.inputs(rest, in, "head", errw)
	ls := lines(data)
	if n < len(ls) {
		ls = ls[:max(n, 0)]
	}
	io.WriteString(out, strings.Join(ls, ""))
	return code
}

func cmdTail(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	n, rest := countArg(args[1:], 10)
	data, code := s.inputs(rest, in, "tail", errw)
	ls := lines(data)
	if n < len(ls) {
		ls = ls[len(ls)-max(n, 0):]
	}
	io.WriteString(out, strings.Join(ls, ""))
	return code
}

func cmdBase64(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	f, rest := flags(args[1:])
	data, code := s.inputs(rest, in, "base64", errw)
	if f['d'] {
		dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
		out.Write(dec)
		if err != nil {
			fmt.Fprintf(errw, "base64: invalid input\n")
			return 1
		}
		return code
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		io.WriteString(out, enc[:76]+"\n")
		enc = enc[76:]
	}
	io.WriteString(out, enc+"\n")
	return code
}

func cmdSum(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	_, rest := flags(args[1:])
	sum := func(b []byte) string {
		if args[0] == "md5sum" {
			h := md5.Sum(b)
			return hex.EncodeToString(h[:])
		}
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:])
	}
	if len(rest) == 0 {
		fmt.Fprintf(out, "%s  -\n", sum(in))
		return 0
	}
	code := 0
	for _, f := range rest {
		data, err := s.FS.ReadFile(s.path(f))
		if err != nil {
			fmt.Fprintf(errw, "%s: %s: %s\n", args[0], f, err)
			code = 1
			continue
		}
		fmt.Fprintf(out, "%s  %s\n", sum(data), f)
	}
	return code
}

func cmdDate(_ *Shell, args []string, out, _ io.Writer, _ []byte) int {
	now := time.Now().UTC()
	if len(args) > 1 && strings.HasPrefix(args[1], "+") {
		r := strings.NewReplacer("%Y", now.Format("2006"), "%m", now.Format("01"), "%d", now.Format("02"),
			"%H", now.Format("15"), "%M", now.Format("04"), "%S", now.Format("05"), "%s", strconv.FormatInt(now.Unix(), 10), "%%", "%")
		io.WriteString(out, r.Replace(args[1][1:])+"\n")
		return 0
	}
	io.WriteString(out, now.Format("Mon Jan _2 03:04:05 PM MST 2006")+"\n")
	return 0
}

func cmdMount(s *Shell, _ []string, out, _ io.Writer, _ []byte) int {
	data, _ := s.FS.ReadFile("/proc/mounts")
	for _, l := range lines(data) {
		p := strings.Fields(l)
		if len(p) >= 4 {
			fmt.Fprintf(out, "%s on %s type %s (%s)\n", p[0], p[1], p[2], p[3])
		}
	}
	return 0
}

func cmdYes(_ *Shell, args []string, out, _ io.Writer, _ []byte) int {
	word := "y"
	if len(args) > 1 {
		word = strings.Join(args[1:], " ")
	}
	line := word + "\n"
	for n := 0; n < MaxOutput; n += len(line) {
		io.WriteString(out, line)
	}
	return 141 // killed by SIGPIPE when the reader stops
}

func cmdLsbRelease(s *Shell, args []string, out, _ io.Writer, _ []byte) int {
	d := s.M.Distro
	info := osInfos[d.OSReleaseID]
	fmt.Fprintf(out, "Distributor ID:\t%s\nDescription:\t%s\nRelease:\t%s\nCodename:\t%s\n", strings.Fields(info.name + " x")[0], d.PrettyName, d.VersionID, info.versionWord)
	return 0
}

// byteCount finds head's -c N (or -cN) and returns N and the other
// arguments.
func byteCount(args []string) (int, []string, bool) {
	for i, a := range args {
		v := ""
		switch {
		case a == "-c" && i+1 < len(args):
			v = args[i+1]
			rest := append(append([]string(nil), args[:i]...), args[i+2:]...)
			n, err := strconv.Atoi(v)
			return n, rest, err == nil
		case strings.HasPrefix(a, "-c") && len(a) > 2:
			v = a[2:]
			rest := append(append([]string(nil), args[:i]...), args[i+1:]...)
			n, err := strconv.Atoi(v)
			return n, rest, err == nil
		}
	}
	return 0, args, false
}

// cmdDd copies if= (or stdin) to of= (or stdout) in bs-sized blocks, count
// and skip counted in blocks, and reports as GNU dd does.
func cmdDd(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	opt := map[string]string{}
	for _, a := range args[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			opt[k] = v
		}
	}
	bs := 512
	if v, err := strconv.Atoi(opt["bs"]); err == nil && v > 0 {
		bs = min(v, 1<<20)
	}
	data := in
	if f := opt["if"]; f != "" {
		var err error
		if data, err = s.FS.ReadFile(s.path(f)); err != nil {
			fmt.Fprintf(errw, "dd: failed to open '%s': %s\n", f, err)
			return 1
		}
	}
	if v, err := strconv.Atoi(opt["skip"]); err == nil && v > 0 {
		data = data[min(len(data), v*bs):]
	}
	if v, err := strconv.Atoi(opt["count"]); err == nil && v >= 0 {
		data = data[:min(len(data), v*bs)]
	}
	if f := opt["of"]; f != "" {
		if err := s.FS.WriteFile(s.path(f), data, false); err != nil {
			fmt.Fprintf(errw, "dd: failed to open '%s': %s\n", f, err)
			return 1
		}
	} else {
		out.Write(data)
	}
	full, part := len(data)/bs, 0
	if len(data)%bs != 0 {
		part = 1
	}
	us := 40 + rand.IntN(400) + len(data)/2000
	fmt.Fprintf(errw, "%d+%d records in\n%d+%d records out\n%d bytes copied, %s s, %s\n", full, part, full, part, len(data),
		strconv.FormatFloat(float64(us)/1e6, 'g', 4, 64), ddRate(float64(len(data))*1e6/float64(us)))
	return 0
}

// ddRate formats bytes per second as GNU dd does (SI units, three
// significant digits).
func ddRate(r float64) string {
	unit := "B/s"
	for _, u := range []string{"kB/s", "MB/s", "GB/s"} {
		if r < 1000 {
			break
		}
		r /= 1000
		unit = u
	}
	if r < 10 {
		return fmt.Sprintf("%.1f %s", r, unit)
	}
	return fmt.Sprintf("%.0f %s", r, unit)
}

func cmdTest(s *Shell, args []string, _, _ io.Writer, _ []byte) int {
	a := args[1:]
	if args[0] == "[" && len(a) > 0 && a[len(a)-1] == "]" {
		a = a[:len(a)-1]
	}
	neg := false
	if len(a) > 0 && a[0] == "!" {
		neg, a = true, a[1:]
	}
	res := false
	switch {
	case len(a) == 1:
		res = a[0] != ""
	case len(a) == 2:
		n, err := s.FS.Stat(s.path(a[1]))
		switch a[0] {
		case "-e":
			res = err == nil
		case "-f":
			res = err == nil && !n.IsDir()
		case "-d":
			res = err == nil && n.IsDir()
		case "-x":
			res = err == nil && n.Mode&0o111 != 0
		case "-z":
			res = a[1] == ""
		case "-n":
			res = a[1] != ""
		case "-s":
			res = err == nil && n.Size() > 0
		case "-r", "-w":
			res = err == nil
		case "-L", "-h":
			res = err == nil && n.Mode&fs.ModeSymlink != 0
		}
	case len(a) == 3:
		x, _ := strconv.Atoi(a[0])
		y, _ := strconv.Atoi(a[2])
		switch a[1] {
		case "=", "==":
			res = a[0] == a[2]
		case "!=":
			res = a[0] != a[2]
		case "-eq":
			res = x == y
		case "-ne":
			res = x != y
		case "-gt":
			res = x > y
		case "-lt":
			res = x < y
		case "-ge":
			res = x >= y
		case "-le":
			res = x <= y
		}
	}
	if res != neg {
		return 0
	}
	return 1
}
