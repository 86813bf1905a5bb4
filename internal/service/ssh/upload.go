package ssh

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/shell"
	"github.com/decnet/decnet/internal/spool"
)

// maxVFSCopy is the largest upload also placed in the session's emulated
// file system (the quarantine keeps up to its own cap).
const maxVFSCopy = 8 << 20

// capWriter keeps the first n bytes written to it.
type capWriter struct {
	b bytes.Buffer
	n int
}

func (c *capWriter) Write(p []byte) (int, error) {
	if room := c.n - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// store quarantines one uploaded file, copies it into the VFS when small
// enough, and emits ssh.file.upload.
func (s *session) store(r io.Reader, vfsPath, transfer string, mode fs.FileMode) error {
	cw := &capWriter{n: maxVFSCopy + 1}
	tee := io.TeeReader(r, cw)
	q := s.cn.srv.env.Quarantine
	var a spool.Artifact
	var err error
	if q != nil {
		a, err = q.Put(tee)
	} else {
		var n int64
		n, err = io.Copy(io.Discard, tee)
		a = spool.Artifact{Size: n, SHA256: sha256hex(cw.b.Bytes())}
	}
	if err != nil {
		s.cn.srv.env.Log.Error("quarantine upload", "err", err)
		return err
	}
	sh := s.cn.shell()
	if cw.b.Len() <= maxVFSCopy {
		if sh.FS.WriteFile(vfsPath, cw.b.Bytes(), false) == nil {
			_ = sh.FS.Chmod(vfsPath, mode)
		}
	}
	s.emit("ssh.file.upload", map[string]any{"transfer": transfer, "name": event.Text([]byte(path.Base(vfsPath)), 1024),
		"path": event.Text([]byte(vfsPath), event.MaxField), "directory": event.Text([]byte(path.Dir(vfsPath)), event.MaxField),
		"size": a.Size, "sha256": a.SHA256, "truncated": a.Truncated, "stored": q != nil})
	return nil
}

// scp serves "scp -t" (sink mode: the client uploads). Source mode
// (-f, downloads) answers as scp does for a missing file.
func (s *session) scp(args []string) uint32 {
	sink, target := false, "."
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			if strings.Contains(a, "t") {
				sink = true
			}
			continue
		}
		target = a
	}
	sh := s.cn.shell()
	if !sink {
		return s.scpSource(sh, target)
	}
	dir := shell.Clean(sh.Cwd, target)
	single := ""
	if n, err := sh.FS.Stat(dir); err != nil || !n.IsDir() {
		single, dir = dir, path.Dir(dir)
	}
	ok := []byte{0}
	r := bufio.NewReaderSize(s.ch, 4096)
	_, _ = s.ch.Write(ok)
	stack := []string{dir}
	for {
		line, err := readLine(r, 4096)
		if err != nil {
			return 0
		}
		if line == "" {
			continue
		}
		switch line[0] {
		case 'T':
			_, _ = s.ch.Write(ok)
		case 'D':
			f := strings.SplitN(line[1:], " ", 3)
			if len(f) != 3 || len(stack) > 32 {
				return s.scpError("protocol error: bad directory")
			}
			d := path.Join(stack[len(stack)-1], path.Base(f[2]))
			_ = sh.FS.Mkdir(d, true)
			stack = append(stack, d)
			_, _ = s.ch.Write(ok)
		case 'E':
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			_, _ = s.ch.Write(ok)
		case 'C':
			f := strings.SplitN(line[1:], " ", 3)
			if len(f) != 3 {
				return s.scpError("protocol error: expected control record")
			}
			mode, err1 := strconv.ParseUint(f[0], 8, 32)
			size, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 != nil || err2 != nil || size < 0 {
				return s.scpError("protocol error: size not delimited")
			}
			name := path.Base(f[2])
			dst := path.Join(stack[len(stack)-1], name)
			if single != "" && len(stack) == 1 {
				dst = single
			}
			_, _ = s.ch.Write(ok)
			if err := s.store(io.LimitReader(r, size), dst, "scp", fs.FileMode(mode)&fs.ModePerm); err != nil {
				return 1
			}
			if _, err := r.ReadByte(); err != nil { // the client's \0 after the data
				return 1
			}
			_, _ = s.ch.Write(ok)
		default:
			return s.scpError("protocol error: unexpected <newline>")
		}
	}
}

// scpSource serves "scp -f": it sends one file of the emulated file
// system and records the download.
func (s *session) scpSource(sh *shell.Shell, target string) uint32 {
	r := bufio.NewReader(s.ch)
	if b, err := r.ReadByte(); err != nil || b != 0 {
		return 1
	}
	p := shell.Clean(sh.Cwd, target)
	n, err := sh.FS.Stat(p)
	if err != nil || n.IsDir() {
		msg := "No such file or directory"
		if err == nil {
			msg = "not a regular file"
		}
		_, _ = s.ch.Write([]byte("\x01scp: " + target + ": " + msg + "\n"))
		return 1
	}
	data := n.Content()
	fmt.Fprintf(s.ch, "C%04o %d %s\n", n.Mode&fs.ModePerm, len(data), path.Base(p))
	if b, err := r.ReadByte(); err != nil || b != 0 {
		return 1
	}
	_, _ = s.ch.Write(append(append([]byte(nil), data...), 0))
	_, _ = r.ReadByte()
	s.emit("ssh.file.download", map[string]any{"transfer": "scp", "path": event.Text([]byte(p), event.MaxField),
		"size": len(data), "sha256": sha256hex(data)})
	return 0
}

func (s *session) scpError(msg string) uint32 {
	_, _ = s.ch.Write([]byte("\x01scp: " + msg + "\n"))
	return 1
}

func readLine(r *bufio.Reader, max int) (string, error) {
	var b []byte
	for len(b) < max {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		b = append(b, c)
	}
	return "", io.ErrShortBuffer
}

// sftp serves the sftp subsystem over the session's emulated file system;
// uploads are quarantined.
func (s *session) sftp() uint32 {
	sh := s.cn.shell()
	h := &sftpFS{s: s, fs: sh.FS, home: sh.Home}
	srv := sftp.NewRequestServer(noClose{s.ch}, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h},
		sftp.WithStartDirectory(sh.Home))
	_ = srv.Serve()
	_ = srv.Close()
	return 0
}

// noClose keeps the sftp server from closing the channel before the exit
// status is sent.
type noClose struct{ io.ReadWriter }

func (noClose) Close() error { return nil }

type sftpFS struct {
	s    *session
	fs   *shell.FS
	home string
}

func (h *sftpFS) abs(p string) string { return shell.Clean(h.home, p) }

func (h *sftpFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	data, err := h.fs.ReadFile(h.abs(r.Filepath))
	if err != nil {
		return nil, sftpErr(err)
	}
	return bytes.NewReader(data), nil
}

func (h *sftpFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	p := h.abs(r.Filepath)
	if n, err := h.fs.Stat(path.Dir(p)); err != nil || !n.IsDir() {
		return nil, os.ErrNotExist
	}
	return &upload{h: h, path: p}, nil
}

// upload buffers an SFTP upload (written at offsets) up to the quarantine
// bound and stores it when the client closes the handle.
type upload struct {
	h    *sftpFS
	path string
	mu   sync.Mutex
	buf  []byte
	size int64
	over bool
}

func (u *upload) WriteAt(p []byte, off int64) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	end := off + int64(len(p))
	if end > u.size {
		u.size = end
	}
	if end > 64<<20 {
		u.over = true
		return len(p), nil
	}
	if int64(len(u.buf)) < end {
		u.buf = append(u.buf, make([]byte, end-int64(len(u.buf)))...)
	}
	copy(u.buf[off:], p)
	return len(p), nil
}

func (u *upload) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.h.s.store(bytes.NewReader(u.buf), u.path, "sftp", 0o644)
}

func (h *sftpFS) Filecmd(r *sftp.Request) error {
	p := h.abs(r.Filepath)
	switch r.Method {
	case "Setstat":
		if r.Attributes() != nil && r.AttrFlags().Permissions {
			return sftpErr(h.fs.Chmod(p, r.Attributes().FileMode()))
		}
		return nil
	case "Rename", "PosixRename":
		return sftpErr(h.fs.Rename(p, h.abs(r.Target)))
	case "Rmdir":
		return sftpErr(h.fs.Remove(p, true))
	case "Remove":
		return sftpErr(h.fs.Remove(p, false))
	case "Mkdir":
		return sftpErr(h.fs.Mkdir(p, false))
	case "Symlink", "Link":
		return os.ErrPermission
	}
	return sftp.ErrSSHFxOpUnsupported
}

func (h *sftpFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := h.abs(r.Filepath)
	switch r.Method {
	case "List":
		kids, err := h.fs.ReadDir(p)
		if err != nil {
			return nil, sftpErr(err)
		}
		out := make(lister, len(kids))
		for i, k := range kids {
			out[i] = fileInfo{k}
		}
		return out, nil
	case "Stat", "Lstat":
		n, err := h.fs.Stat(p)
		if r.Method == "Lstat" {
			n, err = h.fs.Lstat(p)
		}
		if err != nil {
			return nil, sftpErr(err)
		}
		return lister{fileInfo{n}}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// RealPath implements sftp.RealPathFileLister.
func (h *sftpFS) RealPath(p string) (string, error) { return h.abs(p), nil }

func sftpErr(err error) error {
	switch err {
	case nil:
		return nil
	case shell.ErrNotExist:
		return os.ErrNotExist
	case shell.ErrPerm:
		return os.ErrPermission
	}
	return sftp.ErrSSHFxFailure
}

type lister []os.FileInfo

func (l lister) ListAt(dst []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if int(off)+n >= len(l) {
		return n, io.EOF
	}
	return n, nil
}

type fileInfo struct{ n *shell.Node }

func (f fileInfo) Name() string       { return f.n.Name }
func (f fileInfo) Size() int64        { return f.n.Size() }
func (f fileInfo) Mode() fs.FileMode  { return f.n.Mode }
func (f fileInfo) ModTime() time.Time { return f.n.ModTime }
func (f fileInfo) IsDir() bool        { return f.n.IsDir() }
func (f fileInfo) Sys() any           { return nil }
