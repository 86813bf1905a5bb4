package shell

import (
	"io/fs"
	"time"
)

// syncDrops brings the operator's dropped files (Machine.Drops) into the
// tree when they changed since the last command line: new ones appear,
// changed ones are replaced, withdrawn ones go unless the session has
// replaced them meanwhile. A drop never replaces a directory.
func (s *Shell) syncDrops() {
	if s.M.Drops == nil {
		return
	}
	gen, files := s.M.Drops()
	if gen == s.dropGen {
		return
	}
	s.dropGen = gen
	if s.dropped == nil {
		s.dropped = map[string]*Node{}
	}
	now := time.Now().Truncate(time.Second)
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
		if old, ok := s.dropped[f.Path]; ok && string(old.Data) == string(f.Content) && old.Mode == fs.FileMode(f.Mode&0o777) {
			continue
		}
		if cur, err := s.FS.Lstat(f.Path); err == nil && cur.IsDir() {
			continue
		}
		uid := 0
		if f.Owner != "" && f.Owner != "root" {
			uid = 1000
		}
		n := &Node{Mode: fs.FileMode(f.Mode & 0o777), UID: uid, GID: uid, Data: append([]byte(nil), f.Content...), ModTime: now}
		s.FS.Add(f.Path, n)
		s.dropped[f.Path] = n
	}
	for p, n := range s.dropped {
		if keep[p] {
			continue
		}
		if cur, err := s.FS.Lstat(p); err == nil && cur == n {
			_ = s.FS.Remove(p, false)
		}
		delete(s.dropped, p)
	}
}
