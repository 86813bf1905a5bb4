package ics

import (
	"context"
	"encoding/binary"
	"io"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Modbus exception codes.
const (
	illegalFunction = 1
	illegalAddress  = 2
	illegalValue    = 3
)

// maxReadEvents caps the read events of one connection: a SCADA poller
// reads forever, and its first reads say all there is to say.
const maxReadEvents = 500

// modbusSession is one Modbus/TCP connection.
type modbusSession struct {
	s     *Server
	c     *serve.Conn
	unit  byte
	reads int
}

func (s *Server) serveModbus(ctx context.Context, c *serve.Conn) {
	m := &modbusSession{s: s, c: c}
	var head [7]byte
	pdu := make([]byte, 253)
	for ctx.Err() == nil {
		if _, err := io.ReadFull(c, head[:]); err != nil {
			return
		}
		length := int(binary.BigEndian.Uint16(head[4:6]))
		if binary.BigEndian.Uint16(head[2:4]) != 0 || length < 2 || length > 254 {
			// Not Modbus: a device drops the connection rather than
			// guess where the next frame starts.
			c.Session.Emit(event.Event{Type: "modbus.protocol.error", Fields: map[string]any{"error": "bad MBAP header"}})
			return
		}
		n := length - 1
		if _, err := io.ReadFull(c, pdu[:n]); err != nil {
			return
		}
		m.unit = head[6]
		resp := m.handle(pdu[:n])
		out := make([]byte, 7, 7+len(resp))
		copy(out, head[:4])
		binary.BigEndian.PutUint16(out[4:], uint16(len(resp)+1))
		out[6] = m.unit
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

func exception(fc byte, code byte) []byte { return []byte{fc | 0x80, code} }

func (m *modbusSession) emit(typ string, fields map[string]any) {
	fields["unit_id"] = int(m.unit)
	m.c.Session.Emit(event.Event{Type: "modbus." + typ, Fields: fields})
}

func (m *modbusSession) read(fc byte, table string, addr, qty int, exc byte) {
	if m.reads++; m.reads > maxReadEvents {
		return
	}
	m.emit("register.read", map[string]any{"function": int(fc), "table": table, "address": addr, "quantity": qty, "exception": int(exc)})
}

func (m *modbusSession) write(fc byte, table string, addr int, values []int, exc byte) {
	m.emit("register.write", map[string]any{"function": int(fc), "table": table, "address": addr,
		"values": values[:min(len(values), 128)], "tag": m.s.plant.tag(table, addr), "exception": int(exc)})
}

// handle answers one request PDU.
func (m *modbusSession) handle(pdu []byte) []byte {
	fc := pdu[0]
	body := pdu[1:]
	u16 := func(i int) int { return int(binary.BigEndian.Uint16(body[i:])) }
	p := m.s.plant
	switch fc {
	case 1, 2:
		table := map[byte]string{1: "coils", 2: "discrete_inputs"}[fc]
		if len(body) != 4 {
			return m.badLength(fc)
		}
		addr, qty := u16(0), u16(2)
		if exc := check(addr, qty, 2000, numCoils); exc != 0 {
			m.read(fc, table, addr, qty, exc)
			return exception(fc, exc)
		}
		m.read(fc, table, addr, qty, 0)
		out := []byte{fc, byte((qty + 7) / 8)}
		out = append(out, make([]byte, (qty+7)/8)...)
		for i := range qty {
			on := fc == 1 && p.readCoil(addr+i) || fc == 2 && p.discrete(addr+i)
			if on {
				out[2+i/8] |= 1 << (i % 8)
			}
		}
		return out
	case 3, 4:
		table := map[byte]string{3: "holding_registers", 4: "input_registers"}[fc]
		if len(body) != 4 {
			return m.badLength(fc)
		}
		addr, qty := u16(0), u16(2)
		if exc := check(addr, qty, 125, numRegisters); exc != 0 {
			m.read(fc, table, addr, qty, exc)
			return exception(fc, exc)
		}
		m.read(fc, table, addr, qty, 0)
		return m.registers(fc, addr, qty)
	case 5:
		if len(body) != 4 {
			return m.badLength(fc)
		}
		addr, v := u16(0), u16(2)
		exc := byte(0)
		if v != 0xff00 && v != 0 {
			exc = illegalValue
		} else if addr >= numCoils {
			exc = illegalAddress
		}
		m.write(fc, "coils", addr, []int{boolInt(v == 0xff00)}, exc)
		if exc != 0 {
			return exception(fc, exc)
		}
		p.writeCoils(addr, []bool{v == 0xff00})
		return pdu
	case 6:
		if len(body) != 4 {
			return m.badLength(fc)
		}
		addr, v := u16(0), u16(2)
		if addr >= numRegisters {
			m.write(fc, "holding_registers", addr, []int{v}, illegalAddress)
			return exception(fc, illegalAddress)
		}
		m.write(fc, "holding_registers", addr, []int{v}, 0)
		p.writeHolding(addr, []uint16{uint16(v)})
		return pdu
	case 15:
		if len(body) < 5 {
			return m.badLength(fc)
		}
		addr, qty, count := u16(0), u16(2), int(body[4])
		if qty < 1 || qty > 1968 || count != (qty+7)/8 || len(body) != 5+count {
			return exception(fc, illegalValue)
		}
		vals, bits := make([]int, qty), make([]bool, qty)
		for i := range qty {
			bits[i] = body[5+i/8]&(1<<(i%8)) != 0
			vals[i] = boolInt(bits[i])
		}
		if addr+qty > numCoils {
			m.write(fc, "coils", addr, vals, illegalAddress)
			return exception(fc, illegalAddress)
		}
		m.write(fc, "coils", addr, vals, 0)
		p.writeCoils(addr, bits)
		return pdu[:5]
	case 16:
		if len(body) < 5 {
			return m.badLength(fc)
		}
		addr, qty, count := u16(0), u16(2), int(body[4])
		if qty < 1 || qty > 123 || count != 2*qty || len(body) != 5+count {
			return exception(fc, illegalValue)
		}
		regs, vals := registersOf(body[5 : 5+count])
		if addr+qty > numRegisters {
			m.write(fc, "holding_registers", addr, vals, illegalAddress)
			return exception(fc, illegalAddress)
		}
		m.write(fc, "holding_registers", addr, vals, 0)
		p.writeHolding(addr, regs)
		return pdu[:5]
	case 22:
		if len(body) != 6 {
			return m.badLength(fc)
		}
		addr, and, or := u16(0), uint16(u16(2)), uint16(u16(4))
		if addr >= numRegisters {
			m.write(fc, "holding_registers", addr, []int{int(and), int(or)}, illegalAddress)
			return exception(fc, illegalAddress)
		}
		v := p.readHolding(addr)&and | or&^and
		m.write(fc, "holding_registers", addr, []int{int(v)}, 0)
		p.writeHolding(addr, []uint16{v})
		return pdu
	case 23:
		if len(body) < 9 {
			return m.badLength(fc)
		}
		raddr, rqty, waddr, wqty, count := u16(0), u16(2), u16(4), u16(6), int(body[8])
		if rqty < 1 || rqty > 125 || wqty < 1 || wqty > 121 || count != 2*wqty || len(body) != 9+count {
			return exception(fc, illegalValue)
		}
		regs, vals := registersOf(body[9 : 9+count])
		if raddr+rqty > numRegisters || waddr+wqty > numRegisters {
			m.write(fc, "holding_registers", waddr, vals, illegalAddress)
			return exception(fc, illegalAddress)
		}
		m.write(fc, "holding_registers", waddr, vals, 0)
		p.writeHolding(waddr, regs)
		m.read(fc, "holding_registers", raddr, rqty, 0)
		return m.registers(fc, raddr, rqty)
	case 43:
		return m.deviceID(body)
	case 17:
		if m.s.device.slaveID == nil {
			m.emit("device.identify", map[string]any{"function": 17, "exception": illegalFunction})
			return exception(fc, illegalFunction)
		}
		m.emit("device.identify", map[string]any{"function": 17, "exception": 0})
		return append([]byte{fc, byte(len(m.s.device.slaveID))}, m.s.device.slaveID...)
	}
	m.emit("request.unknown", map[string]any{"function": int(fc)})
	return exception(fc, illegalFunction)
}

// badLength answers a request whose length does not fit its function.
func (m *modbusSession) badLength(fc byte) []byte {
	m.c.Session.Emit(event.Event{Type: "modbus.protocol.error", Fields: map[string]any{"error": "request length does not fit the function"}})
	return exception(fc, illegalValue)
}

// check validates a quantity and a range, in the order the spec tests.
func check(addr, qty, maxQty, size int) byte {
	if qty < 1 || qty > maxQty {
		return illegalValue
	}
	if addr+qty > size {
		return illegalAddress
	}
	return 0
}

func (m *modbusSession) registers(fc byte, addr, qty int) []byte {
	out := []byte{fc, byte(2 * qty)}
	for i := range qty {
		var v uint16
		if fc == 4 {
			v = m.s.plant.input(addr + i)
		} else {
			v = m.s.plant.readHolding(addr + i)
		}
		out = binary.BigEndian.AppendUint16(out, v)
	}
	return out
}

func registersOf(b []byte) ([]uint16, []int) {
	regs, vals := make([]uint16, len(b)/2), make([]int, len(b)/2)
	for i := range regs {
		regs[i] = binary.BigEndian.Uint16(b[2*i:])
		vals[i] = int(regs[i])
	}
	return regs, vals
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// deviceID answers Read Device Identification (FC 43, MEI 14).
func (m *modbusSession) deviceID(body []byte) []byte {
	const fc = 43
	d := m.s.device
	if len(body) != 3 || body[0] != 14 {
		if !d.deviceID {
			m.emit("device.identify", map[string]any{"function": fc, "exception": illegalFunction})
			return exception(fc, illegalFunction)
		}
		return exception(fc, illegalValue)
	}
	code, first := body[1], int(body[2])
	exc := byte(0)
	objects := [][]byte{[]byte(d.vendor), []byte(d.productCode), []byte(d.revision), []byte(d.url), []byte(d.product), []byte(d.productCode)}
	switch {
	case !d.deviceID:
		exc = illegalFunction
	case code < 1 || code > 4:
		exc = illegalValue
	case first >= len(objects):
		exc = illegalAddress
	}
	m.emit("device.identify", map[string]any{"function": fc, "object_id": first, "exception": int(exc)})
	if exc != 0 {
		return exception(fc, exc)
	}
	last := 2 // basic
	switch code {
	case 2, 3:
		last = len(objects) - 1
	case 4:
		last = first
	}
	if code != 4 && first > last {
		first = 0
	}
	out := []byte{fc, 14, code, 0x82, 0, 0, 0}
	n := 0
	for i := first; i <= last; i++ {
		out = append(out, byte(i), byte(len(objects[i])))
		out = append(out, objects[i]...)
		n++
	}
	out[6] = byte(n)
	return out
}
