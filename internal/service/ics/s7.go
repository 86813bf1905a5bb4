package ics

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// COTP PDU types and S7 message types (ROSCTR).
const (
	cotpCR       = 0xe0
	cotpCC       = 0xd0
	cotpDT       = 0xf0
	cotpDR       = 0x80
	rosJob       = 1
	rosAckData   = 3
	rosUserdata  = 7
	maxTPKT      = 4096
	maxS7Message = 8192
)

// S7 memory areas.
const (
	areaInputs  = 0x81
	areaOutputs = 0x82
	areaFlags   = 0x83
	areaDB      = 0x84
)

// Item return codes.
const (
	itemOK          = 0xff
	itemOutOfRange  = 0x05
	itemNotExisting = 0x0a
)

// s7Session is one ISO-on-TCP connection.
type s7Session struct {
	s       *Server
	c       *serve.Conn
	id      *s7Identity
	srcTSAP []byte
	dstTSAP []byte
	pdu     int
}

func (s *Server) serveS7(ctx context.Context, c *serve.Conn) {
	if s.device.s7 == nil {
		return // not a Siemens: the port takes connections and drops them
	}
	x := &s7Session{s: s, c: c, id: s.device.s7, pdu: int(s.device.s7.pduSize)}
	var msg []byte
	for ctx.Err() == nil {
		tpdu, err := readTPKT(c)
		if err != nil {
			return
		}
		if len(tpdu) < 2 || int(tpdu[0]) >= len(tpdu) {
			x.protocolError("bad COTP header")
			return
		}
		switch tpdu[1] & 0xf0 {
		case cotpCR:
			if !x.connect(tpdu) {
				return
			}
		case cotpDT:
			if tpdu[0] < 2 {
				x.protocolError("bad COTP data header")
				return
			}
			msg = append(msg, tpdu[tpdu[0]+1:]...)
			if len(msg) > maxS7Message {
				x.protocolError("S7 message too long")
				return
			}
			if tpdu[2]&0x80 == 0 {
				continue // more fragments follow
			}
			resp := x.handle(msg)
			msg = nil
			if resp == nil {
				return
			}
			if _, err := c.Write(tpkt(append([]byte{2, cotpDT, 0x80}, resp...))); err != nil {
				return
			}
		default: // DR and the rest: the PLC hangs up
			return
		}
	}
}

func readTPKT(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(h[2:]))
	if h[0] != 3 || n < 7 || n > maxTPKT {
		return nil, fmt.Errorf("bad TPKT")
	}
	b := make([]byte, n-4)
	_, err := io.ReadFull(r, b)
	return b, err
}

func tpkt(payload []byte) []byte {
	out := []byte{3, 0, 0, 0}
	binary.BigEndian.PutUint16(out[2:], uint16(len(payload)+4))
	return append(out, payload...)
}

func (x *s7Session) protocolError(what string) {
	x.c.Session.Emit(event.Event{Type: "s7.protocol.error", Fields: map[string]any{"error": what}})
}

func (x *s7Session) emit(typ string, fields map[string]any) {
	x.c.Session.Emit(event.Event{Type: "s7." + typ, Fields: fields})
}

// connect answers a COTP connection request with a confirm that echoes
// the client's TSAPs, as an S7 CPU accepts any rack and slot on TCP.
func (x *s7Session) connect(cr []byte) bool {
	end := int(cr[0]) + 1 // serveS7 checked it is within cr
	if end < 7 {
		x.protocolError("short COTP connection request")
		return false
	}
	srcRef := cr[4:6]
	for params := cr[7:end]; len(params) >= 2; {
		code, n := params[0], int(params[1])
		if 2+n > len(params) {
			break
		}
		switch code {
		case 0xc1:
			x.srcTSAP = append([]byte(nil), params[2:2+n]...)
		case 0xc2:
			x.dstTSAP = append([]byte(nil), params[2:2+n]...)
		}
		params = params[2+n:]
	}
	cc := []byte{0, cotpCC, srcRef[0], srcRef[1], 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0a}
	if x.srcTSAP != nil {
		cc = append(append(cc, 0xc1, byte(len(x.srcTSAP))), x.srcTSAP...)
	}
	if x.dstTSAP != nil {
		cc = append(append(cc, 0xc2, byte(len(x.dstTSAP))), x.dstTSAP...)
	}
	cc[0] = byte(len(cc) - 1)
	_, err := x.c.Write(tpkt(cc))
	return err == nil
}

// header builds an S7 header; ack data carries an error class and code.
func header(ros byte, ref []byte, param, data []byte, errClass, errCode byte) []byte {
	h := []byte{0x32, ros, 0, 0, ref[0], ref[1], 0, 0, 0, 0}
	binary.BigEndian.PutUint16(h[6:], uint16(len(param)))
	binary.BigEndian.PutUint16(h[8:], uint16(len(data)))
	if ros == rosAckData {
		h = append(h, errClass, errCode)
	}
	return append(append(h, param...), data...)
}

// handle answers one S7 message; nil closes the connection.
func (x *s7Session) handle(m []byte) []byte {
	if len(m) < 10 || m[0] != 0x32 {
		x.protocolError("not S7comm")
		return nil
	}
	ros, ref := m[1], m[4:6]
	plen, dlen := int(binary.BigEndian.Uint16(m[6:])), int(binary.BigEndian.Uint16(m[8:]))
	hl := 10
	if ros == 2 || ros == rosAckData {
		hl = 12
	}
	if len(m) < hl+plen+dlen || plen < 1 {
		x.protocolError("S7 lengths past the message")
		return nil
	}
	param, data := m[hl:hl+plen], m[hl+plen:hl+plen+dlen]
	switch ros {
	case rosJob:
		return x.job(ref, param, data)
	case rosUserdata:
		return x.userdata(ref, param, data)
	}
	x.protocolError(fmt.Sprintf("unexpected ROSCTR %d", ros))
	return nil
}

func (x *s7Session) job(ref, param, data []byte) []byte {
	notSupported := func() []byte { return header(rosAckData, ref, param[:1], nil, 0x81, 0x04) }
	switch param[0] {
	case 0xf0: // setup communication
		if len(param) < 8 {
			return notSupported()
		}
		asked := int(binary.BigEndian.Uint16(param[6:]))
		x.pdu = max(240, min(asked, int(x.id.pduSize)))
		x.emit("client.hello", map[string]any{"src_tsap": hex.EncodeToString(x.srcTSAP), "dst_tsap": hex.EncodeToString(x.dstTSAP),
			"rack": rack(x.dstTSAP), "slot": slot(x.dstTSAP), "pdu_size": asked})
		p := []byte{0xf0, 0, 0, 3, 0, 3, 0, 0}
		binary.BigEndian.PutUint16(p[6:], uint16(x.pdu))
		return header(rosAckData, ref, p, nil, 0, 0)
	case 0x04:
		return x.readVar(ref, param)
	case 0x05:
		return x.writeVar(ref, param, data)
	case 0x1a, 0x1b, 0x1c:
		x.emit("block.transfer", map[string]any{"action": "download", "block": blockName(param)})
		return notSupported()
	case 0x1d, 0x1e, 0x1f:
		x.emit("block.transfer", map[string]any{"action": "upload", "block": blockName(param)})
		return notSupported()
	case 0x28:
		x.emit("cpu.control", map[string]any{"action": piService(param)})
		return notSupported()
	case 0x29:
		x.emit("cpu.control", map[string]any{"action": "stop"})
		return notSupported()
	}
	x.protocolError(fmt.Sprintf("unknown job function 0x%02x", param[0]))
	return notSupported()
}

func rack(tsap []byte) int {
	if len(tsap) < 2 {
		return 0
	}
	return int(tsap[1] >> 5)
}

func slot(tsap []byte) int {
	if len(tsap) < 2 {
		return 0
	}
	return int(tsap[1] & 0x1f)
}

// blockName reads the block named in an upload or download request
// ("_0800001P": type 08 OB, number 00001).
func blockName(param []byte) string {
	i := bytes.IndexByte(param, '_')
	if i < 0 || len(param) < i+9 {
		return ""
	}
	name := map[string]string{"08": "OB", "0A": "DB", "0B": "SDB", "0C": "FC", "0D": "SFC", "0E": "FB", "0F": "SFB"}[string(param[i+1:i+3])]
	num := bytes.TrimLeft(param[i+3:i+8], "0")
	if name == "" || len(num) == 0 {
		return ""
	}
	return name + event.Text(num, 5)
}

// piService names the program invocation service a PLC control carries.
func piService(param []byte) string {
	for _, s := range []string{"P_PROGRAM", "_INSE", "_DELE", "_GARB", "_MODU", "_N_"} {
		if bytes.Contains(param, []byte(s)) {
			return s
		}
	}
	return "pi_service"
}

// item is one Read or Write Var address.
type item struct {
	size   int // bytes per element of the transport size
	count  int
	db     int
	area   byte
	offset int // byte offset
	bit    int // bit of the byte, for a BIT item
	bits   bool
}

func (it item) String() string {
	return fmt.Sprintf("%s:%d:%d:%d", areaName(it.area), it.db, it.offset, it.length())
}

func (it item) length() int {
	if it.bits {
		return 1
	}
	return it.size * it.count
}

func areaName(a byte) string {
	switch a {
	case areaInputs:
		return "I"
	case areaOutputs:
		return "Q"
	case areaFlags:
		return "M"
	case areaDB:
		return "DB"
	case 0x1c:
		return "C"
	case 0x1d:
		return "T"
	}
	return fmt.Sprintf("0x%02x", a)
}

// parseItems reads the S7ANY addresses of a Read or Write Var.
func parseItems(param []byte) ([]item, bool) {
	if len(param) < 2 {
		return nil, false
	}
	n := int(param[1])
	if n == 0 || n > 20 || len(param) < 2+12*n {
		return nil, false
	}
	items := make([]item, n)
	for i := range items {
		p := param[2+12*i:]
		if p[0] != 0x12 || p[1] != 0x0a || p[2] != 0x10 {
			return nil, false
		}
		size := map[byte]int{1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 4, 8: 4}[p[3]]
		if size == 0 {
			size = 1
		}
		addr := int(p[9])<<16 | int(p[10])<<8 | int(p[11])
		items[i] = item{size: size, count: int(binary.BigEndian.Uint16(p[4:])), db: int(binary.BigEndian.Uint16(p[6:])),
			area: p[8], offset: addr >> 3, bit: addr & 7, bits: p[3] == 1}
	}
	return items, true
}

func (x *s7Session) readVar(ref, param []byte) []byte {
	items, ok := parseItems(param)
	if !ok {
		x.protocolError("bad Read Var items")
		return header(rosAckData, ref, param[:1], nil, 0x85, 0x00)
	}
	var names []string
	var data []byte
	total := 0
	for i, it := range items {
		names = append(names, it.String())
		mem, found := x.s.plant.area(it.area, it.db)
		code := byte(itemOK)
		switch {
		case !found:
			code = itemNotExisting
		case it.offset+it.length() > len(mem) || total+it.length() > x.pdu-18:
			code = itemOutOfRange
		}
		if code != itemOK {
			data = append(data, code, 0, 0, 0)
		} else {
			v := mem[it.offset : it.offset+it.length()]
			if it.bits {
				bit := byte(0)
				if v[0]&(1<<it.bit) != 0 {
					bit = 1
				}
				data = append(data, itemOK, 3, 0, 1, bit)
			} else {
				data = append(data, itemOK, 4, 0, 0)
				binary.BigEndian.PutUint16(data[len(data)-2:], uint16(8*len(v)))
				data = append(data, v...)
			}
			total += it.length()
		}
		if len(data)%2 == 1 && i < len(items)-1 {
			data = append(data, 0)
		}
	}
	x.emit("var.read", map[string]any{"items": names})
	return header(rosAckData, ref, []byte{0x04, byte(len(items))}, data, 0, 0)
}

func (x *s7Session) writeVar(ref, param, data []byte) []byte {
	items, ok := parseItems(param)
	if !ok {
		x.protocolError("bad Write Var items")
		return header(rosAckData, ref, param[:1], nil, 0x85, 0x00)
	}
	var names, values []string
	var codes []byte
	for _, it := range items {
		if len(data) < 4 {
			codes = append(codes, 0x07) // data type inconsistent
			continue
		}
		n := int(binary.BigEndian.Uint16(data[2:]))
		if data[1] != 3 && data[1] != 9 {
			n /= 8 // lengths of byte-sized data are in bits
		}
		if 4+n > len(data) {
			codes = append(codes, 0x07)
			data = nil
			continue
		}
		v := data[4 : 4+n]
		data = data[4+n:]
		if n%2 == 1 && len(data) > 0 {
			data = data[1:]
		}
		names = append(names, it.String())
		values = append(values, hex.EncodeToString(v[:min(len(v), 256)]))
		codes = append(codes, x.s.plant.write(it, v))
	}
	x.emit("var.write", map[string]any{"items": names, "data_hex": values})
	return header(rosAckData, ref, []byte{0x05, byte(len(items))}, codes, 0, 0)
}

// userdata answers the CPU, block and time functions.
func (x *s7Session) userdata(ref, param, data []byte) []byte {
	if len(param) < 8 || param[0] != 0 || param[1] != 1 || param[2] != 0x12 {
		x.protocolError("bad userdata parameters")
		return nil
	}
	group, sub, seq := param[5]&0x0f, param[6], param[7]
	reply := func(errCode uint16, payload []byte) []byte {
		p := []byte{0, 1, 0x12, 8, 0x12, 0x80 | group, sub, seq, 0, 0, 0, 0}
		binary.BigEndian.PutUint16(p[10:], errCode)
		d := []byte{0x0a, 0, 0, 0}
		if payload != nil {
			d = []byte{0xff, 0x09, 0, 0}
			binary.BigEndian.PutUint16(d[2:], uint16(len(payload)))
			d = append(d, payload...)
		}
		return header(rosUserdata, ref, p, d, 0, 0)
	}
	switch {
	case group == 4 && sub == 1: // read SZL
		if len(data) < 8 {
			return reply(0xd401, nil)
		}
		id, index := binary.BigEndian.Uint16(data[4:]), binary.BigEndian.Uint16(data[6:])
		list := x.szl(id, index)
		x.emit("device.identify", map[string]any{"szl_id": fmt.Sprintf("0x%04x", id), "szl_index": fmt.Sprintf("0x%04x", index), "found": list != nil})
		if list == nil {
			return reply(0xd401, nil)
		}
		return reply(0, list)
	case group == 3: // block functions
		action := map[byte]string{1: "list", 2: "list", 3: "info"}[sub]
		if action == "" {
			action = "block_function"
		}
		x.emit("block.transfer", map[string]any{"action": action, "block": ""})
		if sub == 1 {
			var b []byte
			for _, t := range []struct {
				typ byte
				n   uint16
			}{{0x38, 3}, {0x41, 4}, {0x43, 2}, {0x45, 1}} {
				b = append(b, 0x30, t.typ, byte(t.n>>8), byte(t.n))
			}
			return reply(0, b)
		}
		return reply(0xd20e, nil) // protected block or none of that type
	case group == 7 && sub == 1: // read clock
		return reply(0, clock(x.s.now()))
	}
	return reply(0x8104, nil)
}

// clock is the S7 DATE_AND_TIME of t, BCD, with the reserved byte first.
func clock(t time.Time) []byte {
	bcd := func(v int) byte { return byte(v/10<<4 | v%10) }
	t = t.UTC()
	ms := t.Nanosecond() / 1e6
	return []byte{0, 0x19, bcd(t.Year() % 100), bcd(int(t.Month())), bcd(t.Day()), bcd(t.Hour()), bcd(t.Minute()), bcd(t.Second()),
		bcd(ms / 10), byte(ms%10<<4) | byte(t.Weekday()+1)}
}

// szl builds a system status list: id, index, record length, count and
// the records; nil when the PLC has no such list.
func (x *s7Session) szl(id, index uint16) []byte {
	text := func(s string, n int, pad byte) []byte {
		b := bytes.Repeat([]byte{pad}, n)
		copy(b, s)
		return b
	}
	var size int
	var records [][]byte
	switch id {
	case 0x0000: // the lists this CPU has
		size = 2
		for _, l := range []uint16{0x0000, 0x0011, 0x0111, 0x001c, 0x011c, 0x0424} {
			records = append(records, binary.BigEndian.AppendUint16(nil, l))
		}
	case 0x0011, 0x0111:
		size = 28
		mod := func(idx uint16, mlfb string, ausbg, ausbe uint16) []byte {
			r := binary.BigEndian.AppendUint16(nil, idx)
			r = append(r, text(mlfb, 20, ' ')...)
			r = binary.BigEndian.AppendUint16(r, 0)
			r = binary.BigEndian.AppendUint16(r, ausbg)
			return binary.BigEndian.AppendUint16(r, ausbe)
		}
		fw := x.id.firmware
		records = [][]byte{
			mod(1, x.id.order, 0, 1),
			mod(6, x.id.hardware, 0, 1),
			mod(7, "", uint16('V')<<8|uint16(fw[0]), uint16(fw[1])<<8|uint16(fw[2])),
		}
	case 0x001c, 0x011c:
		size = 34
		for _, c := range []struct {
			idx uint16
			s   string
		}{{1, x.id.station}, {2, x.id.moduleType}, {3, x.id.plant}, {4, x.id.copyright}, {5, x.id.serial}, {7, x.id.moduleType}, {8, ""}, {11, ""}} {
			records = append(records, append(binary.BigEndian.AppendUint16(nil, c.idx), text(c.s, 32, 0)...))
		}
	case 0x0424: // CPU mode: RUN
		size = 20
		r := []byte{0x51, 0x44, 0xff, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}
		records = [][]byte{append(r, clock(x.s.plant.now())[2:]...)}
	default:
		return nil
	}
	if id&0x0f00 == 0x0100 { // a partial list: the record of index
		var one [][]byte
		for _, r := range records {
			if binary.BigEndian.Uint16(r) == index {
				one = append(one, r)
			}
		}
		if one == nil {
			return nil
		}
		records = one
	}
	out := binary.BigEndian.AppendUint16(nil, id)
	out = binary.BigEndian.AppendUint16(out, index)
	out = binary.BigEndian.AppendUint16(out, uint16(size))
	out = binary.BigEndian.AppendUint16(out, uint16(len(records)))
	for _, r := range records {
		out = append(out, r[:size]...)
	}
	return out
}

// area returns a snapshot of an S7 memory area: DB1 holds the readings as
// REALs, DB2 the setpoints as INTs (the Modbus holding registers), I the
// alarms, Q the pump and valve outputs (the coils), M the flag bytes.
func (p *plant) area(area byte, db int) ([]byte, bool) {
	switch {
	case area == areaDB && db == 1:
		var b []byte
		now := p.now()
		for _, s := range p.signals {
			b = binary.BigEndian.AppendUint32(b, math.Float32bits(float32(s.at(now))))
		}
		return b, true
	case area == areaDB && db == 2:
		var b []byte
		for i := range 16 {
			b = binary.BigEndian.AppendUint16(b, p.readHolding(i))
		}
		return b, true
	case area == areaInputs:
		b := make([]byte, 64)
		for i := range 16 {
			if p.discrete(i) {
				b[i/8] |= 1 << (i % 8)
			}
		}
		return b, true
	case area == areaOutputs:
		b := make([]byte, 64)
		for i := range 64 {
			if p.readCoil(i) {
				b[i/8] |= 1 << (i % 8)
			}
		}
		return b, true
	case area == areaFlags:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.memory["M"] == nil {
			p.memory["M"] = make([]byte, 256)
		}
		return append([]byte(nil), p.memory["M"]...), true
	}
	return nil, false
}

// write stores bytes written to an area, where the PLC would keep them,
// and returns the item's return code.
func (p *plant) write(it item, v []byte) byte {
	area, db, offset := it.area, it.db, it.offset
	mem, ok := p.area(area, db)
	if !ok {
		return itemNotExisting
	}
	if offset+len(v) > len(mem) || it.bits && len(v) != 1 {
		return itemOutOfRange
	}
	if it.bits { // set or clear one bit of the byte
		b := mem[offset]&^(1<<it.bit) | (v[0]&1)<<it.bit
		v = []byte{b}
	}
	switch {
	case area == areaDB && db == 2:
		for i := 0; i+1 < len(v); i += 2 {
			if r := (offset + i) / 2; r < 16 {
				p.writeHolding(r, []uint16{binary.BigEndian.Uint16(v[i:])})
			}
		}
	case area == areaOutputs:
		copy(mem[offset:], v)
		bits := make([]bool, 64)
		for i := range bits {
			bits[i] = mem[i/8]&(1<<(i%8)) != 0
		}
		p.writeCoils(0, bits)
	case area == areaFlags:
		p.mu.Lock()
		copy(p.memory["M"][offset:], v)
		p.mu.Unlock()
	}
	// DB1 and the inputs are the process image: a write is acknowledged
	// and the next scan overwrites it, as on the PLC.
	return itemOK
}
