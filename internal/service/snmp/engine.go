package snmp

import (
	"encoding/binary"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// engine is the agent's SNMPv3 engine: its id, boot count and time.
type engine struct {
	id    []byte
	boots int64
}

// newEngine builds the engine id as net-snmp does by default
// (engineIDType 128, "netsnmp random"): the enterprise 8072 with the
// format bit, format 0x80, four random bytes and the creation time as a
// little-endian 64-bit time_t. The creation time is when snmpd first ran
// on the machine, some time before its current boot.
func newEngine(id persona.Identity) engine {
	r := id.Rand("snmp-engine")
	created := time.Date(2023, 6, 10, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour))))
	b := []byte{0x80, 0x00, 0x1f, 0x88, 0x80}
	b = append(b, id.Bytes("snmp-engine-id", 4)...)
	b = binary.LittleEndian.AppendUint64(b, uint64(created.Unix()))
	return engine{id: b, boots: int64(1 + r.IntN(40))}
}

// time is snmpEngineTime: seconds since the agent started.
func (e engine) time(h *host, now time.Time) int64 {
	return int64(h.agentTicks(now) / 100)
}
