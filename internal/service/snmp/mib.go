package snmp

import (
	"slices"
	"time"
)

// entry is one instance of the MIB: its OID, the length of the object
// (scalar or column) part, and its value at a given moment.
type entry struct {
	oid OID
	obj int
	val func(now time.Time) Value
}

// mib is the agent's MIB view, sorted in walk order. It is built once per
// decky and read concurrently; values that move are computed from the
// time of the request.
type mib struct {
	entries []entry
	objects map[string]bool // object OIDs: a missing instance under one is noSuchInstance
}

type mibBuilder struct{ entries []entry }

func (b *mibBuilder) scalar(obj string, f func(time.Time) Value) {
	o := mustOID(obj)
	b.entries = append(b.entries, entry{oid: append(o, 0), obj: len(o), val: f})
}

func (b *mibBuilder) cell(column string, index OID, f func(time.Time) Value) {
	o := mustOID(column)
	b.entries = append(b.entries, entry{oid: append(o, index...), obj: len(o), val: f})
}

func (b *mibBuilder) build() *mib {
	slices.SortFunc(b.entries, func(x, y entry) int { return cmpOID(x.oid, y.oid) })
	b.entries = slices.CompactFunc(b.entries, func(x, y entry) bool { return cmpOID(x.oid, y.oid) == 0 })
	m := &mib{entries: b.entries, objects: map[string]bool{}}
	for _, e := range b.entries {
		m.objects[e.oid[:e.obj].String()] = true
	}
	return m
}

// get returns the instance o exactly.
func (m *mib) get(o OID) (entry, bool) {
	i, ok := slices.BinarySearchFunc(m.entries, o, func(e entry, t OID) int { return cmpOID(e.oid, t) })
	if !ok {
		return entry{}, false
	}
	return m.entries[i], true
}

// next returns the index of the first instance after o, or len(entries).
func (m *mib) next(o OID) int {
	i, ok := slices.BinarySearchFunc(m.entries, o, func(e entry, t OID) int { return cmpOID(e.oid, t) })
	if ok {
		i++
	}
	return i
}

// missing is the exception a Get of an absent o gets in v2c, as net-snmp
// tells them apart: an instance absent under a known scalar or column is
// noSuchInstance, anything else noSuchObject.
func (m *mib) missing(o OID) byte {
	for k := len(o); k > 0; k-- {
		if m.objects[o[:k].String()] {
			return tagNoSuchInstance
		}
	}
	return tagNoSuchObject
}

// Value constructors.

func str(s string) func(time.Time) Value {
	return func(time.Time) Value { return Value{Tag: tagOctetString, Bytes: []byte(s)} }
}

func octets(b []byte) func(time.Time) Value {
	return func(time.Time) Value { return Value{Tag: tagOctetString, Bytes: b} }
}

func integer(n int64) func(time.Time) Value {
	return func(time.Time) Value { return Value{Tag: tagInteger, Int: n} }
}

func gauge(n uint64) func(time.Time) Value {
	return func(time.Time) Value { return Value{Tag: tagGauge32, Uint: n} }
}

func ticks(n uint64) func(time.Time) Value {
	return func(time.Time) Value { return Value{Tag: tagTimeTicks, Uint: n} }
}

func oidValue(s string) func(time.Time) Value {
	o := mustOID(s)
	return func(time.Time) Value { return Value{Tag: tagOID, OID: o} }
}

func ipValue(b [4]byte) func(time.Time) Value {
	return func(time.Time) Value { return Value{Tag: tagIPAddress, Bytes: b[:]} }
}

// counter32 wraps a growing quantity as Counter32 does.
func counter32(f func(time.Time) uint64) func(time.Time) Value {
	return func(t time.Time) Value { return Value{Tag: tagCounter32, Uint: f(t) & 0xffffffff} }
}

func counter64(f func(time.Time) uint64) func(time.Time) Value {
	return func(t time.Time) Value { return Value{Tag: tagCounter64, Uint: f(t)} }
}

func zeroCounter(time.Time) Value { return Value{Tag: tagCounter32} }
