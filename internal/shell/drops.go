package shell

import (
	"io/fs"
	"time"
)

// SyncDrops brings the operator's dropped files (Machine.Drops) into the
// tree when they changed since the last sync; Run calls it before every
// command line, a host calls it before serving files otherwise (sftp,
// scp). New ones appear, changed ones are replaced, withdrawn ones go
// unless the session has replaced them meanwhile. The state is the
// tree's, so channels sharing one tree (shell, sftp) agree. A drop never
// replaces a directory.
func (s *Shell) SyncDrops() {
	if s.M.Drops == nil {
		return
	}
	gen, files := s.M.Drops()
	f := s.FS
	f.dropMu.Lock()
	defer f.dropMu.Unlock()
	if gen == f.dropGen {
		return
	}
	f.dropGen = gen
	if f.dropped == nil {
		f.dropped = map[string]*Node{}
	}
	now := time.Now().Truncate(time.Second)
	keep := map[string]bool{}
	for _, d := range files {
		keep[d.Path] = true
		if old, ok := f.dropped[d.Path]; ok && string(old.Data) == string(d.Content) && old.Mode == fs.FileMode(d.Mode&0o777) {
			continue // the same drop: what the session did to it stays
		}
		if cur, err := f.Lstat(d.Path); err == nil && cur.IsDir() {
			continue
		}
		uid := 0
		if d.Owner != "" && d.Owner != "root" {
			uid = 1000
		}
		n := &Node{Mode: fs.FileMode(d.Mode & 0o777), UID: uid, GID: uid, Data: append([]byte(nil), d.Content...), ModTime: now}
		f.Add(d.Path, n)
		f.dropped[d.Path] = n
	}
	for p, n := range f.dropped {
		if keep[p] {
			continue
		}
		if cur, err := f.Lstat(p); err == nil && cur == n {
			_ = f.Remove(p, false)
		}
		delete(f.dropped, p)
	}
}
