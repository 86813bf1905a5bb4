package shell

import (
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// fsError is an FS error; its text is the strerror message coreutils
// prints after the file name, hence capitalised.
type fsError string

func (e fsError) Error() string { return string(e) }

// FS errors, worded as the coreutils messages that follow them.
var (
	ErrNotExist = error(fsError("No such file or directory"))
	ErrIsDir    = error(fsError("Is a directory"))
	ErrNotDir   = error(fsError("Not a directory"))
	ErrExist    = error(fsError("File exists"))
	ErrNoSpace  = error(fsError("No space left on device"))
	ErrNotEmpty = error(fsError("Directory not empty"))
	ErrPerm     = error(fsError("Operation not permitted"))
)

// DefaultMaxBytes bounds what one session can write into its file system.
const DefaultMaxBytes = 32 << 20

// maxNodes bounds the number of files one session can create.
const maxNodes = 20000

// Node is one file, directory or symlink of the in-memory file system.
type Node struct {
	Name     string
	Mode     fs.FileMode // permission bits plus fs.ModeDir / fs.ModeSymlink
	UID, GID int
	ModTime  time.Time
	Data     []byte
	Link     string        // symlink target
	Gen      func() []byte // dynamic content (/proc), overrides Data
	Sparse   int           // a binary of this size, made up when read
	children map[string]*Node
}

// IsDir reports whether n is a directory.
func (n *Node) IsDir() bool { return n.Mode&fs.ModeDir != 0 }

// Content returns the file's bytes.
func (n *Node) Content() []byte {
	if n.Gen != nil {
		return n.Gen()
	}
	if n.Sparse > 0 {
		return []byte(elfStub(n.Sparse))
	}
	return n.Data
}

// Size returns the file size as ls shows it.
func (n *Node) Size() int64 {
	switch {
	case n.IsDir():
		return 4096
	case n.Mode&fs.ModeSymlink != 0:
		return int64(len(n.Link))
	case n.Sparse > 0:
		return int64(n.Sparse)
	case n.Gen != nil:
		return 0 // like /proc
	}
	return int64(len(n.Data))
}

// FS is an in-memory file system: nothing in it touches the host. Writes
// are bounded in bytes and nodes. It is safe for concurrent use (a shell
// and an SFTP channel of one connection share it).
type FS struct {
	mu    sync.Mutex
	root  *Node
	used  int64
	max   int64
	nodes int
	now   func() time.Time

	// The operator's dropped files this tree holds (Shell.SyncDrops):
	// their generation and the nodes placed for them.
	dropMu  sync.Mutex
	dropGen uint64
	dropped map[string]*Node
}

// NewFS returns an empty file system holding at most max written bytes.
func NewFS(max int64) *FS {
	if max <= 0 {
		max = DefaultMaxBytes
	}
	return &FS{root: &Node{Name: "/", Mode: fs.ModeDir | 0o755, children: map[string]*Node{}}, max: max, now: time.Now}
}

// Clean makes p absolute relative to cwd and removes . and .. elements.
func Clean(cwd, p string) string {
	if !strings.HasPrefix(p, "/") {
		p = cwd + "/" + p
	}
	return path.Clean(p)
}

func split(p string) []string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// lookup resolves p (absolute), following symlinks except in the last
// element when nofollow is set.
func (f *FS) lookup(p string, nofollow bool) (*Node, error) {
	return f.walk(p, nofollow, 0)
}

func (f *FS) walk(p string, nofollow bool, depth int) (*Node, error) {
	if depth > 8 {
		return nil, ErrNotExist
	}
	n := f.root
	parts := split(p)
	for i, name := range parts {
		if !n.IsDir() {
			return nil, ErrNotDir
		}
		c, ok := n.children[name]
		if !ok {
			return nil, ErrNotExist
		}
		if c.Mode&fs.ModeSymlink != 0 && (i < len(parts)-1 || !nofollow) {
			target := c.Link
			if !strings.HasPrefix(target, "/") {
				target = "/" + strings.Join(parts[:i], "/") + "/" + target
			}
			t, err := f.walk(target, false, depth+1)
			if err != nil {
				return nil, err
			}
			c = t
		}
		n = c
	}
	return n, nil
}

// Stat returns the node at p, following symlinks.
func (f *FS) Stat(p string) (*Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookup(p, false)
}

// Lstat returns the node at p without following a final symlink.
func (f *FS) Lstat(p string) (*Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookup(p, true)
}

// ReadFile returns a copy of the content of the file at p.
func (f *FS) ReadFile(p string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(p, false)
	if err != nil {
		return nil, err
	}
	if n.IsDir() {
		return nil, ErrIsDir
	}
	return append([]byte(nil), n.Content()...), nil
}

// ReadDir lists a directory sorted by name.
func (f *FS) ReadDir(p string) ([]*Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(p, false)
	if err != nil {
		return nil, err
	}
	if !n.IsDir() {
		return nil, ErrNotDir
	}
	out := make([]*Node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *FS) parent(p string) (*Node, string, error) {
	dir, name := path.Split(path.Clean(p))
	if name == "" || name == "/" {
		return nil, "", ErrExist
	}
	d, err := f.lookup(dir, false)
	if err != nil {
		return nil, "", err
	}
	if !d.IsDir() {
		return nil, "", ErrNotDir
	}
	return d, name, nil
}

// WriteFile creates or replaces (or with appendTo, extends) a file.
func (f *FS) WriteFile(p string, data []byte, appendTo bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, err := f.lookup(p, false); err == nil {
		if n.IsDir() {
			return ErrIsDir
		}
		if n.Gen != nil {
			return ErrPerm
		}
		if n.Sparse > 0 {
			n.Data, n.Sparse = nil, 0
		}
		grow := int64(len(data))
		if !appendTo {
			grow -= int64(len(n.Data))
		}
		if f.used+grow > f.max {
			return ErrNoSpace
		}
		f.used += grow
		if appendTo {
			n.Data = append(n.Data, data...)
		} else {
			n.Data = append([]byte(nil), data...)
		}
		n.ModTime = f.now()
		return nil
	}
	d, name, err := f.parent(p)
	if err != nil {
		return err
	}
	if f.used+int64(len(data)) > f.max || f.nodes >= maxNodes {
		return ErrNoSpace
	}
	f.used += int64(len(data))
	f.nodes++
	d.children[name] = &Node{Name: name, Mode: 0o644, ModTime: f.now(), Data: append([]byte(nil), data...)}
	return nil
}

// Add places a node at p, creating parent directories; it is used to build
// the persona's tree and does not count against the write bound.
func (f *FS) Add(p string, n *Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := split(p)
	d := f.root
	for _, name := range parts[:len(parts)-1] {
		c, ok := d.children[name]
		if !ok {
			c = &Node{Name: name, Mode: fs.ModeDir | 0o755, ModTime: n.ModTime, children: map[string]*Node{}}
			d.children[name] = c
		}
		if !c.IsDir() {
			return
		}
		d = c
	}
	if len(parts) == 0 {
		return
	}
	n.Name = parts[len(parts)-1]
	if n.IsDir() && n.children == nil {
		n.children = map[string]*Node{}
	}
	if old, ok := d.children[n.Name]; ok && old.IsDir() && n.IsDir() {
		n.children = old.children
	}
	d.children[n.Name] = n
}

// Mkdir creates a directory; with parents, missing parents too and an
// existing directory is no error.
func (f *FS) Mkdir(p string, parents bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, err := f.lookup(p, false); err == nil {
		if parents && n.IsDir() {
			return nil
		}
		return ErrExist
	}
	if parents {
		d := f.root
		for _, name := range split(p) {
			c, ok := d.children[name]
			if !ok {
				if f.nodes >= maxNodes {
					return ErrNoSpace
				}
				f.nodes++
				c = &Node{Name: name, Mode: fs.ModeDir | 0o755, ModTime: f.now(), children: map[string]*Node{}}
				d.children[name] = c
			}
			if !c.IsDir() {
				return ErrNotDir
			}
			d = c
		}
		return nil
	}
	d, name, err := f.parent(p)
	if err != nil {
		return err
	}
	if f.nodes >= maxNodes {
		return ErrNoSpace
	}
	f.nodes++
	d.children[name] = &Node{Name: name, Mode: fs.ModeDir | 0o755, ModTime: f.now(), children: map[string]*Node{}}
	return nil
}

// Remove deletes a file, or a directory when recursive (or empty).
func (f *FS) Remove(p string, recursive bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(p, true)
	if err != nil {
		return err
	}
	if n.IsDir() && !recursive {
		return ErrIsDir
	}
	d, name, err := f.parent(p)
	if err != nil {
		return err
	}
	delete(d.children, name)
	return nil
}

// Rename moves a node; into an existing directory it keeps its name.
func (f *FS) Rename(from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(from, true)
	if err != nil {
		return err
	}
	if t, err := f.lookup(to, false); err == nil && t.IsDir() {
		to = path.Join(to, n.Name)
	}
	if strings.HasPrefix(to+"/", path.Clean(from)+"/") {
		return ErrPerm
	}
	sd, sname, err := f.parent(from)
	if err != nil {
		return err
	}
	dd, dname, err := f.parent(to)
	if err != nil {
		return err
	}
	delete(sd.children, sname)
	n.Name = dname
	dd.children[dname] = n
	return nil
}

// Chmod sets the permission bits.
func (f *FS) Chmod(p string, mode fs.FileMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(p, false)
	if err != nil {
		return err
	}
	n.Mode = n.Mode&^fs.ModePerm | mode&fs.ModePerm
	return nil
}

// Touch creates an empty file or updates its time.
func (f *FS) Touch(p string) error {
	f.mu.Lock()
	n, err := f.lookup(p, false)
	if err == nil {
		n.ModTime = f.now()
		f.mu.Unlock()
		return nil
	}
	f.mu.Unlock()
	return f.WriteFile(p, nil, true)
}
