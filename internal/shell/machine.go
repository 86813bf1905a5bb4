package shell

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/persona"
)

// Machine is what the shell pretends to run on. Every value that differs
// between real machines (CPU, memory, file times, users' hashes) is derived
// from Identity, so one decky always shows the same machine.
type Machine struct {
	Distro   persona.Distro
	Hostname string
	Identity persona.Identity
	// User is an extra login account with a home directory (optional).
	User string
	// Bait are files with honey credentials placed in the tree.
	Bait []bait.File
	// Drops returns the files an operator dropped into the running decky
	// and a generation that changes when they may have; a shell brings
	// them into its tree before each command line. Nil means none.
	Drops func() (uint64, []bait.File)
}

// hw is the hardware a decky claims.
type hw struct {
	cpus     int
	model    string
	mhz      float64
	memKB    int64
	installT time.Time // OS install time: mtime of most of /etc
}

var cpuModels = []string{
	"Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz",
	"Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz",
	"Intel(R) Xeon(R) Gold 6230R CPU @ 2.10GHz",
	"Intel(R) Xeon(R) CPU E5-2650 v3 @ 2.30GHz",
	"AMD EPYC 7302P 16-Core Processor",
	"Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz",
}

func (m Machine) hw() hw {
	r := m.Identity.Rand("shell-hw")
	model := cpuModels[r.IntN(len(cpuModels))]
	cpus := []int{1, 2, 2, 4, 4, 4, 8, 8, 16}[r.IntN(9)]
	mem := []int64{2, 4, 4, 8, 8, 16, 16, 32}[r.IntN(8)]
	mhz := 2100 + float64(r.IntN(900)) + float64(r.IntN(1000))/1000
	// Installed between 200 and 700 days before 2026-01-01.
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inst := base.Add(-time.Duration(200+r.IntN(500))*24*time.Hour - time.Duration(r.IntN(86400))*time.Second)
	return hw{cpus: cpus, model: model, mhz: mhz, memKB: mem*1024*1024 - 200*1024 - int64(r.IntN(60000)), installT: inst}
}

// ShortHostname is the hostname up to its first dot, as \h shows it.
func (m Machine) ShortHostname() string {
	h, _, _ := strings.Cut(m.Hostname, ".")
	return h
}

// KernelBuild returns the #... part of uname -v for the distro's kernel.
func (m Machine) KernelBuild() string {
	k := m.Distro.Kernel
	switch m.Distro.OSReleaseID {
	case "debian":
		base, _, _ := strings.Cut(k, "-")
		if k == "6.1.0-28-amd64" {
			return "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)"
		}
		return "#1 SMP PREEMPT_DYNAMIC Debian " + base + "-1 (2024-10-03)"
	case "ubuntu":
		abi := 0
		fmt.Sscanf(strings.SplitN(k, "-", 3)[1], "%d", &abi)
		if strings.HasPrefix(k, "5.4.") {
			return fmt.Sprintf("#%d-Ubuntu SMP Fri Jul 5 09:47:39 UTC 2024", abi+20)
		}
		return fmt.Sprintf("#%d-Ubuntu SMP Fri Aug 2 19:25:20 UTC 2024", abi+10)
	case "rocky":
		return "#1 SMP PREEMPT_DYNAMIC Wed May 1 19:11:28 UTC 2024"
	case "centos":
		return "#1 SMP Tue Jun 4 14:43:51 UTC 2024"
	case "alpine":
		return "#1-Alpine SMP PREEMPT_DYNAMIC Fri, 26 Jan 2024 11:08:07 +0000"
	case "fedora":
		return "#1 SMP PREEMPT_DYNAMIC Fri Oct  6 19:57:21 UTC 2023"
	case "kali":
		return "#1 SMP PREEMPT_DYNAMIC Kali 6.8.11-1kali2 (2024-05-30)"
	case "arch":
		return "#1 SMP PREEMPT_DYNAMIC Fri, 28 Jun 2024 04:32:50 +0000"
	}
	return "#1 SMP PREEMPT_DYNAMIC Mon Jan 15 10:00:00 UTC 2024"
}

// Busybox reports whether the distro's userland is busybox (uname, ps and
// the prompt differ).
func (m Machine) Busybox() bool {
	switch m.Distro.OSReleaseID {
	case "alpine", "buildroot", "openwrt":
		return true
	}
	return false
}

// debianCron reports a Debian-family cron (crontabs spool, crontab group).
func (m Machine) debianCron() bool {
	switch m.Distro.OSReleaseID {
	case "debian", "ubuntu", "kali":
		return true
	}
	return false
}

// rhel reports a Red Hat style prompt and paths.
func (m Machine) rhel() bool {
	switch m.Distro.OSReleaseID {
	case "rocky", "centos", "fedora":
		return true
	}
	return false
}

type osInfo struct{ name, idLike, home, versionWord string }

var osInfos = map[string]osInfo{
	"debian": {"Debian GNU/Linux", "", "https://www.debian.org/", "bookworm"},
	"ubuntu": {"Ubuntu", "debian", "https://www.ubuntu.com/", ""},
	"rocky":  {"Rocky Linux", "rhel centos fedora", "https://rockylinux.org/", ""},
	"centos": {"CentOS Linux", "rhel fedora", "https://www.centos.org/", ""},
	"alpine": {"Alpine Linux", "", "https://alpinelinux.org/", ""},
	"fedora": {"Fedora Linux", "", "https://fedoraproject.org/", ""},
	"kali":   {"Kali GNU/Linux", "debian", "https://www.kali.org/", ""},
	"arch":   {"Arch Linux", "", "https://archlinux.org/", ""},
}

func (m Machine) osRelease() string {
	d := m.Distro
	info, ok := osInfos[d.OSReleaseID]
	if !ok {
		info = osInfo{name: d.Display, home: ""}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "PRETTY_NAME=%q\nNAME=%q\n", d.PrettyName, info.name)
	if d.VersionID != "" {
		fmt.Fprintf(&b, "VERSION_ID=%q\n", d.VersionID)
		v := d.VersionID
		switch {
		case info.versionWord != "":
			v += " (" + info.versionWord + ")"
		case d.OSReleaseID == "ubuntu":
			v = strings.TrimPrefix(d.PrettyName, "Ubuntu ")
		}
		fmt.Fprintf(&b, "VERSION=%q\n", v)
	}
	fmt.Fprintf(&b, "ID=%s\n", d.OSReleaseID)
	if info.idLike != "" {
		if strings.Contains(info.idLike, " ") {
			fmt.Fprintf(&b, "ID_LIKE=%q\n", info.idLike)
		} else {
			fmt.Fprintf(&b, "ID_LIKE=%s\n", info.idLike)
		}
	}
	if info.home != "" {
		fmt.Fprintf(&b, "HOME_URL=%q\n", info.home)
	}
	return b.String()
}

// passwdUsers are the system accounts of a Debian-like install.
var passwdDebian = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
news:x:9:9:news:/var/spool/news:/usr/sbin/nologin
uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin
proxy:x:13:13:proxy:/bin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin
irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
messagebus:x:100:107::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
`

var passwdRHEL = `root:x:0:0:root:/root:/bin/bash
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
adm:x:3:4:adm:/var/adm:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/spool/mail:/sbin/nologin
operator:x:11:0:operator:/root:/sbin/nologin
games:x:12:100:games:/usr/games:/sbin/nologin
ftp:x:14:50:FTP User:/var/ftp:/sbin/nologin
nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin
systemd-coredump:x:999:997:systemd Core Dumper:/:/sbin/nologin
dbus:x:81:81:System message bus:/:/sbin/nologin
sshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin
chrony:x:998:996:chrony system user:/var/lib/chrony:/sbin/nologin
`

var passwdAlpine = `root:x:0:0:root:/root:/bin/ash
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
adm:x:3:4:adm:/var/adm:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
operator:x:11:0:operator:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
`

func (m Machine) passwd() string {
	p := passwdDebian
	switch {
	case m.rhel():
		p = passwdRHEL
	case m.Busybox():
		p = passwdAlpine
	}
	if m.User != "" && m.User != "root" {
		sh := "/bin/bash"
		if m.Busybox() {
			sh = "/bin/ash"
		}
		p += fmt.Sprintf("%s:x:1000:1000:%s,,,:/home/%s:%s\n", m.User, m.User, m.User, sh)
	}
	return p
}

func (m Machine) shadowHash(user string) string {
	b := m.Identity.Bytes("shadow-"+user, 40)
	salt := base64.RawStdEncoding.EncodeToString(b[:12])
	salt = strings.NewReplacer("+", ".").Replace(salt)
	sum := sha512.Sum512(b)
	h := strings.NewReplacer("+", ".").Replace(base64.RawStdEncoding.EncodeToString(sum[:]))
	return "$6$" + salt[:16] + "$" + h[:86]
}

func (m Machine) shadow() string {
	var b strings.Builder
	days := int(m.hw().installT.Unix() / 86400)
	for _, line := range strings.Split(strings.TrimSpace(m.passwd()), "\n") {
		name, _, _ := strings.Cut(line, ":")
		h := "*"
		if name == "root" || name == m.User {
			h = m.shadowHash(name)
		}
		fmt.Fprintf(&b, "%s:%s:%d:0:99999:7:::\n", name, h, days)
	}
	return b.String()
}

// binInfo is one installed binary: its size and time, or a link.
type binInfo struct {
	size  int
	mtime int64
	link  string
}

// Commands installed in /usr/bin; each gets a non-trivial fake ELF size so
// `ls -la /usr/bin` does not show 1-byte stubs.
var binaries = []string{"ls", "cat", "echo", "ps", "id", "uname", "hostname", "whoami", "pwd", "free", "w",
	"uptime", "printf", "chmod", "chattr", "rm", "mkdir", "touch", "mv", "cp", "env", "which", "crontab",
	"nproc", "lscpu", "ip", "netstat", "top", "wget", "curl", "sh", "bash", "grep", "head", "tail", "wc",
	"sleep", "kill", "dd", "df", "date", "sort", "uniq", "cut", "tr", "base64", "md5sum", "sha256sum",
	"find", "tar", "gzip", "su", "sudo", "passwd", "last", "lsb_release", "who", "true", "false", "scp",
	"sftp", "ssh", "perl", "python3", "awk", "sed", "ping", "nohup", "history", "ulimit", "yes", "du",
	"ln", "readlink", "stat", "file", "mount", "dmesg", "systemctl", "service", "ifconfig", "ss", "lsof", "xargs", "seq"}

func (m Machine) build(f *FS) {
	h := m.hw()
	r := m.Identity.Rand("shell-mtimes")
	t := func(daysAfterInstall int) time.Time {
		return h.installT.Add(time.Duration(daysAfterInstall)*24*time.Hour + time.Duration(r.IntN(86400))*time.Second)
	}
	file := func(p, content string, mode fs.FileMode, tm time.Time) {
		f.Add(p, &Node{Mode: mode, Data: []byte(content), ModTime: tm})
	}
	dir := func(p string, mode fs.FileMode, tm time.Time) {
		f.Add(p, &Node{Mode: fs.ModeDir | mode, ModTime: tm})
	}
	gen := func(p string, g func() []byte) {
		f.Add(p, &Node{Mode: 0o444, Gen: g, ModTime: time.Now()})
	}
	for _, d := range []string{"/boot", "/dev", "/etc", "/home", "/media", "/mnt", "/opt", "/proc",
		"/run", "/sbin", "/srv", "/sys", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/local", "/usr/local/bin",
		"/usr/share", "/var", "/var/log", "/var/lib", "/var/cache", "/var/spool", "/var/spool/cron", "/var/www", "/etc/ssh", "/etc/cron.d", "/run/user"} {
		dir(d, 0o755, t(0))
	}
	dir("/root", 0o700, t(0))
	dir("/tmp", 0o1777|fs.ModeSticky, time.Now().Add(-time.Duration(r.IntN(3600))*time.Second))
	dir("/var/tmp", 0o1777|fs.ModeSticky, t(3))
	dir("/dev/shm", 0o1777|fs.ModeSticky, time.Now().Add(-time.Hour))
	f.Add("/dev/null", &Node{Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, Gen: func() []byte { return nil }, ModTime: time.Now()})
	for i, b := range binaries {
		size := 20000 + int(m.Identity.Bytes("bin-"+b, 2)[0])*900
		f.Add("/usr/bin/"+b, &Node{Mode: 0o755, Sparse: size, ModTime: t(i % 5)})
	}
	if m.Distro.OSReleaseID == "debian" && m.Distro.VersionID == "12" {
		// What Debian 12's packages install, as ls -l shows it.
		for name, b := range debian12Bins {
			switch target, ok := debian12Bins[b.link]; {
			case b.link == "":
				f.Add("/usr/bin/"+name, &Node{Mode: 0o755, Sparse: b.size, ModTime: time.Unix(b.mtime, 0)})
			case ok && target.link == "":
				f.Add("/usr/bin/"+name, &Node{Mode: fs.ModeSymlink | 0o777, Link: b.link, ModTime: time.Unix(b.mtime, 0)})
			}
		}
	}
	if m.Busybox() {
		for _, d := range []string{"/bin", "/sbin", "/lib"} {
			dir(d, 0o755, t(0))
		}
		f.Add("/bin/busybox", &Node{Mode: 0o755, Sparse: 818000, ModTime: t(0)})
	} else {
		for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
			f.Add("/"+d, &Node{Mode: fs.ModeSymlink | 0o777, Link: "usr/" + d, ModTime: t(0)})
		}
		dir("/usr/lib64", 0o755, t(0))
		if m.Distro.OSReleaseID == "debian" || m.Distro.OSReleaseID == "ubuntu" || m.Distro.OSReleaseID == "kali" {
			if _, err := f.Stat("/usr/bin/busybox"); err != nil {
				f.Add("/usr/bin/busybox", &Node{Mode: 0o755, Sparse: 1983000, ModTime: t(0)})
			}
		}
	}
	file("/etc/os-release", m.osRelease(), 0o644, t(0))
	file("/etc/hostname", m.Hostname+"\n", 0o644, t(0))
	file("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t"+m.Hostname+" "+m.ShortHostname()+"\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n", 0o644, t(0))
	file("/etc/passwd", m.passwd(), 0o644, t(2))
	file("/etc/shadow", m.shadow(), 0o640, t(2))
	groups := "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nsudo:x:27:" + m.User + "\nusers:x:100:\nnogroup:x:65534:\n"
	if m.debianCron() {
		file("/etc/host.conf", "multi on\n", 0o644, t(0)) // base-files
		// Debian's cron: crontab(1) is setgid crontab and keeps users'
		// tables in a sticky spool only that group may write.
		groups += "crontab:x:101:\n"
		f.Add("/var/spool/cron/crontabs", &Node{Mode: fs.ModeDir | fs.ModeSticky | 0o730, GID: 101, ModTime: t(1)})
	}
	file("/etc/group", groups, 0o644, t(2))
	file("/etc/shells", "# /etc/shells: valid login shells\n/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/dash\n", 0o644, t(0))
	file("/etc/resolv.conf", "nameserver 1.1.1.1\nnameserver 8.8.8.8\n", 0o644, t(1))
	file("/etc/issue", m.issue(), 0o644, t(0))
	file("/etc/crontab", "SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n\n17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }\n", 0o644, t(0))
	file("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n", 0o644, t(1))
	switch m.Distro.OSReleaseID {
	case "debian":
		file("/etc/debian_version", m.Distro.VersionID+".8\n", 0o644, t(0))
	case "ubuntu":
		file("/etc/debian_version", "bookworm/sid\n", 0o644, t(0))
		file("/etc/lsb-release", fmt.Sprintf("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=%s\nDISTRIB_DESCRIPTION=%q\n", m.Distro.VersionID, m.Distro.PrettyName), 0o644, t(0))
	case "rocky", "centos", "fedora":
		file("/etc/redhat-release", m.Distro.PrettyName+"\n", 0o644, t(0))
	case "alpine":
		file("/etc/alpine-release", m.Distro.VersionID+"\n", 0o644, t(0))
	}
	bashrc := "# ~/.bashrc: executed by bash(1) for non-login shells.\n\nexport LS_OPTIONS='--color=auto'\nalias ls='ls $LS_OPTIONS'\n"
	file("/root/.bashrc", bashrc, 0o644, t(0))
	file("/root/.profile", "# ~/.profile: executed by Bourne-compatible login shells.\n\nif [ \"$BASH\" ]; then\n  if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\n  fi\nfi\n\nmesg n 2> /dev/null || true\n", 0o644, t(0))
	dir("/root/.ssh", 0o700, t(4))
	file("/root/.ssh/authorized_keys", "", 0o600, t(4))
	if m.User != "" && m.User != "root" {
		dir("/home/"+m.User, 0o750, t(1))
		file("/home/"+m.User+"/.bashrc", bashrc, 0o644, t(1))
		file("/home/"+m.User+"/.profile", "# ~/.profile\n", 0o644, t(1))
	}
	for _, b := range m.Bait {
		uid := 0
		if b.Owner != "" && b.Owner != "root" {
			uid = 1000
		}
		f.Add(b.Path, &Node{Mode: fs.FileMode(b.Mode & 0o777), UID: uid, GID: uid, Data: b.Content, ModTime: time.Now().Add(-b.Age).Truncate(time.Second)})
	}
	file("/var/log/auth.log", "", 0o640, time.Now().Add(-time.Minute))
	file("/var/log/syslog", "", 0o640, time.Now().Add(-time.Minute))
	boot := time.Now()
	gen("/proc/version", func() []byte {
		return []byte(fmt.Sprintf("Linux version %s (%s) (gcc (%s) 12.2.0, GNU ld (GNU Binutils) 2.40) %s\n", m.Distro.Kernel, builder(m.Distro.OSReleaseID), m.Distro.Display, m.KernelBuild()))
	})
	gen("/proc/cpuinfo", func() []byte { return []byte(m.cpuinfo(h)) })
	gen("/proc/meminfo", func() []byte { return []byte(m.meminfo(h)) })
	gen("/proc/uptime", func() []byte {
		up := m.Identity.Uptime(time.Now()).Seconds()
		return []byte(fmt.Sprintf("%.2f %.2f\n", up, up*float64(h.cpus)*0.93))
	})
	gen("/proc/loadavg", func() []byte {
		return []byte("0.08 0.03 0.01 1/142 " + fmt.Sprint(2000+int(time.Since(boot).Seconds())%30000) + "\n")
	})
	gen("/proc/mounts", func() []byte {
		return []byte("/dev/sda1 / ext4 rw,relatime,errors=remount-ro 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\nsysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\ntmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=" + fmt.Sprint(h.memKB/10) + "k,mode=755 0 0\n")
	})
	gen("/proc/self/cmdline", func() []byte { return []byte("bash\x00") })
	gen("/proc/net/arp", func() []byte { return []byte(m.procNetARP()) })
	exe := "/usr/bin/bash"
	if m.Busybox() {
		exe = "/bin/busybox"
	}
	f.Add("/proc/self/exe", &Node{Mode: fs.ModeSymlink | 0o777, Link: exe, ModTime: time.Now()})
	f.root.ModTime = t(0)
}

func builder(id string) string {
	switch id {
	case "debian", "kali":
		return "debian-kernel@lists.debian.org"
	case "ubuntu":
		return "buildd@lcy02-amd64-051"
	case "alpine":
		return "buildozer@build-3-19-x86_64"
	case "arch":
		return "linux@archlinux"
	}
	return "mockbuild@x86-64-builder.localdomain"
}

// elfHeader is the ELF header of Debian's x86-64 binaries (a PIE: ET_DYN,
// EM_X86_64, 13 program headers, 30 sections), which bots read through
// /proc/self/exe or /bin/echo to learn the architecture.
const elfHeader = "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x03\x00\x3e\x00\x01\x00\x00\x00\x40\x22\x00\x00\x00\x00\x00\x00" +
	"\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x40\x00\x38\x00\x0d\x00\x40\x00\x1e\x00\x1d\x00"

// elfInterp is where Debian's binaries name their loader.
const elfInterp = 0x318

func elfStub(size int) string {
	if size < 0x400 {
		return (elfHeader + strings.Repeat("\x00", size))[:size]
	}
	b := []byte(elfHeader + strings.Repeat("\x00", size-len(elfHeader)))
	// e_shoff: the section headers at the end, as the linker puts them.
	shoff := uint64(size - 30*64)
	for i := range 8 {
		b[0x28+i] = byte(shoff >> (8 * i))
	}
	copy(b[elfInterp:], "/lib64/ld-linux-x86-64.so.2\x00")
	return string(b)
}

func (m Machine) issue() string {
	switch m.Distro.OSReleaseID {
	case "debian":
		return "Debian GNU/Linux " + m.Distro.VersionID + " \\n \\l\n\n"
	case "ubuntu":
		return m.Distro.PrettyName + " \\n \\l\n\n"
	case "alpine":
		return "Welcome to Alpine Linux " + strings.Join(strings.Split(m.Distro.VersionID, ".")[:2], ".") + "\nKernel \\r on an \\m (\\l)\n\n"
	}
	return "\\S\nKernel \\r on an \\m\n\n"
}

func (m Machine) cpuinfo(h hw) string {
	var b strings.Builder
	vendor := "GenuineIntel"
	if strings.Contains(h.model, "AMD") {
		vendor = "AuthenticAMD"
	}
	for i := 0; i < h.cpus; i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: %s\nstepping\t: 7\nmicrocode\t: 0x5003604\ncpu MHz\t\t: %.3f\ncache size\t: 16384 KB\nphysical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\napicid\t\t: %d\ninitial apicid\t: %d\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 22\nwp\t\t: yes\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch fsgsbase bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves arat pku ospke\nbugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs taa itlb_multihit mmio_stale_data retbleed gds\nbogomips\t: %.2f\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\npower management:\n\n",
			i, vendor, h.model, h.mhz, h.cpus, i, h.cpus, i, i, h.mhz*2)
	}
	return b.String()
}

// memClock is the clock the memory figures drift with (a test holds it
// still to compare free with the meminfo it was given).
var memClock = time.Now

func (m Machine) meminfo(h hw) string {
	r := rand.New(rand.NewPCG(uint64(memClock().Unix()/60), 7))
	free := h.memKB/3 + int64(r.IntN(50000))
	avail := h.memKB*2/3 + int64(r.IntN(50000))
	return fmt.Sprintf("MemTotal:       %8d kB\nMemFree:        %8d kB\nMemAvailable:   %8d kB\nBuffers:        %8d kB\nCached:         %8d kB\nSwapCached:            0 kB\nActive:         %8d kB\nInactive:       %8d kB\nSwapTotal:       1003516 kB\nSwapFree:        1003516 kB\nShmem:              1204 kB\n",
		h.memKB, free, avail, h.memKB/40, h.memKB/4, h.memKB/5, h.memKB/4)
}

// Motd is what a login prints before the first prompt on this machine:
// the distro's motd, or BusyBox's shell banner.
func (m Machine) Motd() string {
	switch m.Distro.OSReleaseID {
	case "debian", "kali":
		return fmt.Sprintf("Linux %s %s %s x86_64\n\nThe programs included with the Debian GNU/Linux system are free software;\nthe exact distribution terms for each program are described in the\nindividual files in /usr/share/doc/*/copyright.\n\nDebian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\npermitted by applicable law.\n", m.Hostname, m.Distro.Kernel, m.KernelBuild())
	case "ubuntu":
		return fmt.Sprintf("Welcome to %s (GNU/Linux %s x86_64)\n\n * Documentation:  https://help.ubuntu.com\n * Management:     https://landscape.canonical.com\n * Support:        https://ubuntu.com/pro\n\n", m.Distro.PrettyName, m.Distro.Kernel)
	case "alpine":
		return "Welcome to Alpine!\n\nThe Alpine Wiki contains a large amount of how-to guides and general\ninformation about administrating Alpine systems.\nSee <https://wiki.alpinelinux.org/>.\n\nYou can setup the system with the command: setup-alpine\n\nYou may change this message by editing /etc/motd.\n\n"
	case "buildroot", "openwrt":
		return "\n\nBusyBox v1.31.1 () built-in shell (ash)\n\n"
	}
	return ""
}

// Host is the machine settings an interactive service (SSH, Telnet)
// embeds in its own.
type Host struct {
	Hostname string `json:"hostname" doc:"Hostname the shell and its prompt show (default: the persona's)"`
	Kernel   string `json:"kernel" doc:"Kernel release uname -r shows (default: the distro's)"`
}

// Machine is the machine a decky of distro d, persona hostname host and
// identity id shows through these settings, with user as its extra
// account.
func (s Host) Machine(d persona.Distro, host string, id persona.Identity, user string) Machine {
	if s.Hostname != "" {
		host = s.Hostname
	}
	if host == "" {
		host = "localhost"
	}
	if s.Kernel != "" {
		d.Kernel = s.Kernel
	}
	return Machine{Distro: d, Hostname: host, Identity: id, User: user}
}
