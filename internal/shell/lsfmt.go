package shell

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ls as GNU coreutils 9 prints it: operands that are files first (sorted),
// then each directory; long listings with columns as wide as their widest
// entry, owners by name from /etc/passwd and /etc/group, links counted
// from subdirectories, sizes rounded up with -h; on a terminal, names in
// columns ordered down (80 wide, tabs every 8 as ls indents), one a line
// otherwise.

// lsEntry is one name ls prints and the node it describes.
type lsEntry struct {
	name string
	n    *Node
}

func cmdLs(s *Shell, args []string, out, errw io.Writer, _ []byte) int {
	f, targets := flags(args[1:])
	long := f['l'] || f['n'] || f['g'] || f['o']
	if len(targets) == 0 {
		targets = []string{"."}
	}
	sort.Strings(targets)
	code := 0
	var files []lsEntry
	var dirs []lsEntry
	for _, t := range targets {
		p := s.path(t)
		if long && !strings.HasSuffix(t, "/") || f['d'] {
			// ls -l and -d show a symlink named on the command line itself.
			if ln, err := s.FS.Lstat(p); err == nil && ln.Mode&fs.ModeSymlink != 0 {
				files = append(files, lsEntry{t, ln})
				continue
			}
		}
		n, err := s.FS.Stat(p)
		if err != nil {
			fmt.Fprintf(errw, "ls: cannot access '%s': %s\n", t, err)
			code = 2
			continue
		}
		if !n.IsDir() || f['d'] {
			files = append(files, lsEntry{t, n})
		} else {
			dirs = append(dirs, lsEntry{t, n})
		}
	}
	var b strings.Builder
	if len(files) > 0 {
		s.lsList(&b, files, f, long, s.onTerminal(out))
	}
	for i, d := range dirs {
		if len(files) > 0 || i > 0 {
			b.WriteString("\n")
		}
		if len(targets) > 1 {
			b.WriteString(d.name + ":\n")
		}
		p := s.path(d.name)
		var entries []lsEntry
		if f['a'] {
			parent, _ := s.FS.Stat(path.Dir(p))
			if parent == nil {
				parent = d.n
			}
			entries = append(entries, lsEntry{".", d.n}, lsEntry{"..", parent})
		}
		kids, _ := s.FS.ReadDir(p)
		for _, k := range kids {
			if strings.HasPrefix(k.Name, ".") && !f['a'] && !f['A'] {
				continue
			}
			entries = append(entries, lsEntry{k.Name, k})
		}
		if long {
			var total int64
			for _, e := range entries {
				total += blocksKB(e.n)
			}
			if f['h'] {
				fmt.Fprintf(&b, "total %s\n", humanCeil(float64(total)))
			} else {
				fmt.Fprintf(&b, "total %d\n", total)
			}
		}
		s.lsList(&b, entries, f, long, s.onTerminal(out))
	}
	io.WriteString(out, b.String())
	return code
}

// blocksKB is what a file takes on an ext4 of 4 KiB blocks, in KiB; a
// short symlink is stored in its inode.
func blocksKB(n *Node) int64 {
	switch {
	case n.Mode&fs.ModeSymlink != 0 && len(n.Link) < 60, n.Gen != nil:
		return 0
	case n.IsDir():
		return 4
	}
	return (n.Size() + 4095) / 4096 * 4
}

func (s *Shell) lsList(b *strings.Builder, entries []lsEntry, f map[byte]bool, long, term bool) {
	switch {
	case long:
		s.lsLong(b, entries, f)
	case term && !f['1']:
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.name
		}
		width := 80
		if s.Cols > 0 {
			width = s.Cols
		}
		lsColumns(b, names, width)
	default:
		for _, e := range entries {
			b.WriteString(e.name + "\n")
		}
	}
}

// idNames maps the uids (or gids) of a passwd or group file to names.
func (s *Shell) idNames(file string) map[int]string {
	names := map[int]string{}
	data, _ := s.FS.ReadFile(file)
	for _, l := range strings.Split(string(data), "\n") {
		p := strings.Split(l, ":")
		if len(p) >= 3 {
			if id, err := strconv.Atoi(p[2]); err == nil {
				if _, dup := names[id]; !dup {
					names[id] = p[0]
				}
			}
		}
	}
	return names
}

func (s *Shell) lsLong(b *strings.Builder, entries []lsEntry, f map[byte]bool) {
	users, groups := s.idNames("/etc/passwd"), s.idNames("/etc/group")
	name := func(m map[int]string, id int) string {
		if n, ok := m[id]; ok && !f['n'] {
			return n
		}
		return strconv.Itoa(id)
	}
	type row struct{ mode, links, user, group, size, date, name string }
	rows := make([]row, len(entries))
	var w [4]int
	for i, e := range entries {
		n := e.n
		links := 1
		if n.IsDir() {
			links = 2
			for _, c := range n.children {
				if c.IsDir() {
					links++
				}
			}
		}
		size := strconv.FormatInt(n.Size(), 10)
		if f['h'] {
			size = humanBytes(n.Size())
		}
		nm := e.name
		if n.Mode&fs.ModeSymlink != 0 {
			nm += " -> " + n.Link
		}
		r := row{modeString(n.Mode), strconv.Itoa(links), name(users, n.UID), name(groups, n.GID), size, lsDate(n.ModTime), nm}
		rows[i] = r
		for j, v := range []string{r.links, r.user, r.group, r.size} {
			w[j] = max(w[j], len(v))
		}
	}
	for _, r := range rows {
		fmt.Fprintf(b, "%s %*s", r.mode, w[0], r.links)
		if !f['g'] {
			fmt.Fprintf(b, " %-*s", w[1], r.user)
		}
		if !f['o'] {
			fmt.Fprintf(b, " %-*s", w[2], r.group)
		}
		fmt.Fprintf(b, " %*s %s %s\n", w[3], r.size, r.date, r.name)
	}
}

// lsDate is ls's time: month, day and time for the last six months, the
// year instead for older or future times.
func lsDate(t time.Time) string {
	now := time.Now()
	if now.Sub(t) > 31556952/2*time.Second || t.After(now) {
		return t.Format("Jan _2  2006")
	}
	return t.Format("Jan _2 15:04")
}

// humanCeil formats a size in KiB as -h does: powers of 1024 rounded up,
// one decimal below 10.
func humanCeil(kib float64) string {
	v := kib
	for _, u := range []string{"K", "M", "G", "T"} {
		if v < 1024 || u == "T" {
			if v < 10 {
				return strconv.FormatFloat(math.Ceil(v*10)/10, 'f', 1, 64) + u
			}
			return strconv.FormatFloat(math.Ceil(v), 'f', 0, 64) + u
		}
		v /= 1024
	}
	return ""
}

// humanBytes is ls -h's size: bytes below 1 KiB, else as humanCeil.
func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	return humanCeil(float64(n) / 1024)
}

// lsColumns lays names out as ls -C: the most columns that fit in width,
// filled down, each as wide as its longest name plus two, indented with
// tabs every 8 columns and spaces.
func lsColumns(b *strings.Builder, names []string, width int) {
	n := len(names)
	if n == 0 {
		return
	}
	maxCols := min(n, max(1, (width+2)/3))
	cols := 1
	var widths []int
	for c := maxCols; c >= 1; c-- {
		rows := (n + c - 1) / c
		ws := make([]int, c)
		total := 0
		for i, nm := range names {
			col := i / rows
			l := len(nm)
			if col != c-1 {
				l += 2
			}
			ws[col] = max(ws[col], l)
		}
		for _, x := range ws {
			total += x
		}
		if total < width || c == 1 {
			cols, widths = c, ws
			break
		}
	}
	rows := (n + cols - 1) / cols
	for r := 0; r < rows; r++ {
		pos := 0
		for c, i := 0, r; i < n; c, i = c+1, i+rows {
			b.WriteString(names[i])
			if i+rows >= n {
				break
			}
			from, to := pos+len(names[i]), pos+widths[c]
			for from < to {
				if to/8 > (from+1)/8 {
					b.WriteByte('\t')
					from += 8 - from%8
				} else {
					b.WriteByte(' ')
					from++
				}
			}
			pos += widths[c]
		}
		b.WriteByte('\n')
	}
}
