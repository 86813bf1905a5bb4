package snmp

import (
	"fmt"
	"sync/atomic"
	"time"
)

// stats are the agent's own SNMP counters (SNMPv2-MIB snmp group and
// USM statistics), on top of a seeded history of polls since boot.
type stats struct {
	inPkts, outPkts, badVersions, badCommunity, parseErrs atomic.Uint64
	getRequests, getNexts, sets, totalReqVars, responses  atomic.Uint64
	unknownEngineIDs, unknownUserNames                    atomic.Uint64
}

// buildMIB assembles the MIB of h, restricted to the subtrees of view
// (nil: everything).
func buildMIB(h *host, st *stats, pollRate float64, view []OID) *mib {
	b := &mibBuilder{}
	h.system(b)
	h.interfaces(b)
	if !h.cisco {
		h.ip(b)
		h.hostResources(b)
	}
	h.snmpGroup(b, st, pollRate)
	h.ifMIB(b)
	h.snmpModules(b, st)
	if view != nil {
		kept := b.entries[:0]
		for _, e := range b.entries {
			for _, v := range view {
				if e.oid.hasPrefix(v) {
					kept = append(kept, e)
					break
				}
			}
		}
		b.entries = kept
	}
	return b.build()
}

func (h *host) system(b *mibBuilder) {
	b.scalar("1.3.6.1.2.1.1.1", str(h.descr))
	b.scalar("1.3.6.1.2.1.1.2", oidValue(h.objectID))
	b.scalar("1.3.6.1.2.1.1.3", func(t time.Time) Value { return Value{Tag: tagTimeTicks, Uint: h.agentTicks(t)} })
	b.scalar("1.3.6.1.2.1.1.4", str(h.contact))
	b.scalar("1.3.6.1.2.1.1.5", str(h.name))
	b.scalar("1.3.6.1.2.1.1.6", str(h.location))
	b.scalar("1.3.6.1.2.1.1.7", integer(h.services))
	if h.windows || h.cisco {
		return
	}
	b.scalar("1.3.6.1.2.1.1.8", ticks(0))
	for i, or := range netSNMPORTable {
		idx := OID{uint32(i + 1)}
		b.cell("1.3.6.1.2.1.1.9.1.2", idx, oidValue(or.id))
		b.cell("1.3.6.1.2.1.1.9.1.3", idx, str(or.descr))
		b.cell("1.3.6.1.2.1.1.9.1.4", idx, ticks(0))
	}
}

func (h *host) interfaces(b *mibBuilder) {
	b.scalar("1.3.6.1.2.1.2.1", integer(int64(len(h.ifaces))))
	for _, f := range h.ifaces {
		idx := OID{uint32(f.index)}
		col := func(n int, v func(time.Time) Value) { b.cell(fmt.Sprintf("1.3.6.1.2.1.2.2.1.%d", n), idx, v) }
		col(1, integer(int64(f.index)))
		col(2, str(f.descr))
		col(3, integer(f.typ))
		col(4, integer(f.mtu))
		col(5, gauge(f.speed))
		col(6, octets(f.mac))
		col(7, integer(1))
		col(8, integer(1))
		col(9, ticks(0))
		col(10, counter32(h.octetsIn(f)))
		col(11, counter32(h.packetsIn(f)))
		for n := 12; n <= 15; n++ {
			col(n, zeroCounter)
		}
		col(16, counter32(h.octetsOut(f)))
		col(17, counter32(h.packetsOut(f)))
		col(18, zeroCounter)
		col(19, zeroCounter)
		col(20, zeroCounter)
		col(21, gauge(0))
		col(22, oidValue("0.0"))
	}
}

func (h *host) octetsIn(f iface) func(time.Time) uint64 {
	return func(t time.Time) uint64 { return h.grow(t, f.inRate) }
}

func (h *host) octetsOut(f iface) func(time.Time) uint64 {
	return func(t time.Time) uint64 { return h.grow(t, f.outRate) }
}

func (h *host) packetsIn(f iface) func(time.Time) uint64 {
	return func(t time.Time) uint64 { return h.grow(t, f.inRate/420) }
}

func (h *host) packetsOut(f iface) func(time.Time) uint64 {
	return func(t time.Time) uint64 { return h.grow(t, f.outRate/380) }
}

func (h *host) ifMIB(b *mibBuilder) {
	for _, f := range h.ifaces {
		idx := OID{uint32(f.index)}
		col := func(n int, v func(time.Time) Value) { b.cell(fmt.Sprintf("1.3.6.1.2.1.31.1.1.1.%d", n), idx, v) }
		col(1, str(f.name))
		for n := 2; n <= 5; n++ {
			col(n, zeroCounter)
		}
		col(6, counter64(h.octetsIn(f)))
		col(7, counter64(h.packetsIn(f)))
		col(8, counter64(func(time.Time) uint64 { return 0 }))
		col(9, counter64(func(time.Time) uint64 { return 0 }))
		col(10, counter64(h.octetsOut(f)))
		col(11, counter64(h.packetsOut(f)))
		col(12, counter64(func(time.Time) uint64 { return 0 }))
		col(13, counter64(func(time.Time) uint64 { return 0 }))
		col(15, gauge(f.speed/1000000))
		col(16, integer(2))
		col(17, integer(f.connector))
		col(18, str(""))
		col(19, ticks(0))
	}
	b.scalar("1.3.6.1.2.1.31.1.5", ticks(0))
}

func (h *host) ip(b *mibBuilder) {
	ttl := int64(64)
	if h.windows {
		ttl = 128
	}
	var in, out float64
	for _, f := range h.ifaces {
		in += f.inRate / 420
		out += f.outRate / 380
	}
	b.scalar("1.3.6.1.2.1.4.1", integer(2))
	b.scalar("1.3.6.1.2.1.4.2", integer(ttl))
	b.scalar("1.3.6.1.2.1.4.3", counter32(func(t time.Time) uint64 { return h.grow(t, in) }))
	for _, n := range []string{"4", "5", "6", "7", "8", "11", "12", "14", "15", "16", "17", "18", "19", "23"} {
		b.scalar("1.3.6.1.2.1.4."+n, zeroCounter)
	}
	b.scalar("1.3.6.1.2.1.4.9", counter32(func(t time.Time) uint64 { return h.grow(t, in) }))
	b.scalar("1.3.6.1.2.1.4.10", counter32(func(t time.Time) uint64 { return h.grow(t, out) }))
	b.scalar("1.3.6.1.2.1.4.13", integer(0))
	if !h.windows {
		b.scalar("1.3.6.1.2.1.4.25", integer(2))
		b.scalar("1.3.6.1.2.1.4.26", integer(64))
		b.scalar("1.3.6.1.2.1.4.33", integer(int64(h.id.Rand("snmp-spinlock").Int32())))
	}
	type row struct {
		ifIndex   int
		addr      [4]byte
		mask      [4]byte
		broadcast int64
	}
	rows := []row{{1, [4]byte{127, 0, 0, 1}, [4]byte{255, 0, 0, 0}, 0}}
	if h.windows {
		rows[0].broadcast = 1
	}
	for _, f := range h.ifaces[1:] {
		if f.addr.Is4() {
			rows = append(rows, row{f.index, f.addr.As4(), [4]byte{255, 255, 255, 0}, 1})
		}
	}
	for _, r := range rows {
		idx := OID{uint32(r.addr[0]), uint32(r.addr[1]), uint32(r.addr[2]), uint32(r.addr[3])}
		b.cell("1.3.6.1.2.1.4.20.1.1", idx, ipValue(r.addr))
		b.cell("1.3.6.1.2.1.4.20.1.2", idx, integer(int64(r.ifIndex)))
		b.cell("1.3.6.1.2.1.4.20.1.3", idx, ipValue(r.mask))
		b.cell("1.3.6.1.2.1.4.20.1.4", idx, integer(r.broadcast))
	}
}

func (h *host) hostResources(b *mibBuilder) {
	b.scalar("1.3.6.1.2.1.25.1.1", func(t time.Time) Value {
		return Value{Tag: tagTimeTicks, Uint: uint64(h.uptime(t)/(10*time.Millisecond)) & 0xffffffff}
	})
	b.scalar("1.3.6.1.2.1.25.1.2", func(t time.Time) Value { return Value{Tag: tagOctetString, Bytes: dateAndTime(t)} })
	b.scalar("1.3.6.1.2.1.25.1.3", integer(393216))
	if h.windows {
		b.scalar("1.3.6.1.2.1.25.1.4", str(""))
	} else {
		b.scalar("1.3.6.1.2.1.25.1.4", str(h.cmdline))
	}
	b.scalar("1.3.6.1.2.1.25.1.5", gauge(uint64(h.users)))
	b.scalar("1.3.6.1.2.1.25.1.6", gauge(uint64(len(h.procs))))
	b.scalar("1.3.6.1.2.1.25.1.7", integer(0))
	b.scalar("1.3.6.1.2.1.25.2.2", integer(h.memKB))
	for _, s := range h.storage {
		idx := OID{uint32(s.index)}
		b.cell("1.3.6.1.2.1.25.2.3.1.1", idx, integer(int64(s.index)))
		b.cell("1.3.6.1.2.1.25.2.3.1.2", idx, oidValue(s.typ))
		b.cell("1.3.6.1.2.1.25.2.3.1.3", idx, str(s.descr))
		b.cell("1.3.6.1.2.1.25.2.3.1.4", idx, integer(s.unit))
		b.cell("1.3.6.1.2.1.25.2.3.1.5", idx, integer(s.size))
		b.cell("1.3.6.1.2.1.25.2.3.1.6", idx, integer(s.used))
		if h.windows {
			b.cell("1.3.6.1.2.1.25.2.3.1.7", idx, zeroCounter)
		}
	}
	for _, p := range h.procs {
		idx := OID{uint32(p.pid)}
		typ, path := int64(4), p.path
		if p.kernel {
			typ = 2
		}
		if h.windows {
			path = p.path // Windows gives the directory only
		}
		b.cell("1.3.6.1.2.1.25.4.2.1.1", idx, integer(int64(p.pid)))
		b.cell("1.3.6.1.2.1.25.4.2.1.2", idx, str(p.name))
		b.cell("1.3.6.1.2.1.25.4.2.1.3", idx, oidValue("0.0"))
		b.cell("1.3.6.1.2.1.25.4.2.1.4", idx, str(path))
		b.cell("1.3.6.1.2.1.25.4.2.1.5", idx, str(p.params))
		b.cell("1.3.6.1.2.1.25.4.2.1.6", idx, integer(typ))
		b.cell("1.3.6.1.2.1.25.4.2.1.7", idx, integer(2))
		rate := p.cpuRate
		b.cell("1.3.6.1.2.1.25.5.1.1.1", idx, func(t time.Time) Value {
			return Value{Tag: tagInteger, Int: int64(h.grow(t, rate)) & 0x7fffffff}
		})
		b.cell("1.3.6.1.2.1.25.5.1.1.2", idx, integer(p.memKB))
	}
}

// snmpGroup is SNMPv2-MIB's snmp group: a seeded history of polls since
// boot plus what this agent really received.
func (h *host) snmpGroup(b *mibBuilder, st *stats, pollRate float64) {
	hist := func(t time.Time, share float64) uint64 { return h.grow(t, pollRate*share) }
	c := func(n string, f func(time.Time) uint64) { b.scalar("1.3.6.1.2.1.11."+n, counter32(f)) }
	c("1", func(t time.Time) uint64 { return hist(t, 1) + st.inPkts.Load() })
	c("2", func(t time.Time) uint64 { return hist(t, 1) + st.outPkts.Load() })
	c("3", func(time.Time) uint64 { return st.badVersions.Load() })
	c("4", func(time.Time) uint64 { return st.badCommunity.Load() })
	c("5", func(time.Time) uint64 { return 0 })
	c("6", func(time.Time) uint64 { return st.parseErrs.Load() })
	for _, n := range []string{"8", "9", "10", "11", "12"} {
		b.scalar("1.3.6.1.2.1.11."+n, zeroCounter)
	}
	c("13", func(t time.Time) uint64 { return hist(t, 9) + st.totalReqVars.Load() })
	c("14", func(time.Time) uint64 { return 0 })
	c("15", func(t time.Time) uint64 { return hist(t, 0.4) + st.getRequests.Load() })
	c("16", func(t time.Time) uint64 { return hist(t, 0.6) + st.getNexts.Load() })
	c("17", func(time.Time) uint64 { return st.sets.Load() })
	for _, n := range []string{"18", "19", "20", "21", "22", "24", "25", "26", "27"} {
		b.scalar("1.3.6.1.2.1.11."+n, zeroCounter)
	}
	c("28", func(t time.Time) uint64 { return hist(t, 1) + st.responses.Load() })
	b.scalar("1.3.6.1.2.1.11.29", zeroCounter)
	b.scalar("1.3.6.1.2.1.11.30", integer(2))
	b.scalar("1.3.6.1.2.1.11.31", zeroCounter)
	b.scalar("1.3.6.1.2.1.11.32", zeroCounter)
}

// snmpModules holds the SNMP engine objects and USM statistics that end
// net-snmp's MIB: the engine id a v3 discovery also returns.
func (h *host) snmpModules(b *mibBuilder, st *stats) {
	if h.windows || h.cisco {
		return
	}
	e := newEngine(h.id)
	b.scalar("1.3.6.1.6.3.10.2.1.1", octets(e.id))
	b.scalar("1.3.6.1.6.3.10.2.1.2", integer(e.boots))
	b.scalar("1.3.6.1.6.3.10.2.1.3", func(t time.Time) Value { return Value{Tag: tagInteger, Int: e.time(h, t)} })
	b.scalar("1.3.6.1.6.3.10.2.1.4", integer(maxV3Size))
	b.scalar("1.3.6.1.6.3.15.1.1.1", zeroCounter)
	b.scalar("1.3.6.1.6.3.15.1.1.2", zeroCounter)
	b.scalar("1.3.6.1.6.3.15.1.1.3", counter32(func(time.Time) uint64 { return st.unknownUserNames.Load() }))
	b.scalar("1.3.6.1.6.3.15.1.1.4", counter32(func(time.Time) uint64 { return st.unknownEngineIDs.Load() }))
	b.scalar("1.3.6.1.6.3.15.1.1.5", zeroCounter)
	b.scalar("1.3.6.1.6.3.15.1.1.6", zeroCounter)
}
