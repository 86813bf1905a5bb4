package shell

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The text tools bots pipe through in their one-liners, written to give
// what coreutils, sed and awk give for the forms they use (checked
// against the real tools by TestTextToolsAgainstRealOnes).

// trSet expands a tr set: ranges (a-z), classes ([:upper:]), escapes.
func trSet(spec string) []rune {
	classes := map[string]string{
		"[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "[:lower:]": "abcdefghijklmnopqrstuvwxyz", "[:digit:]": "0123456789",
		"[:space:]": " \t\n\v\f\r", "[:blank:]": " \t", "[:punct:]": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
	}
	classes["[:alpha:]"] = classes["[:upper:]"] + classes["[:lower:]"]
	classes["[:alnum:]"] = classes["[:alpha:]"] + classes["[:digit:]"]
	var out []rune
	rs := []rune(spec)
	for i := 0; i < len(rs) && len(out) < 4096; i++ {
		if rs[i] == '[' {
			rest := string(rs[i:])
			if end := strings.Index(rest, ":]"); end > 0 {
				if c, ok := classes[rest[:end+2]]; ok { // class names are ASCII
					out = append(out, []rune(c)...)
					i += end + 1
					continue
				}
			}
		}
		c := rs[i]
		if c == '\\' && i+1 < len(rs) {
			i++
			c = map[rune]rune{'n': '\n', 't': '\t', 'r': '\r', '\\': '\\'}[rs[i]]
			if c == 0 {
				c = rs[i]
			}
		}
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] >= c {
			for r := c; r <= rs[i+2] && len(out) < 4096; r++ {
				out = append(out, r)
			}
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

func cmdTr(_ *Shell, args []string, out, errw io.Writer, in []byte) int {
	f, rest := flags(args[1:])
	if len(rest) == 0 || (!f['d'] && !f['s'] && len(rest) < 2) {
		fmt.Fprintf(errw, "tr: missing operand\nTry 'tr --help' for more information.\n")
		return 1
	}
	set1 := trSet(rest[0])
	var set2 []rune
	if len(rest) > 1 {
		set2 = trSet(rest[1])
	}
	in1 := func(r rune) bool { return slices.Contains(set1, r) != f['c'] }
	var b strings.Builder
	var last rune = -1
	squeeze := set1
	if len(set2) > 0 {
		squeeze = set2
	}
	for _, r := range string(in) {
		switch {
		case f['d'] && in1(r):
			continue
		case !f['d'] && len(set2) > 0 && in1(r):
			if i := slices.Index(set1, r); i >= 0 && !f['c'] {
				r = set2[min(i, len(set2)-1)]
			} else {
				r = set2[len(set2)-1]
			}
		}
		if f['s'] && r == last && slices.Contains(squeeze, r) {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	io.WriteString(out, b.String())
	return 0
}

func cmdUniq(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	f, rest := flags(args[1:])
	data, code := s.inputs(rest, in, "uniq", errw)
	ls := lines(data)
	eq := func(a, b string) bool {
		if f['i'] {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	for i := 0; i < len(ls); {
		j := i + 1
		for j < len(ls) && eq(ls[j], ls[i]) {
			j++
		}
		n := j - i
		if (!f['d'] || n > 1) && (!f['u'] || n == 1) {
			if f['c'] {
				fmt.Fprintf(out, "%7d %s", n, ls[i])
			} else {
				io.WriteString(out, ls[i])
			}
		}
		i = j
	}
	return code
}

func cmdSort(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	var numeric, reverse, unique bool
	key, sep := 0, ""
	var files []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-k" && i+1 < len(args):
			i++
			key, _ = strconv.Atoi(strings.SplitN(args[i], ",", 2)[0])
		case strings.HasPrefix(a, "-k"):
			key, _ = strconv.Atoi(strings.SplitN(a[2:], ",", 2)[0])
		case a == "-t" && i+1 < len(args):
			i++
			sep = args[i]
		case strings.HasPrefix(a, "-t"):
			sep = a[2:]
		case strings.HasPrefix(a, "-") && len(a) > 1:
			numeric = numeric || strings.ContainsAny(a, "ng")
			reverse = reverse || strings.Contains(a, "r")
			unique = unique || strings.Contains(a, "u")
		default:
			files = append(files, a)
		}
	}
	data, code := s.inputs(files, in, "sort", errw)
	ls := lines(data)
	field := func(l string) string {
		l = strings.TrimSuffix(l, "\n")
		if key < 1 {
			return l
		}
		var parts []string
		if sep != "" {
			parts = strings.Split(l, sep)
		} else {
			parts = strings.Fields(l)
		}
		if key > len(parts) {
			return ""
		}
		return parts[key-1]
	}
	num := func(v string) float64 {
		v = strings.TrimSpace(v)
		end := 0
		for end < len(v) && (v[end] >= '0' && v[end] <= '9' || v[end] == '.' || (end == 0 && v[end] == '-')) {
			end++
		}
		n, _ := strconv.ParseFloat(v[:end], 64)
		return n
	}
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := field(ls[i]), field(ls[j])
		if numeric {
			if x, y := num(a), num(b); x != y {
				return x < y
			}
			return ls[i] < ls[j]
		}
		if a != b {
			return a < b
		}
		return ls[i] < ls[j]
	})
	if reverse {
		slices.Reverse(ls)
	}
	if unique {
		ls = slices.CompactFunc(ls, func(a, b string) bool { return field(a) == field(b) })
	}
	io.WriteString(out, strings.Join(ls, ""))
	return code
}

func cmdSeq(_ *Shell, args []string, out, errw io.Writer, _ []byte) int {
	var nums []int64
	for _, a := range args[1:] {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			fmt.Fprintf(errw, "seq: invalid floating point argument: ‘%s’\nTry 'seq --help' for more information.\n", a)
			return 1
		}
		nums = append(nums, n)
	}
	first, step, last := int64(1), int64(1), int64(0)
	switch len(nums) {
	case 1:
		last = nums[0]
	case 2:
		first, last = nums[0], nums[1]
	case 3:
		first, step, last = nums[0], nums[1], nums[2]
	default:
		fmt.Fprintf(errw, "seq: missing operand\nTry 'seq --help' for more information.\n")
		return 1
	}
	if step == 0 {
		fmt.Fprintf(errw, "seq: invalid Zero increment value: ‘0’\nTry 'seq --help' for more information.\n")
		return 1
	}
	var b strings.Builder
	for n := first; (step > 0 && n <= last || step < 0 && n >= last) && b.Len() < MaxOutput; n += step {
		b.WriteString(strconv.FormatInt(n, 10) + "\n")
	}
	io.WriteString(out, b.String())
	return 0
}

// cmdXargs runs the command (echo by default) with the input's words as
// arguments, all at once, -n at a time, or once per line with -I.
func cmdXargs(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	per, repl := 0, ""
	i := 1
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch a := args[i]; {
		case a == "-n" && i+1 < len(args):
			i++
			per, _ = strconv.Atoi(args[i])
		case strings.HasPrefix(a, "-n"):
			per, _ = strconv.Atoi(a[2:])
		case a == "-I" && i+1 < len(args):
			i++
			repl = args[i]
		case strings.HasPrefix(a, "-I"):
			repl = a[2:]
		}
	}
	cmd := args[i:]
	if len(cmd) == 0 {
		cmd = []string{"echo"}
	}
	code, runs := 0, 0
	run := func(extra []string) {
		if runs++; runs > MaxCommands {
			return
		}
		argv := slices.Clone(cmd)
		if repl != "" {
			for k := range argv {
				argv[k] = strings.ReplaceAll(argv[k], repl, strings.Join(extra, " "))
			}
		} else {
			argv = append(argv, extra...)
		}
		if c := s.exec(argv, out, errw, nil); c != 0 {
			code = 123
		}
	}
	if repl != "" {
		for _, l := range lines(in) {
			if l = strings.TrimSpace(l); l != "" {
				run([]string{l})
			}
		}
		return code
	}
	words := strings.Fields(string(in))
	if per <= 0 {
		per = len(words)
	}
	if len(words) == 0 {
		run(nil) // GNU xargs runs the command once on empty input
		return code
	}
	for k := 0; k < len(words); k += per {
		run(words[k:min(k+per, len(words))])
	}
	return code
}

// sedCmd is one command of a sed script: an optional address and s, d
// or p.
type sedCmd struct {
	addrRE   *regexp.Regexp
	addrLine int // 0 none, -1 the last line
	op       byte
	re       *regexp.Regexp
	repl     string
	global   bool
	print    bool
}

// parseSed reads the script forms bots use: s/re/repl/[gpI], /re/d,
// /re/p, Nd, Np, $d, with ; between commands.
func parseSed(script string) ([]sedCmd, error) {
	var cmds []sedCmd
	for len(script) > 0 && len(cmds) < 64 {
		script = strings.TrimLeft(script, " ;\n")
		if script == "" {
			break
		}
		var c sedCmd
		switch {
		case script[0] == '/':
			end := strings.IndexByte(script[1:], '/')
			if end < 0 {
				return nil, fmt.Errorf("unterminated address regex")
			}
			re, err := regexp.Compile(bre(script[1 : 1+end]))
			if err != nil {
				return nil, err
			}
			c.addrRE, script = re, script[end+2:]
		case script[0] == '$':
			c.addrLine, script = -1, script[1:]
		case script[0] >= '0' && script[0] <= '9':
			j := 0
			for j < len(script) && script[j] >= '0' && script[j] <= '9' {
				j++
			}
			c.addrLine, _ = strconv.Atoi(script[:j])
			script = script[j:]
		}
		if script == "" {
			return nil, fmt.Errorf("missing command")
		}
		c.op = script[0]
		switch c.op {
		case 'd', 'p':
			script = script[1:]
		case 's':
			if len(script) < 2 {
				return nil, fmt.Errorf("unterminated `s' command")
			}
			delim := script[1]
			parts, rest, ok := splitSed(script[2:], delim)
			if !ok {
				return nil, fmt.Errorf("unterminated `s' command")
			}
			flagsEnd := 0
			for flagsEnd < len(rest) && strings.IndexByte("gpI", rest[flagsEnd]) >= 0 {
				flagsEnd++
			}
			fl := rest[:flagsEnd]
			pat := bre(parts[0])
			if strings.Contains(fl, "I") {
				pat = "(?i)" + pat
			}
			re, err := regexp.Compile(pat)
			if err != nil {
				return nil, err
			}
			c.re, c.repl, c.global, c.print = re, sedRepl(parts[1]), strings.Contains(fl, "g"), strings.Contains(fl, "p")
			script = rest[flagsEnd:]
		default:
			return nil, fmt.Errorf("unknown command: `%c'", c.op)
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

// splitSed splits "re/repl/rest" on an unescaped delim.
func splitSed(s string, delim byte) ([2]string, string, bool) {
	var parts [2]string
	var b strings.Builder
	k := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == delim {
			b.WriteByte(delim)
			i++
			continue
		}
		if s[i] == delim {
			parts[k] = b.String()
			b.Reset()
			if k++; k == 2 {
				return parts, s[i+1:], true
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return parts, "", false
}

// bre turns a POSIX basic regular expression into RE2: \( \) \{ \} \+
// \? \| are the operators, bare ( ) { } + ? | are literal.
func bre(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			n := p[i+1]
			i++
			if strings.IndexByte("(){}+?|", n) >= 0 {
				b.WriteByte(n)
			} else {
				b.WriteByte('\\')
				b.WriteByte(n)
			}
			continue
		}
		if strings.IndexByte("(){}+?|", c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sedRepl turns sed's replacement (& and \1..\9) into Go's.
func sedRepl(r string) string {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		switch {
		case r[i] == '\\' && i+1 < len(r) && r[i+1] >= '1' && r[i+1] <= '9':
			b.WriteString("${" + string(r[i+1]) + "}")
			i++
		case r[i] == '\\' && i+1 < len(r):
			if r[i+1] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(r[i+1])
			}
			i++
		case r[i] == '&':
			b.WriteString("${0}")
		case r[i] == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(r[i])
		}
	}
	return b.String()
}

func cmdSed(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	quiet, inPlace := false, false
	var scripts, files []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-n":
			quiet = true
		case a == "-i" || strings.HasPrefix(a, "-i"):
			inPlace = true
		case a == "-e" && i+1 < len(args):
			i++
			scripts = append(scripts, args[i])
		case a == "-E" || a == "-r":
		case strings.HasPrefix(a, "-") && len(a) > 1:
		default:
			if len(scripts) == 0 && !slices.Contains(args[1:i], "-e") {
				scripts = append(scripts, a)
			} else {
				files = append(files, a)
			}
		}
	}
	if len(scripts) == 0 {
		fmt.Fprintf(errw, "Usage: sed [OPTION]... {script-only-if-no-other-script} [input-file]...\n")
		return 1
	}
	cmds, err := parseSed(strings.Join(scripts, "\n"))
	if err != nil {
		fmt.Fprintf(errw, "sed: -e expression #1, char 0: %s\n", err)
		return 1
	}
	edit := func(data []byte) string {
		var b strings.Builder
		ls := lines(data)
		for n, l := range ls {
			line, deleted := strings.TrimSuffix(l, "\n"), false
			var extra []string
			for _, c := range cmds {
				if c.addrRE != nil && !c.addrRE.MatchString(line) || c.addrLine > 0 && c.addrLine != n+1 || c.addrLine == -1 && n != len(ls)-1 {
					continue
				}
				switch c.op {
				case 'd':
					deleted = true
				case 'p':
					extra = append(extra, line)
				case 's':
					if !c.re.MatchString(line) {
						continue
					}
					if c.global {
						line = c.re.ReplaceAllString(line, c.repl)
					} else {
						loc := c.re.FindStringSubmatchIndex(line)
						line = line[:loc[0]] + string(c.re.ExpandString(nil, c.repl, line, loc)) + line[loc[1]:]
					}
					if c.print {
						extra = append(extra, line)
					}
				}
				if deleted {
					break
				}
			}
			if deleted {
				continue
			}
			for _, x := range extra {
				b.WriteString(x + "\n")
			}
			if !quiet {
				b.WriteString(line + "\n")
			}
			if b.Len() > MaxOutput {
				break
			}
		}
		return b.String()
	}
	if inPlace {
		for _, f := range files {
			p := s.path(f)
			data, err := s.FS.ReadFile(p)
			if err != nil {
				fmt.Fprintf(errw, "sed: can't read %s: No such file or directory\n", f)
				return 2
			}
			if err := s.FS.WriteFile(p, []byte(edit(data)), false); err != nil {
				fmt.Fprintf(errw, "sed: couldn't open temporary file %s: Permission denied\n", f)
				return 4
			}
		}
		return 0
	}
	data, code := s.inputs(files, in, "sed", errw)
	io.WriteString(out, edit(data))
	return code
}
