package smb

import (
	"strings"

	"github.com/decnet/decnet/internal/event"
)

// tree is a connected share.
type tree struct {
	id    uint32
	share *share
	opens map[uint64]*open
}

// Share flags and types of the TREE_CONNECT response.
const (
	shareTypeDisk = 1
	sharePipe     = 2
	shareNoCache  = 0x30
)

func (cn *conn) treeConnect(rq *request, ss *session) reply {
	b := rq.body
	raw := slice(rq.raw, int(u16(b, 4)), int(u16(b, 6)))
	if len(b) < 8 || raw == nil || len(raw) > 1024 {
		return fail(statusInvalidParameter)
	}
	unc := fromUTF16(raw)
	name := unc
	if i := strings.LastIndex(unc, `\`); i >= 0 {
		name = unc[i+1:]
	}
	sh := lookupShare(cn.s.shares, name)
	status := uint32(statusSuccess)
	switch {
	case sh == nil:
		status = statusBadNetworkName
	case len(ss.trees) >= maxTrees:
		status = statusRequestNotAccepted
	case sh.ipc:
	case sh.admin && !ss.admin:
		status = statusAccessDenied
	case (ss.anonymous || ss.guest) && !sh.guest:
		status = statusAccessDenied
	}
	cn.c.Session.Emit(event.Event{Type: "smb.tree.connect", Fields: map[string]any{
		"share": event.Text([]byte(name), 256), "path": event.Text([]byte(unc), 1024), "user": event.Text([]byte(ss.who()), 512), "status": statusName(status)}})
	if status != statusSuccess {
		return fail(status)
	}
	var id uint32
	if cn.s.p.samba {
		var r [4]byte
		randRead(r[:])
		id = le.Uint32(r[:])&0x7fffffff | 1
	} else {
		id = cn.nextTree
		cn.nextTree += 4
	}
	t := &tree{id: id, share: sh, opens: map[uint64]*open{}}
	ss.trees[id] = t
	var w buf
	w.u16(16)
	if sh.ipc {
		w.u8(sharePipe)
	} else {
		w.u8(shareTypeDisk)
	}
	w.u8(0)
	if sh.ipc {
		w.u32(shareNoCache)
	} else {
		w.u32(0)
	}
	w.u32(0) // capabilities
	w.u32(cn.maximalAccess(ss, sh))
	return reply{body: w.b, tid: id}
}

// Access masks.
const (
	accessFull     = 0x001f01ff
	accessRead     = 0x001200a9
	accessReadAttr = 0x00120089
)

func (cn *conn) maximalAccess(ss *session, sh *share) uint32 {
	switch {
	case sh.ipc && ss.anonymous:
		return accessReadAttr | 0x00000116 // read/write data and attributes of pipes
	case sh.ipc:
		return accessFull
	case cn.canWrite(ss, sh):
		return accessFull
	}
	return accessRead
}

// canWrite says whether the session may change files on the share:
// authenticated users on writable shares; Samba's guests on public only.
func (cn *conn) canWrite(ss *session, sh *share) bool {
	switch {
	case sh.ipc || !sh.writable || ss.anonymous:
		return false
	case ss.guest:
		return strings.EqualFold(sh.name, "public")
	}
	return true
}

func (cn *conn) closeTree(ss *session, t *tree) {
	for _, o := range t.opens {
		cn.finish(ss, t, o)
	}
	delete(ss.trees, t.id)
}
