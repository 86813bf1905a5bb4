package snmp

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/serve"
)

// host is the machine the agent describes, derived once from the persona
// and the decky's seeded identity.
type host struct {
	id       persona.Identity
	family   persona.Family
	windows  bool
	cisco    bool
	descr    string
	objectID string
	contact  string
	location string
	name     string
	services int64
	ifaces   []iface
	memKB    int64
	storage  []storage
	procs    []runProc
	cmdline  string
	// snmpdLag is how long after boot the agent started: sysUpTime is
	// the agent's uptime, hrSystemUptime the host's.
	snmpdLag time.Duration
	users    int64
}

type iface struct {
	index       int
	name, descr string
	typ, mtu    int64
	speed       uint64
	mac         []byte
	addr        netip.Addr
	// inRate and outRate are mean bytes per second since boot.
	inRate, outRate float64
	connector       int64
}

type storage struct {
	index      int
	typ, descr string
	unit       int64
	size, used int64
}

type runProc struct {
	pid int
	proc
	cpuRate float64 // centiseconds of CPU per second of uptime
	memKB   int64
}

func newHost(env serve.Env, s *Settings) *host {
	id := env.Identity
	d := env.Persona.Distro
	r := id.Rand("snmp-host")
	h := &host{id: id, family: env.Persona.Family, windows: env.Persona.Family.IsWindows(),
		cisco: env.Persona.Family == persona.Cisco, name: env.Persona.Hostname}
	if h.name == "" {
		h.name = id.Hostname(d.HostnameStyle)
	}
	h.snmpdLag = time.Duration(4+r.IntN(30)) * time.Second
	h.contact, h.location = defaultContactLocation(d)
	switch {
	case h.windows:
		h.descr = windowsDescr(d, r.IntN(len(intelCPUs)))
		h.objectID = oidWinServer
		switch {
		case env.Persona.Archetype == "domain-controller":
			h.objectID = oidWinDC
		case env.Persona.Family == persona.Windows:
			h.objectID = oidWinWorkstation
		}
		h.services = 76
	case h.cisco:
		h.descr = "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version " + d.Kernel +
			", RELEASE SOFTWARE (fc3)\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2019 by Cisco Systems, Inc.\r\nCompiled Tue 12-Mar-19 09:21 by prod_rel_team"
		h.objectID = oidCisco2960X
		h.services = 6
	case env.Persona.Family == persona.BSD:
		h.descr = fmt.Sprintf("FreeBSD %s %s %s %s", h.name, d.Kernel, kernelBuild[d.Slug], machine(d))
		h.objectID = oidNetSNMPFreeBSD
		h.services = 72
	default:
		build := kernelBuild[d.Slug]
		if build == "" {
			build = "#1 SMP PREEMPT_DYNAMIC"
		}
		h.descr = fmt.Sprintf("Linux %s %s %s %s", h.name, d.Kernel, build, machine(d))
		h.objectID = oidNetSNMPLinux
		h.services = 72
	}
	if s.SysDescr != "" {
		h.descr = s.SysDescr
	}
	if s.SysContact != "" {
		h.contact = s.SysContact
	}
	if s.SysLocation != "" {
		h.location = s.SysLocation
	}
	h.buildInterfaces(env)
	h.buildMemory(env)
	h.buildProcs(env)
	h.users = int64(r.IntN(2))
	uuid := id.Bytes("snmp-root-uuid", 16)
	h.cmdline = fmt.Sprintf("BOOT_IMAGE=/boot/vmlinuz-%s root=UUID=%x-%x-%x-%x-%x ro quiet\n", d.Kernel, uuid[:4], uuid[4:6], uuid[6:8], uuid[8:10], uuid[10:])
	return h
}

var intelCPUs = []string{"Model 85 Stepping 7", "Model 79 Stepping 1", "Model 106 Stepping 6", "Model 63 Stepping 2"}

// windowsDescr is the sysDescr of Windows' SNMP service: it reports the
// NT 6.3 version number for every release since 8.1 and the real build.
func windowsDescr(d persona.Distro, cpu int) string {
	build := d.Kernel
	if i := strings.LastIndexByte(build, '.'); i >= 0 {
		build = build[i+1:]
	}
	return fmt.Sprintf("Hardware: Intel64 Family 6 %s AT/AT COMPATIBLE - Software: Windows Version 6.3 (Build %s Multiprocessor Free)", intelCPUs[cpu], build)
}

func (h *host) buildInterfaces(env serve.Env) {
	r := h.id.Rand("snmp-ifaces")
	lo := iface{index: 1, name: "lo", descr: "lo", typ: 24, mtu: 65536, speed: 10000000, connector: 2,
		inRate: 200 + 2000*r.Float64()}
	lo.outRate = lo.inRate
	nicName := linuxNICName(r.IntN(4))
	switch {
	case h.windows:
		lo.name, lo.descr, lo.mtu, lo.speed = "loopback_0", "Software Loopback Interface 1", 1500, 1073741824
		lo.inRate, lo.outRate = 0, 0
	case h.family == persona.BSD:
		lo.name, lo.descr, lo.mtu, lo.speed = "lo0", "lo0", 16384, 0
		nicName = func(i int) string { return fmt.Sprintf("vtnet%d", i) }
	case h.family == persona.Embedded:
		nicName = func(i int) string { return fmt.Sprintf("eth%d", i) }
	case h.cisco:
		lo.name, lo.descr, lo.typ, lo.mtu, lo.speed = "Nu0", "Null0", 1, 1500, 4294967295
		nicName = func(i int) string { return fmt.Sprintf("Vlan%d", 1+i*10) }
	}
	h.ifaces = []iface{lo}
	for i, a := range env.Addrs {
		mac, _ := net.ParseMAC(h.id.MACFor(env.Persona.Family, i))
		nic := iface{index: 2 + i, name: nicName(i), typ: 6, mtu: 1500, speed: 1000000000, mac: mac, addr: a,
			connector: 1, inRate: 2000 + 60000*r.Float64(), outRate: 1000 + 40000*r.Float64()}
		nic.descr = nic.name
		if h.windows {
			nic.descr = "Intel(R) 82574L Gigabit Network Connection"
			if env.Persona.Family == persona.WindowsServer {
				nic.descr = "vmxnet3 Ethernet Adapter"
			}
			nic.name = fmt.Sprintf("ethernet_%d", 32768+i)
			nic.index = 5 + i
		}
		if h.cisco {
			nic.typ, nic.descr = 53, nic.name
		}
		h.ifaces = append(h.ifaces, nic)
	}
}

func linuxNICName(style int) func(int) string {
	return func(i int) string {
		switch style {
		case 0:
			return fmt.Sprintf("ens%d", 18+i)
		case 1:
			return fmt.Sprintf("ens%d", 192+32*i)
		case 2:
			return fmt.Sprintf("enp%ds0", 1+i)
		}
		return fmt.Sprintf("eth%d", i)
	}
}

func (h *host) buildMemory(env serve.Env) {
	r := h.id.Rand("snmp-memory")
	gib := []int64{2, 4, 4, 8, 8, 16, 32}[r.IntN(7)]
	if env.Persona.Family == persona.Embedded {
		gib = 0
	}
	h.memKB = gib<<20 - int64(60000+r.IntN(200000))
	if gib == 0 {
		h.memKB = 255000 + int64(r.IntN(5000))
	}
	used := h.memKB * int64(25+r.IntN(50)) / 100
	if h.windows {
		h.storage = []storage{
			{1, "1.3.6.1.2.1.25.2.1.4", fmt.Sprintf("C:\\ Label:  Serial Number %x", h.id.Bytes("snmp-volume", 4)), 4096, int64(60+r.IntN(400)) << 18, 0},
			{2, "1.3.6.1.2.1.25.2.1.3", "Virtual Memory", 65536, h.memKB * 3 / 2 / 64, used / 64},
			{3, "1.3.6.1.2.1.25.2.1.2", "Physical Memory", 65536, h.memKB / 64, used / 64},
		}
		h.storage[0].used = h.storage[0].size * int64(20+r.IntN(60)) / 100
		return
	}
	swap := h.memKB
	if gib == 0 || r.IntN(3) == 0 {
		swap = 0
	}
	disk := int64(8+r.IntN(200)) << 18 // 4 KiB blocks
	h.storage = []storage{
		{1, "1.3.6.1.2.1.25.2.1.2", "Physical memory", 1024, h.memKB, used},
		{3, "1.3.6.1.2.1.25.2.1.3", "Virtual memory", 1024, h.memKB + swap, used + swap/50},
		{6, "1.3.6.1.2.1.25.2.1.1", "Memory buffers", 1024, h.memKB, h.memKB / 60},
		{7, "1.3.6.1.2.1.25.2.1.1", "Cached memory", 1024, h.memKB / 3, h.memKB / 3},
		{8, "1.3.6.1.2.1.25.2.1.1", "Shared memory", 1024, h.memKB / 200, h.memKB / 200},
		{10, "1.3.6.1.2.1.25.2.1.3", "Swap space", 1024, swap, swap / 50},
		{11, "1.3.6.1.2.1.25.2.1.1", "Available memory", 1024, h.memKB - used, 0},
		{35, "1.3.6.1.2.1.25.2.1.4", "/run", 4096, h.memKB / 40, h.memKB / 40 / 300},
		{36, "1.3.6.1.2.1.25.2.1.4", "/", 4096, disk, disk * int64(10+r.IntN(70)) / 100},
		{38, "1.3.6.1.2.1.25.2.1.4", "/dev/shm", 4096, h.memKB / 8, 0},
		{39, "1.3.6.1.2.1.25.2.1.4", "/run/lock", 4096, 1280, 0},
	}
	if env.Persona.Family != persona.Embedded {
		h.storage = append(h.storage, storage{55, "1.3.6.1.2.1.25.2.1.4", "/boot", 1024, 466026, 60000 + int64(r.IntN(40000))})
	}
}

func (h *host) buildProcs(env serve.Env) {
	r := h.id.Rand("snmp-procs")
	var services []string
	if a, ok := persona.LookupArchetype(env.Persona.Archetype); ok {
		services = a.Services
	}
	add := func(pid int, p proc) {
		rp := runProc{pid: pid, proc: p, memKB: int64(2000 + r.IntN(40000))}
		if !p.kernel {
			rp.cpuRate = 0.001 + 0.05*r.Float64()
		} else {
			rp.memKB = 0
			rp.cpuRate = 0.0005 * r.Float64()
		}
		h.procs = append(h.procs, rp)
	}
	if h.windows {
		pid := 4
		add(1, proc{name: "System Idle Process"})
		for _, p := range windowsProcs[1:] {
			add(pid, p)
			pid += 4 * (1 + r.IntN(90))
		}
		for _, s := range services {
			for _, p := range windowsServiceProcs[s] {
				add(pid, p)
				pid += 4 * (1 + r.IntN(90))
			}
		}
		return
	}
	if h.cisco {
		return
	}
	add(1, proc{name: "systemd", path: "/sbin/init"})
	pid := 2
	for _, k := range linuxKernelThreads {
		add(pid, proc{name: k, kernel: true})
		pid += 1 + r.IntN(3)
	}
	pid = 180 + r.IntN(200)
	for _, p := range debianUserland {
		add(pid, p)
		pid += 1 + r.IntN(40)
	}
	pid += 50 + r.IntN(200)
	seen := map[string]bool{}
	for _, s := range services {
		if seen[s] || s == "snmp" {
			continue
		}
		seen[s] = true
		for _, p := range serviceProcs[s] {
			add(pid, p)
			pid += 1 + r.IntN(20)
		}
	}
	add(pid+r.IntN(100), snmpdProc)
}

// uptime is the host's uptime at now; the agent's is snmpdLag less.
func (h *host) uptime(now time.Time) time.Duration { return h.id.Uptime(now) }

func (h *host) agentTicks(now time.Time) uint64 {
	u := h.uptime(now) - h.snmpdLag
	return uint64(max(u, 0)/(10*time.Millisecond)) & 0xffffffff
}

// grow is a counter that has grown at a mean rate per second since boot,
// with a slow wobble that never makes it go backwards.
func (h *host) grow(now time.Time, rate float64) uint64 {
	t := h.uptime(now).Seconds()
	return uint64(rate*t + rate*60*(1-math.Cos(t/300)))
}

// dateAndTime encodes hrSystemDate (SNMPv2-TC DateAndTime, 11 bytes).
func dateAndTime(t time.Time) []byte {
	_, off := t.Zone()
	dir := byte('+')
	if off < 0 {
		dir, off = '-', -off
	}
	b := make([]byte, 11)
	binary.BigEndian.PutUint16(b, uint16(t.Year()))
	b[2], b[3], b[4], b[5], b[6] = byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())
	b[7] = byte(t.Nanosecond() / 100e6)
	b[8], b[9], b[10] = dir, byte(off/3600), byte(off%3600/60)
	return b
}
