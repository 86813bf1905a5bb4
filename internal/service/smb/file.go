package smb

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// open is an open file, directory or pipe.
type open struct {
	persistent, volatile uint64
	node                 *node
	pipe                 *pipe
	path                 string
	write                bool
	deleteOnClose        bool
	readBytes            int64
	upload               []byte
	writes               int
	truncated            bool
	dir                  []*dirEntry // the listing in progress
	dirPos               int
	listed               bool
}

const (
	maxUpload  = 32 << 20 // bytes of one open file captured
	maxPathLen = 1024
)

// Create dispositions and options.
const (
	fileSupersede   = 0
	fileOpen        = 1
	fileCreate      = 2
	fileOpenIf      = 3
	fileOverwrite   = 4
	fileOverwriteIf = 5

	optDirectory     = 0x00000001
	optNonDirectory  = 0x00000040
	optDeleteOnClose = 0x00001000

	writeAccess = 0x00000002 | 0x00000004 | 0x00000010 | 0x00000100 | 0x00010000 | 0x40000000 | 0x10000000 | 0x00040000 | 0x00080000
)

var dispositionNames = []string{"supersede", "open", "create", "open_if", "overwrite", "overwrite_if"}

func randRead(b []byte) { rand.Read(b) }

// fileEvent emits a file event unless the session passed its cap; then
// it says so once.
func (cn *conn) fileEvent(typ string, fields map[string]any) {
	cn.fileEvents++
	if cn.fileEvents > maxFileEvents {
		if !cn.suppressed {
			cn.suppressed = true
			cn.c.Session.Emit(event.Event{Type: "smb.file.suppressed", Fields: map[string]any{"cap": maxFileEvents}})
		}
		return
	}
	cn.c.Session.Emit(event.Event{Type: typ, Fields: fields})
}

func (cn *conn) fileFields(ss *session, t *tree, p string) map[string]any {
	return map[string]any{"share": event.Text([]byte(t.share.name), 256), "path": event.Text([]byte(p), maxPathLen), "user": event.Text([]byte(ss.who()), 512)}
}

// splitPath cleans a client path into its components; false for a path
// Windows refuses (streams, wildcards, ..).
func splitPath(p string) ([]string, bool) {
	p = strings.Trim(strings.ReplaceAll(p, "/", `\`), `\`)
	if p == "" {
		return nil, true
	}
	parts := strings.Split(p, `\`)
	for _, c := range parts {
		if c == "" || c == "." || c == ".." || strings.ContainsAny(c, `:*?"<>|`) || len(c) > 255 {
			return nil, false
		}
	}
	return parts, true
}

func (cn *conn) lookup(root *node, parts []string) (parent, n *node) {
	parent, n = nil, root
	for _, c := range parts {
		if n == nil || !n.dir {
			return nil, nil
		}
		parent, n = n, n.child(c)
	}
	return parent, n
}

func (cn *conn) create(rq *request, ss *session, t *tree) reply {
	b := rq.body
	if len(b) < 56 {
		return fail(statusInvalidParameter)
	}
	access, disp, opts := u32(b, 24), u32(b, 36), u32(b, 40)
	raw := slice(rq.raw, int(u16(b, 44)), int(u16(b, 46)))
	if raw == nil && u16(b, 46) != 0 || len(raw) > 2*maxPathLen || disp > fileOverwriteIf {
		return fail(statusInvalidParameter)
	}
	name := fromUTF16(raw)
	if len(t.opens) >= maxOpens {
		return fail(statusRequestNotAccepted)
	}
	fields := cn.fileFields(ss, t, name)
	fields["disposition"], fields["access"] = dispositionNames[disp], fmt.Sprintf("0x%08x", access)
	o, action, status := cn.openTarget(ss, t, name, access, disp, opts)
	fields["status"] = statusName(status)
	if o != nil {
		fields["directory"] = o.node != nil && o.node.dir
	}
	cn.fileEvent("smb.file.open", fields)
	if status != statusSuccess {
		return fail(status)
	}
	o.persistent, o.volatile = cn.nextFile, cn.nextFile*0x1000+uint64(t.id)
	cn.nextFile++
	t.opens[o.volatile] = o
	var w buf
	w.u16(89)
	w.u8(0) // oplock
	w.u8(0)
	w.u32(action)
	cn.s.mu.Lock()
	writeTimes(&w, o.node)
	size, attrs := int64(0), uint32(attrNormal)
	if o.node != nil {
		size, attrs = o.node.size, o.node.fileAttrs()
	}
	cn.s.mu.Unlock()
	w.u64(allocSize(size, o.node))
	w.u64(uint64(size))
	w.u32(attrs)
	w.u32(0)
	w.u64(o.persistent)
	w.u64(o.volatile)
	w.u32(0)
	w.u32(0)
	return reply{body: w.b}
}

func allocSize(size int64, n *node) uint64 {
	if n == nil || n.dir {
		return 0
	}
	return uint64((size + 4095) &^ 4095)
}

func writeTimes(w *buf, n *node) {
	if n == nil {
		w.zero(32)
		return
	}
	w.u64(filetime(n.created))
	w.u64(filetime(n.accessed))
	w.u64(filetime(n.modified))
	w.u64(filetime(n.modified))
}

// openTarget resolves a CREATE: a pipe on IPC$, or a node of the share's
// tree, made when the disposition says so and the session may write.
func (cn *conn) openTarget(ss *session, t *tree, name string, access, disp, opts uint32) (*open, uint32, uint32) {
	if t.share.ipc {
		pn := strings.ToLower(strings.Trim(name, `\`))
		if _, ok := pipeInterfaces[pn]; !ok {
			return nil, 0, statusObjectNameNotFound
		}
		// Windows serves no pipe to null sessions (NullSessionPipes is
		// empty since 2016); Samba serves them to anyone.
		if ss.anonymous && !cn.s.p.samba {
			return nil, 0, statusAccessDenied
		}
		return &open{pipe: newPipe(cn, ss, pn), path: pn, write: true}, 1, statusSuccess
	}
	parts, ok := splitPath(name)
	if !ok {
		return nil, 0, statusObjectNameInvalid
	}
	cn.s.mu.Lock()
	defer cn.s.mu.Unlock()
	parent, n := cn.lookup(t.share.root, parts)
	wants := access&writeAccess != 0 || disp != fileOpen && disp != fileOpenIf || opts&optDeleteOnClose != 0
	may := cn.canWrite(ss, t.share)
	if access&0x02000000 != 0 { // MAXIMUM_ALLOWED
		wants = wants && access&^0x02000000&writeAccess != 0
	}
	o := &open{path: strings.Join(parts, `\`)}
	if n != nil {
		switch {
		case disp == fileCreate:
			return nil, 0, statusObjectNameCollision
		case opts&optDirectory != 0 && !n.dir:
			return nil, 0, statusNotADirectory
		case opts&optNonDirectory != 0 && n.dir:
			return nil, 0, statusFileIsADirectory
		case wants && !may:
			return nil, 0, statusAccessDenied
		}
		o.node, o.write = n, may && (wants || access&0x02000000 != 0)
		o.deleteOnClose = opts&optDeleteOnClose != 0
		if disp == fileSupersede || disp == fileOverwrite || disp == fileOverwriteIf {
			if n.dir {
				return nil, 0, statusInvalidParameter
			}
			cn.s.store(n, nil)
			n.size, n.modified = 0, time.Now()
			o.upload = []byte{}
			if disp == fileSupersede {
				return o, 0, statusSuccess
			}
			return o, 3, statusSuccess
		}
		return o, 1, statusSuccess
	}
	if parent == nil {
		return nil, 0, statusObjectPathNotFound
	}
	if disp == fileOpen || disp == fileOverwrite {
		return nil, 0, statusObjectNameNotFound
	}
	if !may {
		return nil, 0, statusAccessDenied
	}
	if cn.s.added >= maxNodesAdded {
		return nil, 0, statusDiskFull
	}
	cn.s.added++
	now := time.Now()
	nn := &node{name: parts[len(parts)-1], dir: opts&optDirectory != 0, created: now, modified: now, accessed: now, id: cn.s.nextID()}
	if !nn.dir {
		nn.data, o.upload = []byte{}, []byte{}
	}
	parent.add(nn)
	o.node, o.write = nn, true
	o.deleteOnClose = opts&optDeleteOnClose != 0
	return o, 2, statusSuccess
}

// store replaces a node's kept content within the decky's budget; past
// the budget the node keeps its size and reads back as bait.
func (s *Server) store(n *node, data []byte) {
	s.stored -= int64(len(n.data))
	n.data = nil
	if data != nil && s.stored+int64(len(data)) <= maxStoredBytes {
		n.data = data
		s.stored += int64(len(data))
	}
	if n.data == nil && data == nil {
		n.data = []byte{}
	}
}

func (s *Server) nextID() uint64 {
	var b [4]byte
	randRead(b[:])
	return 0x0002000000000000 | uint64(le.Uint32(b[:]))
}

func (cn *conn) read(rq *request, ss *session, t *tree, o *open) reply {
	b := rq.body
	n := int(u32(b, 4))
	off := int64(u64(b, 8))
	if n > int(cn.s.p.maxFor(cn.dialect)) || off < 0 {
		return fail(statusInvalidParameter)
	}
	if o.pipe != nil {
		data, more := o.pipe.read(n)
		if data == nil {
			return fail(statusPipeEmpty)
		}
		status := uint32(statusSuccess)
		if more {
			status = statusBufferOverflow
		}
		return reply{status: status, body: readBody(data)}
	}
	if o.node.dir {
		return fail(statusInvalidDeviceReq)
	}
	cn.s.mu.Lock()
	if off >= o.node.size {
		cn.s.mu.Unlock()
		return fail(statusEndOfFile)
	}
	p := make([]byte, min(int64(n), o.node.size-off))
	got := o.node.readAt(p, off)
	cn.s.mu.Unlock()
	o.readBytes += int64(got)
	return reply{body: readBody(p[:got])}
}

func readBody(data []byte) []byte {
	var w buf
	w.u16(17)
	w.u8(headerSize + 16)
	w.u8(0)
	w.u32(uint32(len(data)))
	w.u32(0)
	w.u32(0)
	w.bytes(data)
	return w.b
}

func (cn *conn) write(rq *request, ss *session, t *tree, o *open) reply {
	b := rq.body
	n := int(u32(b, 4))
	off := int64(u64(b, 8))
	data := slice(rq.raw, int(u16(b, 2)), n)
	if data == nil || off < 0 || off > 1<<40 {
		return fail(statusInvalidParameter)
	}
	if o.pipe != nil {
		o.pipe.write(data)
		return writeReply(len(data))
	}
	if !o.write || o.node.dir {
		return fail(statusAccessDenied)
	}
	o.writes++
	if o.upload == nil {
		o.upload = []byte{}
	}
	if end := off + int64(len(data)); end <= maxUpload {
		if int64(len(o.upload)) < end {
			o.upload = append(o.upload, make([]byte, end-int64(len(o.upload)))...)
		}
		copy(o.upload[off:], data)
	} else {
		o.truncated = true
	}
	cn.s.mu.Lock()
	if end := off + int64(len(data)); end > o.node.size {
		o.node.size = end
	}
	o.node.modified = time.Now()
	cn.s.mu.Unlock()
	return writeReply(len(data))
}

func writeReply(n int) reply {
	var w buf
	w.u16(17)
	w.u16(0)
	w.u32(uint32(n))
	w.u32(0)
	w.u32(0)
	return reply{body: w.b}
}

func (cn *conn) closeFile(rq *request, ss *session, t *tree, o *open) reply {
	var w buf
	w.u16(60)
	w.u16(u16(rq.body, 2) & 1)
	w.u32(0)
	cn.s.mu.Lock()
	if u16(rq.body, 2)&1 != 0 && o.node != nil {
		writeTimes(&w, o.node)
		w.u64(allocSize(o.node.size, o.node))
		w.u64(uint64(o.node.size))
		w.u32(o.node.fileAttrs())
	} else {
		w.zero(52)
	}
	cn.s.mu.Unlock()
	cn.finish(ss, t, o)
	return reply{body: w.b}
}

// finish closes an open: the upload is quarantined, a read reported, a
// delete applied.
func (cn *conn) finish(ss *session, t *tree, o *open) {
	delete(t.opens, o.volatile)
	if o.node == nil {
		return
	}
	p := o.path
	if o.readBytes > 0 {
		f := cn.fileFields(ss, t, p)
		f["bytes"], f["size"] = o.readBytes, o.node.size
		cn.fileEvent("smb.file.download", f)
	}
	if o.writes > 0 {
		f := cn.fileFields(ss, t, p)
		f["size"], f["writes"], f["truncated"] = len(o.upload), o.writes, o.truncated
		if q := cn.s.env.Quarantine; q != nil {
			a, err := q.Put(bytes.NewReader(o.upload))
			if err != nil {
				cn.s.log.Error("quarantine upload", "err", err)
			}
			f["sha256"] = a.SHA256
		}
		cn.fileEvent("smb.file.upload", f)
		cn.s.mu.Lock()
		if !o.truncated {
			cn.s.store(o.node, o.upload)
		}
		cn.s.mu.Unlock()
	}
	if o.deleteOnClose {
		cn.s.mu.Lock()
		if o.node.parent != nil && (!o.node.dir || len(o.node.children) == 0) {
			cn.s.store(o.node, nil)
			o.node.parent.remove(o.node)
			o.node.parent = nil
		}
		cn.s.mu.Unlock()
		cn.fileEvent("smb.file.delete", cn.fileFields(ss, t, p))
	}
}

// dirEntry is one line of a directory listing.
type dirEntry struct {
	name string
	n    *node
}

// Directory information classes.
const (
	fileDirectoryInformation       = 0x01
	fileFullDirectoryInformation   = 0x02
	fileBothDirectoryInformation   = 0x03
	fileNamesInformation           = 0x0C
	fileIDBothDirectoryInformation = 0x25
	fileIDFullDirectoryInformation = 0x26
)

func (cn *conn) queryDirectory(rq *request, ss *session, t *tree, o *open) reply {
	b := rq.body
	class, flags := b[2], b[3]
	max := int(u32(b, 28))
	pattern := fromUTF16(slice(rq.raw, int(u16(b, 24)), int(u16(b, 26))))
	if o.node == nil || !o.node.dir {
		return fail(statusInvalidParameter)
	}
	switch class {
	case fileDirectoryInformation, fileFullDirectoryInformation, fileBothDirectoryInformation, fileNamesInformation,
		fileIDBothDirectoryInformation, fileIDFullDirectoryInformation:
	default:
		return fail(statusInvalidInfoClass)
	}
	if max > 1<<20 {
		max = 1 << 20
	}
	first := o.dir == nil
	if first || flags&0x11 != 0 {
		if pattern == "" {
			pattern = "*"
		}
		o.dir, o.dirPos = cn.listing(t, o.node, pattern), 0
		if len(o.dir) == 0 {
			o.dir = []*dirEntry{}
			return fail(statusNoSuchFile)
		}
	}
	if o.dirPos >= len(o.dir) {
		return fail(statusNoMoreFiles)
	}
	var out []byte
	last := -1
	cn.s.mu.Lock()
	for o.dirPos < len(o.dir) {
		e := dirInfo(class, o.dir[o.dirPos])
		for len(e)%8 != 0 {
			e = append(e, 0)
		}
		if len(out)+len(e) > max && len(out) > 0 {
			break
		}
		if len(out)+len(e) > max {
			cn.s.mu.Unlock()
			return fail(statusBufferTooSmall)
		}
		if last >= 0 {
			le.PutUint32(out[last:], uint32(len(out)-last))
		}
		last = len(out)
		out = append(out, e...)
		o.dirPos++
		if flags&0x02 != 0 {
			break
		}
	}
	cn.s.mu.Unlock()
	if !o.listed {
		o.listed = true
		f := cn.fileFields(ss, t, o.path)
		f["pattern"], f["entries"] = event.Text([]byte(pattern), 256), len(o.dir)
		cn.fileEvent("smb.directory.list", f)
	}
	var w buf
	w.u16(9)
	w.u16(headerSize + 8)
	w.u32(uint32(len(out)))
	w.bytes(out)
	return reply{body: w.b}
}

// listing is a directory's entries matching a pattern, with "." and ".."
// as Windows lists them below a drive's root and Samba everywhere.
func (cn *conn) listing(t *tree, dir *node, pattern string) []*dirEntry {
	cn.s.mu.Lock()
	defer cn.s.mu.Unlock()
	var out []*dirEntry
	dots := cn.s.p.samba || dir.parent != nil || !strings.EqualFold(t.share.name, "C$")
	if dots {
		parent := dir.parent
		if parent == nil {
			parent = dir
		}
		for _, d := range []*dirEntry{{".", dir}, {"..", parent}} {
			if match(pattern, d.name) {
				out = append(out, d)
			}
		}
	}
	for _, c := range dir.children {
		if match(pattern, c.name) {
			out = append(out, &dirEntry{c.name, c})
		}
	}
	return out
}

// match is Windows' case-insensitive * and ? matching.
func match(pattern, name string) bool {
	if pattern == "*" || pattern == "*.*" {
		return true
	}
	ok, err := path.Match(strings.ToLower(strings.ReplaceAll(pattern, "<", "*")), strings.ToLower(name))
	return err == nil && ok
}

func dirInfo(class byte, e *dirEntry) []byte {
	n := e.n
	name := utf16le(e.name)
	var w buf
	w.u32(0) // next entry offset
	w.u32(0) // file index
	if class == fileNamesInformation {
		w.u32(uint32(len(name)))
		w.bytes(name)
		return w.b
	}
	writeTimes(&w, n)
	w.u64(uint64(sizeOf(n)))
	w.u64(allocSize(n.size, n))
	w.u32(n.fileAttrs())
	w.u32(uint32(len(name)))
	switch class {
	case fileFullDirectoryInformation:
		w.u32(0)
	case fileIDFullDirectoryInformation:
		w.u32(0)
		w.u32(0)
		w.u64(n.id)
	case fileBothDirectoryInformation, fileIDBothDirectoryInformation:
		w.u32(0)
		w.u8(0) // no 8.3 short name
		w.u8(0)
		w.zero(24)
		if class == fileIDBothDirectoryInformation {
			w.u16(0)
			w.u64(n.id)
		}
	}
	w.bytes(name)
	return w.b
}

func sizeOf(n *node) int64 {
	if n.dir {
		return 0
	}
	return n.size
}
