package ftp

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/persona"
)

// node is one entry of the bait filesystem. Contents are generated from
// the decky's identity on demand, so every decky has its own files and the
// same decky always serves the same bytes.
type node struct {
	name     string
	dir      bool
	mode     string
	uid, gid int
	size     int64
	mtime    time.Time
	data     func() []byte
	children map[string]*node
	denied   bool // listing or entering fails, as for /root
}

func (n *node) sorted() []*node {
	out := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// tree is the bait filesystem of one decky.
type tree struct {
	root    *node
	anonDir string // the anonymous user's root
	users   []string
}

var baitUsers = []string{"deploy", "backup", "webadmin", "jenkins", "ops", "svc-ftp", "marie", "tom"}

func newTree(id persona.Identity, p persona.Distro, hostname string, configured []string, now time.Time) *tree {
	r := id.Rand("ftp-tree")
	install := now.Add(-time.Duration(200+r.IntN(500)) * 24 * time.Hour).Truncate(time.Minute)
	recent := func() time.Time {
		return now.Add(-time.Duration(1+r.IntN(120*24*60)) * time.Minute).Truncate(time.Minute)
	}
	dir := func(name string, uid int, mtime time.Time) *node {
		return &node{name: name, dir: true, mode: "drwxr-xr-x", uid: uid, gid: uid, size: 4096, mtime: mtime, children: map[string]*node{}}
	}
	file := func(parent *node, name string, uid int, mode string, mtime time.Time, data func() []byte, size int64) {
		parent.children[name] = &node{name: name, mode: mode, uid: uid, gid: uid, size: size, mtime: mtime, data: data}
	}
	text := func(parent *node, name string, uid int, mode string, mtime time.Time, s string) {
		b := []byte(s)
		file(parent, name, uid, mode, mtime, func() []byte { return b }, int64(len(b)))
	}
	blob := func(parent *node, name string, uid int, mtime time.Time, size int) {
		p := name
		file(parent, name, uid, "-rw-r--r--", mtime, func() []byte { return id.Bytes("ftp-blob-"+p, size) }, int64(size))
	}
	root := dir("/", 0, install)
	for _, d := range []string{"bin", "boot", "dev", "etc", "home", "lib", "media", "mnt", "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var"} {
		root.children[d] = dir(d, 0, install)
	}
	root.children["root"].mode, root.children["root"].denied = "drwx------", true
	root.children["tmp"].mode = "drwxrwxrwt"
	root.children["proc"].mode, root.children["proc"].size = "dr-xr-xr-x", 0

	users := append([]string(nil), configured...)
	for len(users) < 2+len(configured) {
		u := baitUsers[r.IntN(len(baitUsers))]
		if !contains(users, u) {
			users = append(users, u)
		}
	}
	etc := root.children["etc"]
	var passwd strings.Builder
	passwd.WriteString("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nftp:x:107:114:ftp daemon,,,:/srv/ftp:/usr/sbin/nologin\n")
	home := root.children["home"]
	for i, u := range users {
		uid := 1000 + i
		fmt.Fprintf(&passwd, "%s:x:%d:%d:%s,,,:/home/%s:/bin/bash\n", u, uid, uid, u, u)
		h := dir(u, uid, recent())
		h.mode = "drwxr-xr-x"
		home.children[u] = h
		text(h, ".bash_logout", uid, "-rw-r--r--", install, "# ~/.bash_logout: executed by bash(1) when login shell exits.\n\n# when leaving the console clear the screen to increase privacy\n\nif [ \"$SHLVL\" = 1 ]; then\n    [ -x /usr/bin/clear_console ] && /usr/bin/clear_console -q\nfi\n")
		text(h, ".profile", uid, "-rw-r--r--", install, "# ~/.profile: executed by the command interpreter for login shells.\nif [ -n \"$BASH_VERSION\" ]; then\n    if [ -f \"$HOME/.bashrc\" ]; then\n\t. \"$HOME/.bashrc\"\n    fi\nfi\nif [ -d \"$HOME/bin\" ] ; then\n    PATH=\"$HOME/bin:$PATH\"\nfi\n")
		bk := dir("backups", uid, recent())
		h.children["backups"] = bk
		for range 1 + r.IntN(3) {
			d := recent()
			blob(bk, fmt.Sprintf("db_backup_%s.sql.gz", d.Format("20060102")), uid, d, 20<<10+r.IntN(200<<10))
		}
		text(h, "notes.txt", uid, "-rw-r--r--", recent(), fmt.Sprintf("TODO\n- rotate the %s db password (currently %s)\n- move backups to the NAS (%s)\n- renew cert before %s\n",
			hostname, baitPassword(r), fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254)), now.AddDate(0, 2, 0).Format("2006-01-02")))
	}
	text(etc, "passwd", 0, "-rw-r--r--", install, passwd.String())
	text(etc, "hostname", 0, "-rw-r--r--", install, hostname+"\n")
	text(etc, "os-release", 0, "-rw-r--r--", install, fmt.Sprintf("PRETTY_NAME=%q\nNAME=%q\nVERSION_ID=%q\nID=%s\n", p.PrettyName, strings.SplitN(p.PrettyName, " ", 2)[0], p.VersionID, p.OSReleaseID))
	text(etc, "issue", 0, "-rw-r--r--", install, p.PrettyName+" \\n \\l\n\n")
	etc.children["shadow"] = &node{name: "shadow", mode: "-rw-r-----", gid: 42, size: 1024 + int64(r.IntN(400)), mtime: recent(), denied: true}

	www := dir("www", 0, install)
	root.children["var"].children["www"] = www
	html := dir("html", 33, recent())
	www.children["html"] = html
	text(html, "index.html", 33, "-rw-r--r--", recent(), "<html><head><title>"+hostname+"</title></head><body><h1>It works!</h1></body></html>\n")
	text(html, "config.php", 33, "-rw-r-----", recent(), fmt.Sprintf("<?php\n$db_host = 'localhost';\n$db_user = 'app';\n$db_pass = '%s';\n$db_name = 'app_prod';\n", baitPassword(r)))

	srv := root.children["srv"]
	ftpRoot := dir("ftp", 0, install)
	srv.children["ftp"] = ftpRoot
	pub := dir("pub", 0, recent())
	ftpRoot.children["pub"] = pub
	text(pub, "README", 0, "-rw-r--r--", recent(), "Public files. Contact the IT helpdesk for write access.\n")
	for range 1 + r.IntN(3) {
		d := recent()
		blob(pub, fmt.Sprintf("company-docs-%s.tar.gz", d.Format("20060102")), 0, d, 30<<10+r.IntN(220<<10))
	}
	return &tree{root: root, anonDir: "/srv/ftp", users: users}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func baitPassword(r *rand.Rand) string {
	words := []string{"Summer", "Winter", "Spring", "Autumn", "Welcome", "Company", "Backup", "Deploy"}
	return fmt.Sprintf("%s%d!", words[r.IntN(len(words))], 2019+r.IntN(7))
}

// lookup resolves an absolute path.
func (t *tree) lookup(p string) *node {
	p = path.Clean("/" + p)
	n := t.root
	if p == "/" {
		return n
	}
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if !n.dir || n.children == nil {
			return nil
		}
		c, ok := n.children[part]
		if !ok {
			return nil
		}
		n = c
	}
	return n
}

// place adds the decky's bait files (or the operator's dropped ones),
// making their directories; now is when they were written, less their Age.
func (t *tree) place(files []bait.File, now time.Time) {
	uids := map[string]int{"root": 0, "ftp": 107, "www-data": 33}
	for _, f := range files {
		parts := strings.Split(strings.Trim(path.Clean("/"+f.Path), "/"), "/")
		n := t.root
		mtime := now.Add(-f.Age).Truncate(time.Minute)
		uid := uids[f.Owner]
		for _, d := range parts[:len(parts)-1] {
			c, ok := n.children[d]
			if !ok {
				c = &node{name: d, dir: true, mode: "drwxr-xr-x", uid: uid, gid: uid, size: 4096, mtime: mtime, children: map[string]*node{}}
				n.children[d] = c
			}
			if !c.dir {
				break
			}
			n = c
		}
		if !n.dir {
			continue
		}
		data := f.Content
		name := parts[len(parts)-1]
		n.children[name] = &node{name: name, mode: fs.FileMode(f.Mode & 0o777).String(), uid: uid, gid: uid, size: int64(len(data)), mtime: mtime,
			data: func() []byte { return data }}
	}
}
