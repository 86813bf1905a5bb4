package smb

import (
	"path"
	"sort"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/bait"
)

// Share types as srvsvc lists them.
const (
	stypeDisk    = 0
	stypeIPC     = 3
	stypeSpecial = 0x80000000
)

// share is one share of the decky.
type share struct {
	name, comment string
	stype         uint32
	ipc           bool
	admin         bool // only administrators connect (ADMIN$, C$)
	guest         bool // guests and null sessions may connect (Samba's guest ok)
	writable      bool
	localPath     string
	root          *node
}

// maxShares bounds the operator's list.
const maxShares = 32

// buildShares makes the decky's shares: the persona's built-in ones and
// its bait shares, each with a seeded tree.
func buildShares(p *profile, cfg *Settings, seedRand func(string) *treeBuilder) []*share {
	var out []*share
	bait := cfg.Shares
	if len(bait) == 0 {
		switch {
		case p.samba:
			bait = []string{"public", "backup"}
		case p.dc:
			bait = []string{"Finance", "Public"}
		case !p.desktop:
			bait = []string{"Finance", "Public", "Users"}
		default:
			bait = []string{"Shared"}
		}
	}
	if p.samba {
		out = append(out,
			&share{name: "print$", comment: "Printer Drivers", localPath: "/var/lib/samba/printers"},
			&share{name: "IPC$", comment: "IPC Service (" + p.serverString + ")", stype: stypeIPC, ipc: true, guest: true})
	} else {
		out = append(out,
			&share{name: "ADMIN$", comment: "Remote Admin", stype: stypeSpecial, admin: true, writable: true, localPath: `C:\Windows`},
			&share{name: "C$", comment: "Default share", stype: stypeSpecial, admin: true, writable: true, localPath: `C:\`},
			&share{name: "IPC$", comment: "Remote IPC", stype: stypeSpecial | stypeIPC, ipc: true, guest: true})
		if p.dc {
			out = append(out,
				&share{name: "NETLOGON", comment: "Logon server share ", localPath: `C:\Windows\SYSVOL\sysvol\` + p.id.DNSDomain + `\SCRIPTS`},
				&share{name: "SYSVOL", comment: "Logon server share ", localPath: `C:\Windows\SYSVOL\sysvol`})
		}
	}
	for _, spec := range bait {
		if len(out) >= maxShares {
			break
		}
		name, comment, _ := strings.Cut(spec, ":")
		name = strings.TrimSpace(name)
		if name == "" || len(name) > 80 || strings.ContainsAny(name, `\/:*?"<>|`) || lookupShare(out, name) != nil {
			continue
		}
		s := &share{name: name, comment: comment, writable: true}
		if p.samba {
			s.localPath = "/srv/samba/" + strings.ToLower(name)
			// Guests (Samba maps unknown users to guest) may read every
			// bait share and write only a public one.
			s.guest = true
		} else {
			s.localPath = `D:\Shares\` + name
		}
		out = append(out, s)
	}
	if p.samba {
		// Samba lists shares in smb.conf order, IPC$ last.
		out = append(out[:1], append(out[2:], out[1])...)
	} else {
		sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].name) < strings.ToLower(out[j].name) })
	}
	for _, s := range out {
		if s.ipc {
			continue
		}
		b := seedRand("smb-tree-" + strings.ToLower(s.name))
		s.root = b.dir(nil, "", 0)
		b.fill(s.root, s.name, p.samba)
		settle(s.root)
	}
	return out
}

func lookupShare(shares []*share, name string) *share {
	for _, s := range shares {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// baitBase is the newest timestamp of a decky's bait files: a little
// before now, so a tree made today does not look brand new.
func baitBase(boot time.Time) time.Time {
	if boot.IsZero() {
		return time.Now().Add(-36 * time.Hour)
	}
	return boot.Add(-12 * time.Hour)
}

// settle makes each directory as new as its newest entry, as adding a
// file touches its directory.
func settle(n *node) time.Time {
	for _, c := range n.children {
		if t := settle(c); t.After(n.modified) {
			n.modified, n.accessed = t, t
		}
	}
	return n.modified
}

// baitShare is the decky's first bait share: the first one that is not
// administrative, IPC or for printer drivers (nil when there is none).
func baitShare(shares []*share) *share {
	for _, s := range shares {
		if !s.ipc && !s.admin && s.name != "print$" && s.root != nil {
			return s
		}
	}
	return nil
}

// placeBait puts the decky's bait files in its first bait share, making
// their folders.
func placeBait(shares []*share, files []bait.File, b *treeBuilder) {
	dst := baitShare(shares)
	if dst == nil {
		return
	}
	for _, f := range files {
		file := placeFile(dst, f, b)
		if file == nil {
			continue
		}
		file.modified = b.base.Add(-f.Age).Truncate(time.Second)
		file.accessed = file.modified
		if file.created.After(file.modified) {
			file.created = file.modified
		}
	}
	settle(dst.root)
}

// placeFile puts one file at its path in dst, making its folders and
// replacing a file of that name; nil when a file stands where a folder
// should.
func placeFile(dst *share, f bait.File, b *treeBuilder) *node {
	parts := strings.Split(strings.Trim(path.Clean("/"+f.Path), "/"), "/")
	n := dst.root
	for _, d := range parts[:len(parts)-1] {
		c := n.child(d)
		if c == nil {
			c = b.dir(n, d, attrDirectory)
		}
		n = c
	}
	if !n.dir {
		return nil
	}
	if old := n.child(parts[len(parts)-1]); old != nil {
		if old.dir {
			return nil
		}
		n.remove(old)
	}
	file := b.file(n, parts[len(parts)-1], 0, 0, string(f.Content))
	file.attrs = attrArchive
	return file
}

// syncDrops brings the operator's dropped files into the bait share when
// they changed: new ones appear (dated now), changed ones are replaced,
// withdrawn ones go unless a client replaced them meanwhile. Their path
// is taken relative to the share (/IT/notes.txt is IT\notes.txt). Every
// request runs it first; it costs a generation check when nothing moved.
func (s *Server) syncDrops() {
	gen := s.env.Live.Gen()
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen == s.dropGen {
		return
	}
	s.dropGen = gen
	dst := baitShare(s.shares)
	if dst == nil {
		return
	}
	_, files := s.env.Live.Files(bait.SMB)
	if s.dropped == nil {
		s.dropped = map[string]*node{}
	}
	now := time.Now()
	b := &treeBuilder{r: s.env.Identity.Rand("smb-drops"), base: now, nextID: s.treeIDs, w: s.p.id}
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
		if old := s.dropped[f.Path]; old != nil && string(old.data) == string(f.Content) && attached(old) {
			continue
		}
		file := placeFile(dst, f, b)
		if file == nil {
			continue
		}
		file.created, file.modified, file.accessed = now, now, now
		s.dropped[f.Path] = file
	}
	for p, n := range s.dropped {
		if keep[p] {
			continue
		}
		if attached(n) {
			n.parent.remove(n)
		}
		delete(s.dropped, p)
	}
	settle(dst.root)
}

// attached reports whether a node is still in its folder.
func attached(n *node) bool { return n.parent != nil && n.parent.child(n.name) == n }
