package smb

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// File attributes.
const (
	attrReadOnly  = 0x01
	attrHidden    = 0x02
	attrSystem    = 0x04
	attrDirectory = 0x10
	attrArchive   = 0x20
	attrNormal    = 0x80
)

// node is a file or directory of a bait share. Uploaded files keep their
// bytes in data; bait files generate theirs from the decky's identity.
type node struct {
	name                        string
	dir                         bool
	size                        int64
	attrs                       uint32
	created, modified, accessed time.Time
	parent                      *node
	children                    []*node
	data                        []byte
	seed                        []byte
	id                          uint64
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

func (n *node) add(c *node) {
	c.parent = n
	n.children = append(n.children, c)
	sort.Slice(n.children, func(i, j int) bool {
		return strings.ToLower(n.children[i].name) < strings.ToLower(n.children[j].name)
	})
}

func (n *node) remove(c *node) {
	for i, x := range n.children {
		if x == c {
			n.children = append(n.children[:i], n.children[i+1:]...)
			return
		}
	}
}

// fileAttrs are the attributes SMB reports.
func (n *node) fileAttrs() uint32 {
	a := n.attrs
	if n.dir {
		a |= attrDirectory
	} else if a == 0 {
		a = attrArchive
	}
	return a
}

// readAt fills p with the file's bytes at off.
func (n *node) readAt(p []byte, off int64) int {
	if off >= n.size {
		return 0
	}
	if int64(len(p)) > n.size-off {
		p = p[:n.size-off]
	}
	if n.data != nil {
		return copy(p, n.data[off:])
	}
	// A bait file: its header (magic bytes or text) then a keyed stream,
	// random-access so any offset reads the same bytes every time.
	for i := range p {
		at := off + int64(i)
		if at < int64(len(n.seed)) {
			p[i] = n.seed[at]
			continue
		}
		block := at / 32
		if i == 0 || at%32 == 0 {
			sum := sha256.Sum256(fmt.Appendf(nil, "%d:%s:%d", n.id, n.name, block))
			p[i] = sum[at%32]
			for j := i + 1; j < len(p) && (off+int64(j))%32 != 0; j++ {
				p[j] = sum[(off+int64(j))%32]
			}
		}
	}
	return len(p)
}

// tree builds one decky's bait files, deterministically from its identity.
type treeBuilder struct {
	r      *rand.Rand
	base   time.Time // the newest bait timestamp
	nextID *uint64
	w      persona.WindowsIdentity
}

func (b *treeBuilder) stamp(n *node, maxAge time.Duration) {
	age := time.Duration(b.r.Int64N(int64(maxAge)))
	n.modified = b.base.Add(-age).Truncate(time.Second).Add(time.Duration(b.r.IntN(1e7)) * 100)
	n.created = n.modified.Add(-time.Duration(b.r.Int64N(int64(30 * 24 * time.Hour))))
	n.accessed = n.modified.Add(time.Duration(b.r.Int64N(int64(age + 1))))
	*b.nextID++
	n.id = *b.nextID
}

func (b *treeBuilder) dir(parent *node, name string, attrs uint32) *node {
	n := &node{name: name, dir: true, attrs: attrs}
	b.stamp(n, 2*365*24*time.Hour)
	if parent != nil {
		parent.add(n)
	}
	return n
}

// file adds a file; a spec of "name|min-max" (bytes) sizes it at random,
// text bait is written out in full.
func (b *treeBuilder) file(parent *node, name string, lo, hi int64, text string) *node {
	n := &node{name: name}
	b.stamp(n, 2*365*24*time.Hour)
	if text != "" {
		n.data = []byte(text)
		n.size = int64(len(text))
	} else {
		n.size = lo + b.r.Int64N(hi-lo+1)
		n.seed = magic(name)
		if int64(len(n.seed)) > n.size {
			n.size = int64(len(n.seed))
		}
	}
	parent.add(n)
	return n
}

// magic is the header a file of that type starts with.
func magic(name string) []byte {
	switch strings.ToLower(path.Ext(name)) {
	case ".pdf":
		return []byte("%PDF-1.7\r\n%\xe2\xe3\xcf\xd3\r\n")
	case ".xlsx", ".docx", ".pptx", ".zip":
		return []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")
	case ".gz", ".tgz":
		return []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")
	case ".exe", ".dll", ".sys":
		return []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00\x00\x00\x00\x00\x00\x00@\x00")
	case ".jpg":
		return []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01")
	case ".bak", ".mdf":
		return []byte("TAPE\x00\x00\x00\x00")
	case ".kdbx":
		return []byte("\x03\xd9\xa2\x9ag\xfbK\xb5")
	}
	return nil
}

var firstNames = []string{"james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth",
	"william", "susan", "richard", "jessica", "thomas", "sarah", "daniel", "karen", "mark", "nancy", "paul", "lisa", "steven", "emma"}
var lastNames = []string{"smith", "johnson", "brown", "miller", "davis", "wilson", "taylor", "clark", "lewis", "walker", "hall",
	"young", "king", "wright", "scott", "green", "baker", "adams", "nelson", "hill", "campbell", "mitchell", "carter", "turner"}

func (b *treeBuilder) people(n int) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		u := firstNames[b.r.IntN(len(firstNames))][:1] + "." + lastNames[b.r.IntN(len(lastNames))]
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// fill populates a share's root by the kind of share its name suggests.
func (b *treeBuilder) fill(root *node, share string, samba bool) {
	year := b.base.Year()
	switch strings.ToLower(share) {
	case "c$":
		b.windowsRoot(root)
	case "admin$":
		b.windowsDir(root)
	case "print$":
		for _, d := range []string{"COLOR", "IA64", "W32X86", "WIN40", "x64"} {
			b.dir(root, d, 0)
		}
	case "netlogon":
		b.file(root, "logon.bat", 0, 0, "@echo off\r\nnet use H: \\\\"+b.w.NetBIOSName+"\\Users\\%USERNAME% /persistent:no\r\nnet use P: \\\\"+b.w.NetBIOSName+"\\Public /persistent:no\r\n")
		b.file(root, "map_drives.ps1", 0, 0, "$server = '"+b.w.DNSName+"'\r\nNew-PSDrive -Name F -PSProvider FileSystem -Root \"\\\\$server\\Finance\" -Persist\r\n")
	case "sysvol":
		d := b.dir(root, b.w.DNSDomain, 0)
		pol := b.dir(d, "Policies", 0)
		for _, g := range []string{"{31B2F340-016D-11D2-945F-00C04FB984F9}", "{6AC1786C-016F-11D2-945F-00C04FB984F9}"} {
			p := b.dir(pol, g, 0)
			b.file(p, "GPT.INI", 0, 0, fmt.Sprintf("[General]\r\nVersion=%d\r\n", 3+b.r.IntN(40)))
			b.dir(p, "MACHINE", 0)
			b.dir(p, "USER", 0)
		}
		b.dir(d, "scripts", 0)
	case "finance", "accounting":
		for _, q := range []string{"Q1", "Q2", "Q3", "Q4"} {
			b.file(root, fmt.Sprintf("%d %s Forecast.xlsx", year, q), 18<<10, 240<<10, "")
		}
		b.file(root, fmt.Sprintf("FY%d Budget.xlsx", year), 40<<10, 600<<10, "")
		inv := b.dir(root, "Invoices", 0)
		for i := range 10 + b.r.IntN(12) {
			b.file(inv, fmt.Sprintf("INV-%d-%04d.pdf", year, 1000+i*7+b.r.IntN(7)), 30<<10, 400<<10, "")
		}
		pay := b.dir(root, "Payroll", 0)
		for m := 1; m <= 12; m++ {
			b.file(pay, fmt.Sprintf("Payroll_%d_%02d.xlsx", year-1, m), 20<<10, 90<<10, "")
		}
		bank := b.dir(root, "Banking", 0)
		b.file(bank, "Wire Transfer Instructions.docx", 14<<10, 60<<10, "")
		b.file(bank, "Vendor Bank Details.xlsx", 12<<10, 50<<10, "")
	case "users", "home", "homes":
		for _, u := range b.people(4 + b.r.IntN(5)) {
			d := b.dir(root, u, 0)
			docs := b.dir(d, "Documents", 0)
			b.file(docs, "notes.txt", 0, 0, "meeting w/ IT re: VPN migration\r\nremember to rotate the svc_backup password\r\n")
			b.file(docs, "Expenses "+fmt.Sprint(year)+".xlsx", 9<<10, 40<<10, "")
			b.dir(d, "Desktop", 0)
		}
	case "it", "software":
		b.file(root, "VPN Setup Guide.pdf", 200<<10, 900<<10, "")
		b.file(root, "network-diagram.pdf", 300<<10, 2<<20, "")
		b.file(root, "Passwords.kdbx", 20<<10, 60<<10, "")
		d := b.dir(root, "Installers", 0)
		b.file(d, "AgentSetup.exe", 2<<20, 30<<20, "")
	case "backup", "backups":
		for i := range 3 + b.r.IntN(4) {
			at := b.base.AddDate(0, 0, -7*i)
			f := b.file(root, "db_dump_"+at.Format("2006-01-02")+".sql.gz", 5<<20, 80<<20, "")
			f.modified = time.Date(at.Year(), at.Month(), at.Day(), 2, 30+b.r.IntN(20), b.r.IntN(60), 0, time.UTC)
			f.created, f.accessed = f.modified.Add(-12*time.Minute), f.modified
		}
		b.file(root, "etc-backup.tgz", 200<<10, 3<<20, "")
		b.file(root, "README.txt", 0, 0, "Nightly backups (cron, 02:30). Retention 30 days.\nRestore: see wiki / ask ops.\n")
	default:
		// Public, share, data and operator-named shares.
		docs := b.dir(root, "Documents", 0)
		b.file(docs, "Employee Handbook.pdf", 200<<10, 2<<20, "")
		b.file(docs, "Org Chart.pdf", 40<<10, 300<<10, "")
		b.file(docs, "Contacts.xlsx", 10<<10, 80<<10, "")
		tpl := b.dir(root, "Templates", 0)
		b.file(tpl, "Letterhead.docx", 20<<10, 90<<10, "")
		b.file(tpl, "Invoice Template.xlsx", 15<<10, 60<<10, "")
		eol := "\r\n"
		if samba {
			eol = "\n"
		}
		b.file(root, "README.txt", 0, 0, "Shared drive - please keep folders tidy."+eol+"Scans from the copier land in Scans\\."+eol)
		sc := b.dir(root, "Scans", 0)
		for i := range 3 + b.r.IntN(6) {
			b.file(sc, fmt.Sprintf("SCAN_%s_%03d.pdf", b.base.AddDate(0, 0, -i*3).Format("20060102"), b.r.IntN(999)), 80<<10, 3<<20, "")
		}
	}
}

func (b *treeBuilder) windowsRoot(root *node) {
	b.dir(root, "$Recycle.Bin", attrHidden|attrSystem)
	b.dir(root, "PerfLogs", 0)
	b.dir(root, "Program Files", attrReadOnly)
	b.dir(root, "Program Files (x86)", attrReadOnly)
	b.dir(root, "ProgramData", attrHidden)
	users := b.dir(root, "Users", attrReadOnly)
	for _, u := range []string{"Administrator", "Public"} {
		d := b.dir(users, u, 0)
		for _, s := range []string{"Desktop", "Documents", "Downloads"} {
			b.dir(d, s, attrReadOnly)
		}
	}
	b.windowsDir(b.dir(root, "Windows", 0))
}

func (b *treeBuilder) windowsDir(win *node) {
	sys := b.dir(win, "System32", 0)
	for _, f := range []string{"cmd.exe", "notepad.exe", "kernel32.dll", "ntdll.dll"} {
		b.file(sys, f, 200<<10, 2<<20, "")
	}
	etc := b.dir(b.dir(sys, "drivers", 0), "etc", 0)
	b.file(etc, "hosts", 0, 0, "# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n# This is a sample HOSTS file used by Microsoft TCP/IP for Windows.\r\n")
	b.dir(win, "Temp", 0)
	b.file(win, "explorer.exe", 4<<20, 5<<20, "")
	b.file(win, "win.ini", 0, 0, "; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n[mci extensions]\r\n[files]\r\n[Mail]\r\nMAPI=1\r\n")
}
