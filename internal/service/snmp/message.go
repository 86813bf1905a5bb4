package snmp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// SNMP versions as the message's version field carries them.
const (
	versionV1  = 0
	versionV2c = 1
	versionV3  = 3
)

// PDU types (context-specific constructed tags).
const (
	pduGet      = 0xa0
	pduGetNext  = 0xa1
	pduResponse = 0xa2
	pduSet      = 0xa3
	pduTrapV1   = 0xa4
	pduGetBulk  = 0xa5
	pduInform   = 0xa6
	pduTrapV2   = 0xa7
	pduReport   = 0xa8
)

// Error statuses (RFC 3416).
const (
	errNoError     = 0
	errTooBig      = 1
	errNoSuchName  = 2
	errBadValue    = 3
	errReadOnly    = 4
	errGenErr      = 5
	errNoAccess    = 6
	errNotWritable = 17
)

// Value is one variable's value: Tag says which field holds it.
type Value struct {
	Tag   byte
	Int   int64  // INTEGER
	Uint  uint64 // Counter32, Gauge32, TimeTicks, Counter64
	Bytes []byte // OCTET STRING, IpAddress, Opaque, anything else raw
	OID   OID
}

func (v Value) encode() []byte {
	switch v.Tag {
	case tagInteger:
		return encInt(tagInteger, v.Int)
	case tagCounter32, tagGauge32, tagTimeTicks, tagCounter64:
		return encUint(v.Tag, v.Uint)
	case tagOID:
		return encOID(v.OID)
	case tagNull, tagNoSuchObject, tagNoSuchInstance, tagEndOfMibView:
		return []byte{v.Tag, 0}
	default:
		return tlv(v.Tag, v.Bytes)
	}
}

func parseValue(tag byte, val []byte) (Value, error) {
	v := Value{Tag: tag}
	var err error
	switch tag {
	case tagInteger:
		v.Int, err = parseInt(val)
	case tagCounter32, tagGauge32, tagTimeTicks, tagCounter64:
		v.Uint, err = parseUint(val)
	case tagOID:
		v.OID, err = parseOID(val)
	default:
		v.Bytes = val
	}
	return v, err
}

// text renders a value for an event, as snmpset would name its type.
func (v Value) text() (typ, val string) {
	switch v.Tag {
	case tagInteger:
		return "INTEGER", strconv.FormatInt(v.Int, 10)
	case tagOctetString:
		return "STRING", string(v.Bytes)
	case tagNull:
		return "NULL", ""
	case tagOID:
		return "OID", v.OID.String()
	case tagIPAddress:
		if len(v.Bytes) == 4 {
			return "IpAddress", fmt.Sprintf("%d.%d.%d.%d", v.Bytes[0], v.Bytes[1], v.Bytes[2], v.Bytes[3])
		}
		return "IpAddress", hex.EncodeToString(v.Bytes)
	case tagCounter32:
		return "Counter32", strconv.FormatUint(v.Uint, 10)
	case tagGauge32:
		return "Gauge32", strconv.FormatUint(v.Uint, 10)
	case tagTimeTicks:
		return "Timeticks", strconv.FormatUint(v.Uint, 10)
	case tagCounter64:
		return "Counter64", strconv.FormatUint(v.Uint, 10)
	case tagOpaque:
		return "Opaque", hex.EncodeToString(v.Bytes)
	}
	return fmt.Sprintf("0x%02x", v.Tag), hex.EncodeToString(v.Bytes)
}

// VarBind is one variable binding.
type VarBind struct {
	OID   OID
	Value Value
}

func (vb VarBind) encode() []byte { return tlv(tagSequence, encOID(vb.OID), vb.Value.encode()) }

// PDU is a protocol data unit. For GetBulk, ErrStatus is non-repeaters and
// ErrIndex max-repetitions.
type PDU struct {
	Type      byte
	RequestID int64
	ErrStatus int64
	ErrIndex  int64
	VarBinds  []VarBind
}

func parsePDU(b []byte) (PDU, error) {
	tag, body, _, err := readTLV(b)
	if err != nil {
		return PDU{}, err
	}
	if tag < pduGet || tag > pduReport || tag == pduTrapV1 {
		return PDU{}, fmt.Errorf("%w: pdu type 0x%02x", errBER, tag)
	}
	p := PDU{Type: tag}
	ints := [3]*int64{&p.RequestID, &p.ErrStatus, &p.ErrIndex}
	for _, dst := range ints {
		var v []byte
		if v, body, err = expect(body, tagInteger); err != nil {
			return PDU{}, err
		}
		if *dst, err = parseInt(v); err != nil {
			return PDU{}, err
		}
	}
	if p.RequestID < -1<<31 || p.RequestID >= 1<<31 {
		return PDU{}, errBER
	}
	list, _, err := expect(body, tagSequence)
	if err != nil {
		return PDU{}, err
	}
	for len(list) > 0 {
		if len(p.VarBinds) == maxVarBinds {
			return PDU{}, errors.New("too many variable bindings")
		}
		var vb []byte
		if vb, list, err = expect(list, tagSequence); err != nil {
			return PDU{}, err
		}
		ov, rest, err := expect(vb, tagOID)
		if err != nil {
			return PDU{}, err
		}
		oid, err := parseOID(ov)
		if err != nil {
			return PDU{}, err
		}
		vt, vv, _, err := readTLV(rest)
		if err != nil {
			return PDU{}, err
		}
		val, err := parseValue(vt, vv)
		if err != nil {
			return PDU{}, err
		}
		p.VarBinds = append(p.VarBinds, VarBind{OID: oid, Value: val})
	}
	return p, nil
}

func (p PDU) encode() []byte {
	vbs := make([][]byte, len(p.VarBinds))
	for i, vb := range p.VarBinds {
		vbs[i] = vb.encode()
	}
	return tlv(p.Type, encInt(tagInteger, p.RequestID), encInt(tagInteger, p.ErrStatus),
		encInt(tagInteger, p.ErrIndex), tlv(tagSequence, vbs...))
}

// Message is an SNMPv1 or v2c message.
type Message struct {
	Version   int64
	Community []byte
	PDU       PDU
}

// USM is what an SNMPv3 message says of itself in clear: its header and
// its user-based security parameters (RFC 3412, RFC 3414).
type USM struct {
	MsgID         int64
	MaxSize       int64
	Flags         byte
	SecModel      int64
	EngineID      []byte
	EngineBoots   int64
	EngineTime    int64
	UserName      []byte
	AuthParams    []byte
	PrivParams    []byte
	ContextEngine []byte
	ContextName   []byte
	// PDU is present when the scoped PDU is in clear (no privacy).
	PDU *PDU
}

// v3 message flags.
const (
	flagAuth       = 0x01
	flagPriv       = 0x02
	flagReportable = 0x04
)

// version reads the version field of any SNMP message.
func version(b []byte) (int64, []byte, error) {
	body, _, err := expect(b, tagSequence)
	if err != nil {
		return 0, nil, err
	}
	v, rest, err := expect(body, tagInteger)
	if err != nil {
		return 0, nil, err
	}
	n, err := parseInt(v)
	return n, rest, err
}

// parseCommunity parses an SNMPv1 or v2c message. The community is kept
// even when the PDU is malformed, so a bad packet still records it.
func parseCommunity(b []byte) (Message, error) {
	ver, rest, err := version(b)
	if err != nil {
		return Message{}, err
	}
	m := Message{Version: ver}
	if m.Community, rest, err = expect(rest, tagOctetString); err != nil {
		return m, err
	}
	m.PDU, err = parsePDU(rest)
	return m, err
}

func (m Message) encode() []byte {
	return tlv(tagSequence, encInt(tagInteger, m.Version), tlv(tagOctetString, m.Community), m.PDU.encode())
}

// parseV3 reads an SNMPv3 message's header, its USM parameters and, when
// not encrypted, its scoped PDU.
func parseV3(b []byte) (USM, error) {
	var u USM
	ver, rest, err := version(b)
	if err != nil {
		return u, err
	}
	if ver != versionV3 {
		return u, errBER
	}
	global, rest, err := expect(rest, tagSequence)
	if err != nil {
		return u, err
	}
	for _, dst := range []*int64{&u.MsgID, &u.MaxSize} {
		var v []byte
		if v, global, err = expect(global, tagInteger); err != nil {
			return u, err
		}
		if *dst, err = parseInt(v); err != nil {
			return u, err
		}
	}
	flags, global, err := expect(global, tagOctetString)
	if err != nil || len(flags) != 1 {
		return u, errBER
	}
	u.Flags = flags[0]
	v, _, err := expect(global, tagInteger)
	if err != nil {
		return u, err
	}
	if u.SecModel, err = parseInt(v); err != nil {
		return u, err
	}
	secParams, rest, err := expect(rest, tagOctetString)
	if err != nil {
		return u, err
	}
	if u.SecModel == 3 {
		if err := u.parseUSM(secParams); err != nil {
			return u, err
		}
	}
	tag, data, _, err := readTLV(rest)
	if err != nil {
		return u, err
	}
	if tag != tagSequence {
		return u, nil // encrypted scoped PDU
	}
	if u.ContextEngine, data, err = expect(data, tagOctetString); err != nil {
		return u, err
	}
	if u.ContextName, data, err = expect(data, tagOctetString); err != nil {
		return u, err
	}
	pdu, err := parsePDU(data)
	if err != nil {
		return u, err
	}
	u.PDU = &pdu
	return u, nil
}

func (u *USM) parseUSM(b []byte) error {
	body, _, err := expect(b, tagSequence)
	if err != nil {
		return err
	}
	if u.EngineID, body, err = expect(body, tagOctetString); err != nil {
		return err
	}
	for _, dst := range []*int64{&u.EngineBoots, &u.EngineTime} {
		var v []byte
		if v, body, err = expect(body, tagInteger); err != nil {
			return err
		}
		if *dst, err = parseInt(v); err != nil {
			return err
		}
	}
	if u.UserName, body, err = expect(body, tagOctetString); err != nil {
		return err
	}
	if u.AuthParams, body, err = expect(body, tagOctetString); err != nil {
		return err
	}
	u.PrivParams, _, err = expect(body, tagOctetString)
	return err
}

// report builds an SNMPv3 Report answering u with one counter, in clear
// and unauthenticated as RFC 3414 section 3.2 has it.
func report(u USM, engineID []byte, boots, secs int64, counter OID, n uint64, requestID int64) []byte {
	sec := tlv(tagSequence, tlv(tagOctetString, engineID), encInt(tagInteger, boots), encInt(tagInteger, secs),
		tlv(tagOctetString, u.UserName), tlv(tagOctetString, nil), tlv(tagOctetString, nil))
	pdu := PDU{Type: pduReport, RequestID: requestID,
		VarBinds: []VarBind{{OID: counter, Value: Value{Tag: tagCounter32, Uint: n}}}}
	scoped := tlv(tagSequence, tlv(tagOctetString, engineID), tlv(tagOctetString, nil), pdu.encode())
	global := tlv(tagSequence, encInt(tagInteger, u.MsgID), encInt(tagInteger, maxV3Size),
		tlv(tagOctetString, []byte{0}), encInt(tagInteger, 3))
	return tlv(tagSequence, encInt(tagInteger, versionV3), global, tlv(tagOctetString, sec), scoped)
}

// maxV3Size is the msgMaxSize net-snmp's agent announces over UDP.
const maxV3Size = 65507
