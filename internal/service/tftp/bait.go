package tftp

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"

	"github.com/decnet/decnet/internal/persona"
)

// node is a file or directory of the served tree.
type node struct {
	dir      bool
	size     int64
	open     func() io.Reader // the content, from its start
	writable bool             // an upload: it may be overwritten (mode 0666)
}

// tree is the TFTP root: read-only bait files built from the decky's
// identity, plus what attackers uploaded (kept in memory, bounded, so a
// read after a write finds the file as on a real server).
type tree struct {
	mu      sync.Mutex
	nodes   map[string]*node // "" is the root; paths have no leading slash
	uploads []string         // upload paths, oldest first
}

const (
	maxKeptUploads = 32
	maxKeptBytes   = 1 << 20
)

// lookup resolves a requested name as the kernel would under tftpd-hpa's
// chroot: "." and empty parts are skipped, ".." stops at the root, and
// every part but the last must be a directory. It returns the clean path
// and the node, or nil when it does not exist; parentOK says whether the
// parent directory exists.
func (t *tree) lookup(name string) (clean string, n *node, parentOK bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var comps []string
	for _, c := range strings.Split(name, "/") {
		if c != "" && c != "." {
			comps = append(comps, c)
		}
	}
	var parts []string
	for i, c := range comps {
		if c == ".." {
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
			continue
		}
		parent := strings.Join(parts, "/")
		parts = append(parts, c)
		p := strings.Join(parts, "/")
		cur, ok := t.nodes[p]
		switch {
		case !ok:
			return p, nil, i == len(comps)-1 && t.isDir(parent)
		case !cur.dir && i < len(comps)-1:
			return p, nil, false // ENOTDIR
		}
	}
	p := strings.Join(parts, "/")
	n = t.nodes[p]
	if n != nil && !n.dir && strings.HasSuffix(name, "/") {
		return p, nil, false
	}
	return p, n, true
}

func (t *tree) isDir(p string) bool {
	n, ok := t.nodes[p]
	return ok && n.dir
}

// store keeps an upload so later reads find it.
func (t *tree) store(p string, data []byte) {
	if len(data) > maxKeptBytes {
		data = data[:0] // remembered as written, content not kept
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.nodes[p]; !ok {
		t.uploads = append(t.uploads, p)
		if len(t.uploads) > maxKeptUploads {
			delete(t.nodes, t.uploads[0])
			t.uploads = t.uploads[1:]
		}
	}
	t.nodes[p] = &node{size: int64(len(data)), writable: true, open: func() io.Reader { return bytes.NewReader(data) }}
}

func textNode(s string) *node {
	return &node{size: int64(len(s)), open: func() io.Reader { return strings.NewReader(s) }}
}

// blobNode is a binary file of a given size whose bytes come from a
// seeded stream, generated as it is read.
func blobNode(id persona.Identity, purpose string, size int64) *node {
	return &node{size: size, open: func() io.Reader {
		return io.LimitReader(chachaReader{id.Rand(purpose)}, size)
	}}
}

type chachaReader struct{ r *rand.Rand }

func (c chachaReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c.r.Uint32())
	}
	return len(p), nil
}

// newTree builds the bait tree: what a network team's TFTP server holds
// (switch and router configs saved with copy running-config tftp:, a
// PXE boot setup, a firmware image).
func newTree(id persona.Identity, hostname string, addrs []netip.Addr) *tree {
	r := id.Rand("tftp-tree")
	t := &tree{nodes: map[string]*node{"": {dir: true}}}
	base := [3]byte{10, byte(r.IntN(250)), byte(r.IntN(250))}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			b := a.Unmap().As4()
			base = [3]byte{b[0], b[1], b[2]}
			break
		}
	}
	net := fmt.Sprintf("%d.%d.%d", base[0], base[1], base[2])
	site := strings.ToLower(strings.SplitN(hostname, ".", 2)[0])
	if site == "" {
		site = "core"
	}
	devices := []string{"core-sw01", "dist-sw02", "edge-rtr01", "acc-sw" + fmt.Sprintf("%02d", 3+r.IntN(20))}
	for i, d := range devices {
		cfg := iosConfig(r, d, net, 2+i)
		t.nodes[d+"-confg"] = textNode(cfg)
		if i == 0 {
			t.nodes["startup-config"] = textNode(cfg)
			t.nodes["running-config"] = textNode(cfg)
		}
	}
	t.nodes["pxelinux.0"] = blobNode(id, "tftp-pxelinux", 42378+int64(r.IntN(3000)))
	t.nodes["pxelinux.cfg"] = &node{dir: true}
	t.nodes["pxelinux.cfg/default"] = textNode(pxeDefault(net, site))
	t.nodes["c2960x-universalk9-mz.152-7.E8.bin"] = blobNode(id, "tftp-ios", 23040000+int64(r.IntN(200000)))
	return t
}

func pxeDefault(net, site string) string {
	return fmt.Sprintf(`DEFAULT menu.c32
PROMPT 0
TIMEOUT 100
MENU TITLE %s PXE Boot Menu

LABEL local
  MENU LABEL Boot from local disk
  LOCALBOOT 0

LABEL debian12
  MENU LABEL Install Debian 12 (preseed)
  KERNEL debian-installer/amd64/linux
  APPEND initrd=debian-installer/amd64/initrd.gz auto=true priority=critical url=http://%s.10/preseed/bookworm.cfg --- quiet

LABEL rescue
  MENU LABEL Rescue system
  KERNEL debian-installer/amd64/linux
  APPEND initrd=debian-installer/amd64/initrd.gz rescue/enable=true --- quiet
`, strings.ToUpper(site), net)
}

// iosConfig writes a Cisco IOS configuration of a switch or router of
// the decky's network, with seeded secrets (hashes, communities, keys).
func iosConfig(r *rand.Rand, hostname, net string, host int) string {
	const salt = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = salt[r.IntN(len(salt))]
		}
		return string(b)
	}
	communities := []string{"n3tw0rk", "c1sc0RO", "monitor", "snmp-ro", "NOCview"}
	var sb strings.Builder
	fmt.Fprintf(&sb, "!\n! Last configuration change at %02d:%02d:%02d UTC Tue Mar 12 2024 by netadmin\n!\n", r.IntN(24), r.IntN(60), r.IntN(60))
	sb.WriteString("version 15.2\nno service pad\nservice timestamps debug datetime msec\nservice timestamps log datetime msec\nservice password-encryption\n!\n")
	fmt.Fprintf(&sb, "hostname %s\n!\nboot-start-marker\nboot-end-marker\n!\n", hostname)
	fmt.Fprintf(&sb, "enable secret 5 $1$%s$%s\n!\n", word(4), word(22))
	fmt.Fprintf(&sb, "username netadmin privilege 15 secret 5 $1$%s$%s\n", word(4), word(22))
	fmt.Fprintf(&sb, "username backup privilege 3 password 7 %s\n!\n", fmt.Sprintf("%X", r.Uint64())[:14])
	sb.WriteString("aaa new-model\n!\naaa authentication login default local\naaa authorization exec default local\n!\n")
	fmt.Fprintf(&sb, "ip domain-name corp.local\nip name-server %s.2\n!\nspanning-tree mode rapid-pvst\n!\n", net)
	for i, v := range []int{10, 20, 30, 99} {
		fmt.Fprintf(&sb, "vlan %d\n name %s\n!\n", v, []string{"USERS", "SERVERS", "VOICE", "MGMT"}[i])
	}
	for p := 1; p <= 4; p++ {
		fmt.Fprintf(&sb, "interface GigabitEthernet1/0/%d\n switchport access vlan %d\n switchport mode access\n spanning-tree portfast\n!\n", p, []int{10, 10, 20, 30}[p-1])
	}
	fmt.Fprintf(&sb, "interface Vlan99\n ip address %s.%d 255.255.255.0\n!\n", net, host)
	fmt.Fprintf(&sb, "ip default-gateway %s.1\nip ssh version 2\n!\n", net)
	fmt.Fprintf(&sb, "snmp-server community %s RO\nsnmp-server community %s RW\nsnmp-server location Server room %d\n!\n",
		communities[r.IntN(len(communities))], word(10), 1+r.IntN(4))
	fmt.Fprintf(&sb, "tacacs-server host %s.5 key 7 %X\n!\n", net, r.Uint64())
	sb.WriteString("line con 0\n logging synchronous\nline vty 0 4\n transport input ssh\nline vty 5 15\n transport input ssh\n!\nntp server " + net + ".2\nend\n")
	return sb.String()
}
