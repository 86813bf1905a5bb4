package smb

import (
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// QUERY_INFO and SET_INFO types.
const (
	infoFile       = 1
	infoFilesystem = 2
	infoSecurity   = 3
)

func (cn *conn) queryInfo(rq *request, ss *session, t *tree, o *open) reply {
	b := rq.body
	typ, class, max := b[2], b[3], int(u32(b, 4))
	var out []byte
	var ok bool
	cn.s.mu.Lock()
	switch typ {
	case infoFile:
		out, ok = cn.fileInfo(class, o)
	case infoFilesystem:
		out, ok = cn.fsInfo(class, t)
	case infoSecurity:
		out, ok = securityDescriptor(cn.s.p.samba), true
	}
	cn.s.mu.Unlock()
	if !ok {
		return fail(statusInvalidInfoClass)
	}
	status := uint32(statusSuccess)
	if len(out) > max {
		if typ == infoSecurity {
			var w buf
			w.u32(uint32(len(out)))
			return reply{status: statusBufferTooSmall, body: append([]byte{9, 0, 0, 0, 4, 0, 0, 0}, w.b...)}
		}
		if max < 24 || class == 4 || class == 5 || class == 34 {
			return fail(statusInfoLengthMismatch)
		}
		out, status = out[:max], statusBufferOverflow
	}
	var w buf
	w.u16(9)
	w.u16(headerSize + 8)
	w.u32(uint32(len(out)))
	w.bytes(out)
	return reply{status: status, body: w.b}
}

func (cn *conn) fileInfo(class byte, o *open) ([]byte, bool) {
	n := o.node
	if n == nil {
		// A pipe.
		n = &node{attrs: attrNormal}
	}
	basic := func(w *buf) {
		writeTimes(w, n)
		w.u32(n.fileAttrs())
		w.u32(0)
	}
	standard := func(w *buf) {
		w.u64(allocSize(n.size, n))
		w.u64(uint64(sizeOf(n)))
		w.u32(1)
		if o.deleteOnClose {
			w.u8(1)
		} else {
			w.u8(0)
		}
		if n.dir {
			w.u8(1)
		} else {
			w.u8(0)
		}
		w.u16(0)
	}
	var w buf
	switch class {
	case 4: // FileBasicInformation
		basic(&w)
	case 5: // FileStandardInformation
		standard(&w)
	case 6: // FileInternalInformation
		w.u64(n.id)
	case 7: // FileEaInformation
		w.u32(0)
	case 8: // FileAccessInformation
		w.u32(accessFull)
	case 14: // FilePositionInformation
		w.u64(0)
	case 16: // FileModeInformation
		w.u32(0)
	case 17: // FileAlignmentInformation
		w.u32(0)
	case 18: // FileAllInformation
		basic(&w)
		standard(&w)
		w.u64(n.id)
		w.u32(0)
		w.u32(accessFull)
		w.u64(0)
		w.u32(0)
		w.u32(0)
		name := utf16le(`\` + o.path)
		w.u32(uint32(len(name)))
		w.bytes(name)
	case 21: // FileAlternateNameInformation
		name := utf16le(shortName(n.name))
		w.u32(uint32(len(name)))
		w.bytes(name)
	case 22: // FileStreamInformation
		if !n.dir {
			name := utf16le("::$DATA")
			w.u32(0)
			w.u32(uint32(len(name)))
			w.u64(uint64(n.size))
			w.u64(allocSize(n.size, n))
			w.bytes(name)
		}
	case 34: // FileNetworkOpenInformation
		writeTimes(&w, n)
		w.u64(allocSize(n.size, n))
		w.u64(uint64(sizeOf(n)))
		w.u32(n.fileAttrs())
		w.u32(0)
	case 35: // FileAttributeTagInformation
		w.u32(n.fileAttrs())
		w.u32(0)
	default:
		return nil, false
	}
	return w.b, true
}

// shortName is an 8.3 name as NTFS makes one.
func shortName(name string) string {
	up := strings.ToUpper(name)
	base, ext, _ := strings.Cut(up, ".")
	if len(base) <= 8 && len(ext) <= 3 && !strings.ContainsAny(up, " +,;=[]") && strings.Count(up, ".") <= 1 {
		return up
	}
	clean := func(s string, n int) string {
		var b strings.Builder
		for _, r := range s {
			if r > ' ' && r < 0x7f && !strings.ContainsRune(`."/\[]:;=,+`, r) {
				b.WriteRune(r)
			}
			if b.Len() == n {
				break
			}
		}
		return b.String()
	}
	if i := strings.LastIndex(up, "."); i >= 0 {
		ext = clean(up[i+1:], 3)
		base = up[:i]
	} else {
		ext = ""
	}
	s := clean(base, 6) + "~1"
	if ext != "" {
		s += "." + ext
	}
	return s
}

// Volume geometry: a 250 GB data disk, a third used.
const (
	volumeClusters = 61049087
	volumeFree     = 40632215
)

func (cn *conn) fsInfo(class byte, t *tree) ([]byte, bool) {
	var w buf
	switch class {
	case 1: // FileFsVolumeInformation
		w.u64(filetime(cn.s.p.id.Boot.Add(-400 * 24 * time.Hour).Truncate(time.Hour)))
		w.u32(le.Uint32(cn.s.p.id.ServerGUID[4:]))
		label := []byte(nil)
		w.u32(uint32(len(label)))
		w.u8(0)
		w.u8(0)
		w.bytes(label)
	case 3: // FileFsSizeInformation
		w.u64(volumeClusters)
		w.u64(volumeFree)
		w.u32(8)
		w.u32(512)
	case 4: // FileFsDeviceInformation
		w.u32(7) // FILE_DEVICE_DISK
		w.u32(0x20)
	case 5: // FileFsAttributeInformation
		if cn.s.p.samba {
			w.u32(0x0001802f)
		} else {
			w.u32(0x00c706ff)
		}
		w.u32(255)
		name := utf16le("NTFS")
		w.u32(uint32(len(name)))
		w.bytes(name)
	case 7: // FileFsFullSizeInformation
		w.u64(volumeClusters)
		w.u64(volumeFree)
		w.u64(volumeFree)
		w.u32(8)
		w.u32(512)
	case 11: // FileFsSectorSizeInformation
		for range 4 {
			w.u32(512)
		}
		w.u32(0x0b)
		w.u32(0)
		w.u32(0)
	default:
		return nil, false
	}
	return w.b, true
}

// securityDescriptor is a self-relative descriptor: the owner is the
// local administrators (root on Samba), everyone may read and write.
func securityDescriptor(samba bool) []byte {
	owner := []byte{1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0} // S-1-5-32-544
	group := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}                // S-1-5-18
	if samba {
		owner = []byte{1, 2, 0, 0, 0, 0, 0, 22, 1, 0, 0, 0, 0, 0, 0, 0} // S-1-22-1-0
		group = []byte{1, 2, 0, 0, 0, 0, 0, 22, 2, 0, 0, 0, 0, 0, 0, 0} // S-1-22-2-0
	}
	everyone := []byte{1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}
	var ace buf
	ace.u8(0) // ACCESS_ALLOWED
	ace.u8(3) // inherit to objects and containers
	ace.u16(uint16(8 + len(everyone)))
	ace.u32(accessFull)
	ace.bytes(everyone)
	var acl buf
	acl.u8(2)
	acl.u8(0)
	acl.u16(uint16(8 + ace.len()))
	acl.u16(1)
	acl.u16(0)
	acl.bytes(ace.b)
	var w buf
	w.u8(1)
	w.u8(0)
	w.u16(0x8004) // self-relative, DACL present
	w.u32(20)
	w.u32(uint32(20 + len(owner)))
	w.u32(0)
	w.u32(uint32(20 + len(owner) + len(group)))
	w.bytes(owner)
	w.bytes(group)
	w.bytes(acl.b)
	return w.b
}

func (cn *conn) setInfo(rq *request, ss *session, t *tree, o *open) reply {
	b := rq.body
	typ, class := b[2], b[3]
	data := slice(rq.raw, int(u16(b, 8)), int(u32(b, 4)))
	if data == nil {
		return fail(statusInvalidParameter)
	}
	ok := reply{body: []byte{2, 0}}
	if typ != infoFile || o.node == nil {
		if typ == infoSecurity {
			return fail(statusAccessDenied)
		}
		return ok
	}
	if !o.write {
		return fail(statusAccessDenied)
	}
	switch class {
	case 10: // FileRenameInformation
		return cn.rename(ss, t, o, data)
	case 13: // FileDispositionInformation
		return cn.markDelete(o, len(data) > 0 && data[0] != 0)
	case 64: // FileDispositionInformationEx
		return cn.markDelete(o, u32(data, 0)&1 != 0)
	case 20: // FileEndOfFileInformation
		size := int64(u64(data, 0))
		if size < 0 || size > 1<<40 {
			return fail(statusInvalidParameter)
		}
		cn.s.mu.Lock()
		o.node.size = size
		cn.s.mu.Unlock()
	}
	return ok
}

func (cn *conn) markDelete(o *open, del bool) reply {
	cn.s.mu.Lock()
	defer cn.s.mu.Unlock()
	if del && o.node.dir && len(o.node.children) > 0 {
		return fail(statusDirectoryNotEmpty)
	}
	if o.node.parent == nil {
		return fail(statusAccessDenied)
	}
	o.deleteOnClose = del
	return reply{body: []byte{2, 0}}
}

func (cn *conn) rename(ss *session, t *tree, o *open, data []byte) reply {
	replace := len(data) > 0 && data[0] != 0
	name := fromUTF16(slice(data, 20, int(u32(data, 16))))
	parts, ok := splitPath(name)
	if !ok || len(parts) == 0 {
		return fail(statusObjectNameInvalid)
	}
	cn.s.mu.Lock()
	parent, existing := cn.lookup(t.share.root, parts)
	switch {
	case parent == nil:
		cn.s.mu.Unlock()
		return fail(statusObjectPathNotFound)
	case existing == o.node:
	case existing != nil && !replace:
		cn.s.mu.Unlock()
		return fail(statusObjectNameCollision)
	case existing != nil:
		cn.s.store(existing, nil)
		parent.remove(existing)
	}
	if o.node.parent == nil {
		cn.s.mu.Unlock()
		return fail(statusAccessDenied)
	}
	o.node.parent.remove(o.node)
	o.node.name = parts[len(parts)-1]
	parent.add(o.node)
	cn.s.mu.Unlock()
	old := o.path
	o.path = strings.Join(parts, `\`)
	f := cn.fileFields(ss, t, old)
	f["new_path"] = event.Text([]byte(o.path), maxPathLen)
	cn.fileEvent("smb.file.rename", f)
	return reply{body: []byte{2, 0}}
}

func (cn *conn) ioctl(rq *request, ss *session, t *tree, o *open) reply {
	b := rq.body
	code := u32(b, 4)
	if code != fsctlPipeTransceive || o.pipe == nil {
		if o.pipe != nil {
			return fail(statusInvalidDeviceReq)
		}
		return cn.ioctlNoFile(rq)
	}
	in := slice(rq.raw, int(u32(b, 24)), int(u32(b, 28)))
	if in == nil {
		return fail(statusInvalidParameter)
	}
	o.pipe.write(in)
	maxOut := int(u32(b, 44))
	out, more := o.pipe.read(maxOut)
	status := uint32(statusSuccess)
	if more {
		status = statusBufferOverflow
	}
	return reply{status: status, body: ioctlBody(code, b[8:24], out)}
}
