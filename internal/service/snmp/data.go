package snmp

import "github.com/decnet/decnet/internal/persona"

// kernelBuild is the uname -v of each distro's kernel in the persona
// catalogue: net-snmp's sysDescr is "sysname nodename release version
// machine" from uname(2).
var kernelBuild = map[string]string{
	"debian":    "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
	"ubuntu22":  "#129-Ubuntu SMP Fri Aug 2 19:25:20 UTC 2024",
	"ubuntu20":  "#212-Ubuntu SMP Fri Jul 5 09:47:39 UTC 2024",
	"rocky9":    "#1 SMP PREEMPT_DYNAMIC Wed May 1 19:11:28 UTC 2024",
	"centos7":   "#1 SMP Tue Jun 4 14:43:51 UTC 2024",
	"alpine":    "#1-Alpine SMP PREEMPT_DYNAMIC Fri, 26 Jan 2024 11:08:07 +0000",
	"fedora":    "#1 SMP PREEMPT_DYNAMIC Fri Oct  6 19:57:21 UTC 2023",
	"kali":      "#1 SMP PREEMPT_DYNAMIC Kali 6.8.11-1kali2 (2024-05-30)",
	"arch":      "#1 SMP PREEMPT_DYNAMIC Fri, 28 Jun 2024 04:32:50 +0000",
	"busybox":   "#1 SMP PREEMPT Mon Mar 2 10:32:18 CST 2020",
	"openwrt":   "#0 SMP Fri Mar 22 22:09:42 2024",
	"freebsd13": "FreeBSD 13.3-RELEASE releng/13.3-n257428-80d2b634ddf0 GENERIC",
	"freebsd14": "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC",
}

// machine is uname -m.
func machine(d persona.Distro) string {
	switch d.Slug {
	case "busybox":
		return "armv7l"
	case "openwrt":
		return "mips"
	case "freebsd13", "freebsd14":
		return "amd64"
	}
	return "x86_64"
}

// sysObjectID of net-snmp per OS (NET-SNMP-TC netSnmpAgentOIDs), of
// Windows' SNMP service per product type, and of a Catalyst 2960X.
const (
	oidNetSNMPLinux   = "1.3.6.1.4.1.8072.3.2.10"
	oidNetSNMPFreeBSD = "1.3.6.1.4.1.8072.3.2.8"
	oidWinWorkstation = "1.3.6.1.4.1.311.1.1.3.1.1"
	oidWinServer      = "1.3.6.1.4.1.311.1.1.3.1.2"
	oidWinDC          = "1.3.6.1.4.1.311.1.1.3.1.3"
	oidCisco2960X     = "1.3.6.1.4.1.9.1.1208"
)

// defaultContactLocation are the sysContact and sysLocation a distro's
// packaged snmpd.conf sets (Debian's and Ubuntu's ship these lines, the
// RHEL family its "edit snmpd.conf" placeholders).
func defaultContactLocation(d persona.Distro) (contact, location string) {
	switch d.Slug {
	case "debian", "ubuntu22", "ubuntu20", "kali":
		return "Me <me@example.org>", "Sitting on the Dock of the Bay"
	case "rocky9", "centos7", "fedora":
		return "Root <root@localhost> (configure /etc/snmp/snmp.local.conf)", "Unknown (edit /etc/snmp/snmpd.conf)"
	}
	return "", ""
}

// sysORTable of net-snmp 5.9 (Debian 12's snmpd, checked against it).
var netSNMPORTable = []struct{ id, descr string }{
	{"1.3.6.1.6.3.10.3.1.1", "The SNMP Management Architecture MIB."},
	{"1.3.6.1.6.3.11.3.1.1", "The MIB for Message Processing and Dispatching."},
	{"1.3.6.1.6.3.15.2.1.1", "The management information definitions for the SNMP User-based Security Model."},
	{"1.3.6.1.6.3.1", "The MIB module for SNMPv2 entities"},
	{"1.3.6.1.6.3.16.2.2.1", "View-based Access Control Model for SNMP."},
	{"1.3.6.1.2.1.49", "The MIB module for managing TCP implementations"},
	{"1.3.6.1.2.1.50", "The MIB module for managing UDP implementations"},
	{"1.3.6.1.2.1.4", "The MIB module for managing IP and ICMP implementations"},
	{"1.3.6.1.6.3.13.3.1.3", "The MIB modules for managing SNMP Notification, plus filtering."},
	{"1.3.6.1.2.1.92", "The MIB module for logging SNMP Notifications."},
}

// proc is a process of hrSWRunTable: its name (/proc/pid/status), the
// path and parameters net-snmp splits from its command line, and whether
// it is a kernel thread (no path, type operatingSystem).
type proc struct {
	name, path, params string
	kernel             bool
}

var linuxKernelThreads = []string{"kthreadd", "rcu_gp", "rcu_par_gp", "slub_flushwq", "netns",
	"kworker/0:0H-events_highpri", "mm_percpu_wq", "rcu_tasks_kthread", "ksoftirqd/0", "rcu_preempt",
	"migration/0", "cpuhp/0", "cpuhp/1", "migration/1", "ksoftirqd/1", "kdevtmpfs", "inet_frag_wq",
	"kauditd", "khungtaskd", "oom_reaper", "writeback", "kcompactd0", "ksmd", "khugepaged", "kintegrityd",
	"kblockd", "blkcg_punt_bio", "edac-poller", "devfreq_wq", "kswapd0", "kthrotld", "acpi_thermal_pm",
	"scsi_eh_0", "scsi_tmf_0", "ata_sff", "jbd2/sda1-8", "ext4-rsv-conversion"}

// debianUserland are the processes every systemd Debian-like host runs.
var debianUserland = []proc{
	{name: "systemd-journal", path: "/lib/systemd/systemd-journald"},
	{name: "systemd-udevd", path: "/lib/systemd/systemd-udevd"},
	{name: "systemd-timesyn", path: "/lib/systemd/systemd-timesyncd"},
	{name: "cron", path: "/usr/sbin/cron", params: "-f"},
	{name: "dbus-daemon", path: "/usr/bin/dbus-daemon", params: "--system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only"},
	{name: "rsyslogd", path: "/usr/sbin/rsyslogd", params: "-n -iNONE"},
	{name: "systemd-logind", path: "/lib/systemd/systemd-logind"},
	{name: "agetty", path: "/sbin/agetty", params: "-o -p -- \\u --noclear - linux"},
}

// serviceProcs are the daemons behind the decky's other services, as
// Debian's packages start them.
var serviceProcs = map[string][]proc{
	"ssh":        {{name: "sshd", path: "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"}},
	"http":       {{name: "nginx", path: "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"}, {name: "nginx", path: "nginx: worker process"}, {name: "nginx", path: "nginx: worker process"}},
	"https":      {{name: "nginx", path: "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"}, {name: "nginx", path: "nginx: worker process"}},
	"mysql":      {{name: "mariadbd", path: "/usr/sbin/mariadbd"}},
	"postgres":   {{name: "postgres", path: "/usr/lib/postgresql/15/bin/postgres", params: "-D /var/lib/postgresql/15/main -c config_file=/etc/postgresql/15/main/postgresql.conf"}, {name: "postgres", path: "postgres: 15/main: checkpointer "}, {name: "postgres", path: "postgres: 15/main: walwriter "}},
	"redis":      {{name: "redis-server", path: "/usr/bin/redis-server 127.0.0.1:6379"}},
	"smtp":       {{name: "master", path: "/usr/lib/postfix/sbin/master", params: "-w"}, {name: "qmgr", path: "qmgr", params: "-l -t unix -u"}, {name: "pickup", path: "pickup", params: "-l -t unix -u -c"}},
	"imap":       {{name: "dovecot", path: "/usr/sbin/dovecot", params: "-F"}, {name: "anvil", path: "dovecot/anvil"}, {name: "log", path: "dovecot/log"}},
	"pop3":       {{name: "dovecot", path: "/usr/sbin/dovecot", params: "-F"}},
	"ftp":        {{name: "vsftpd", path: "/usr/sbin/vsftpd", params: "/etc/vsftpd.conf"}},
	"mqtt":       {{name: "mosquitto", path: "/usr/sbin/mosquitto", params: "-c /etc/mosquitto/mosquitto.conf"}},
	"sip":        {{name: "asterisk", path: "/usr/sbin/asterisk", params: "-g -f -p -U asterisk"}},
	"docker_api": {{name: "containerd", path: "/usr/bin/containerd"}, {name: "dockerd", path: "/usr/bin/dockerd", params: "-H fd:// --containerd=/run/containerd/containerd.sock"}},
	"k8s":        {{name: "kubelet", path: "/usr/bin/kubelet", params: "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml"}},
	"telnet":     {{name: "inetd", path: "/usr/sbin/inetd"}},
	"tftp":       {{name: "in.tftpd", path: "/usr/sbin/in.tftpd", params: "--listen --user tftp --address :69 --secure /srv/tftp"}},
	"dns":        {{name: "named", path: "/usr/sbin/named", params: "-f -u bind"}},
}

// snmpdProc is snmpd as Debian 12's snmpd.service starts it.
var snmpdProc = proc{name: "snmpd", path: "/usr/sbin/snmpd", params: "-LOw -u Debian-snmp -g Debian-snmp -I -smux,mteTrigger,mteTriggerConf -f -p /run/snmpd.pid"}

var windowsProcs = []proc{
	{name: "System Idle Process"}, {name: "System"}, {name: "Registry"}, {name: "smss.exe", path: "\\SystemRoot\\System32\\"},
	{name: "csrss.exe"}, {name: "wininit.exe"}, {name: "services.exe", path: "C:\\Windows\\system32\\"},
	{name: "lsass.exe", path: "C:\\Windows\\system32\\"}, {name: "svchost.exe", path: "C:\\Windows\\system32\\", params: "-k DcomLaunch -p"},
	{name: "svchost.exe", path: "C:\\Windows\\system32\\", params: "-k RPCSS -p"}, {name: "svchost.exe", path: "C:\\Windows\\system32\\", params: "-k LocalServiceNetworkRestricted -p"},
	{name: "svchost.exe", path: "C:\\Windows\\System32\\", params: "-k netsvcs -p"}, {name: "svchost.exe", path: "C:\\Windows\\system32\\", params: "-k LocalService -p"},
	{name: "svchost.exe", path: "C:\\Windows\\system32\\", params: "-k NetworkService -p"}, {name: "spoolsv.exe", path: "C:\\Windows\\System32\\"},
	{name: "snmp.exe", path: "C:\\Windows\\System32\\"}, {name: "MsMpEng.exe"}, {name: "WmiPrvSE.exe", path: "C:\\Windows\\system32\\wbem\\"},
	{name: "dwm.exe"}, {name: "winlogon.exe"}, {name: "fontdrvhost.exe"}, {name: "explorer.exe", path: "C:\\Windows\\"},
	{name: "vmtoolsd.exe", path: "C:\\Program Files\\VMware\\VMware Tools\\"}, {name: "conhost.exe", path: "\\??\\C:\\Windows\\system32\\", params: "0x4"},
}

var windowsServiceProcs = map[string][]proc{
	"smb":   {{name: "svchost.exe", path: "C:\\Windows\\system32\\", params: "-k LocalServiceNoNetwork -p"}},
	"rdp":   {{name: "svchost.exe", path: "C:\\Windows\\System32\\", params: "-k termsvcs"}, {name: "rdpclip.exe", path: "C:\\Windows\\System32\\"}},
	"ldap":  {{name: "ntds.exe"}, {name: "dns.exe", path: "C:\\Windows\\system32\\"}, {name: "ismserv.exe", path: "C:\\Windows\\System32\\"}},
	"mssql": {{name: "sqlservr.exe", path: "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\", params: "-sMSSQLSERVER"}},
	"http":  {{name: "w3wp.exe", path: "c:\\windows\\system32\\inetsrv\\", params: "-ap \"DefaultAppPool\" -v \"v4.0\""}},
}
