package llmnr

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
)

// Record types and classes.
const (
	typeA     = 1
	typeNB    = 0x20
	typeANY   = 255
	classIN   = 1
	classQU   = 0x8001 // mDNS: IN, answer me by unicast
	flagQR    = 0x8000
	maxLabels = 64
)

var errWire = errors.New("malformed name service packet")

// encodeName writes a DNS name as labels.
func encodeName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l == "" || len(l) > 63 {
			continue
		}
		b = append(append(b, byte(len(l))), l...)
	}
	return append(b, 0)
}

// query is an LLMNR or mDNS question for name's A record.
func query(id uint16, name string, class uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, encodeName(name)...)
	b = binary.BigEndian.AppendUint16(b, typeA)
	return binary.BigEndian.AppendUint16(b, class)
}

// netbiosName is the first-level encoding of a NetBIOS name of suffix
// 0x20 (a file server, what a mistyped share path asks for).
func netbiosName(name string) []byte {
	n := []byte(strings.ToUpper(name))
	if len(n) > 15 {
		n = n[:15]
	}
	raw := append(n, []byte(strings.Repeat(" ", 15-len(n)))...)
	raw = append(raw, 0x20)
	b := []byte{32}
	for _, c := range raw {
		b = append(b, 'A'+c>>4, 'A'+c&0x0f)
	}
	return append(b, 0)
}

// nbnsQuery is a broadcast NetBIOS name query, as Windows sends one.
func nbnsQuery(id uint16, name string) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, netbiosName(name)...)
	b = binary.BigEndian.AppendUint16(b, typeNB)
	return binary.BigEndian.AppendUint16(b, classIN)
}

// skipName moves past a possibly compressed name.
func skipName(b []byte, i int) (int, error) {
	for n := 0; n < maxLabels; n++ {
		if i >= len(b) {
			return 0, errWire
		}
		switch l := int(b[i]); {
		case l == 0:
			return i + 1, nil
		case l&0xc0 == 0xc0:
			return i + 2, nil
		default:
			i += 1 + l
		}
	}
	return 0, errWire
}

// readName reads an uncompressed question name.
func readName(b []byte, i int) (string, int, error) {
	var labels []string
	for n := 0; n < maxLabels; n++ {
		if i >= len(b) {
			return "", 0, errWire
		}
		l := int(b[i])
		if l == 0 {
			return strings.Join(labels, "."), i + 1, nil
		}
		if l&0xc0 != 0 || i+1+l > len(b) {
			return "", 0, errWire
		}
		labels = append(labels, string(b[i+1:i+1+l]))
		i += 1 + l
	}
	return "", 0, errWire
}

// answer reads the first address a response gives: an A record for
// LLMNR and mDNS, an NB record for NBT-NS. id 0 matches any (mDNS).
func answer(b []byte, id uint16) (netip.Addr, uint32, bool) {
	if len(b) < 12 || binary.BigEndian.Uint16(b[2:])&flagQR == 0 {
		return netip.Addr{}, 0, false
	}
	if id != 0 && binary.BigEndian.Uint16(b) != id {
		return netip.Addr{}, 0, false
	}
	qd, an := int(binary.BigEndian.Uint16(b[4:])), int(binary.BigEndian.Uint16(b[6:]))
	i := 12
	var err error
	for range min(qd, 4) {
		if i, err = skipName(b, i); err != nil || i+4 > len(b) {
			return netip.Addr{}, 0, false
		}
		i += 4
	}
	for range min(an, 8) {
		if i, err = skipName(b, i); err != nil || i+10 > len(b) {
			return netip.Addr{}, 0, false
		}
		typ, ttl, n := binary.BigEndian.Uint16(b[i:]), binary.BigEndian.Uint32(b[i+4:]), int(binary.BigEndian.Uint16(b[i+8:]))
		i += 10
		if i+n > len(b) {
			return netip.Addr{}, 0, false
		}
		switch {
		case typ == typeA && n == 4:
			return netip.AddrFrom4([4]byte(b[i : i+4])), ttl, true
		case typ == typeNB && n >= 6:
			return netip.AddrFrom4([4]byte(b[i+2 : i+6])), ttl, true
		}
		i += n
	}
	return netip.Addr{}, 0, false
}

// question reads the first question of a query: name and type.
func question(b []byte) (string, uint16, bool) {
	if len(b) < 12 || binary.BigEndian.Uint16(b[2:])&flagQR != 0 || binary.BigEndian.Uint16(b[4:]) == 0 {
		return "", 0, false
	}
	name, i, err := readName(b, 12)
	if err != nil || i+4 > len(b) {
		return "", 0, false
	}
	return name, binary.BigEndian.Uint16(b[i:]), true
}

// reply answers a query for our own name with our address, as Windows
// answers LLMNR (TTL 30) and mDNS (TTL 120).
func reply(q []byte, addr netip.Addr, ttl uint32, mdns bool) []byte {
	name, i, _ := readName(q, 12)
	out := append([]byte(nil), q[:2]...)
	flags := uint16(flagQR)
	if mdns {
		flags |= 0x0400 // authoritative
		out[0], out[1] = 0, 0
	}
	out = binary.BigEndian.AppendUint16(out, flags)
	if mdns {
		out = append(out, 0, 0, 0, 1, 0, 0, 0, 0)
	} else {
		out = append(out, 0, 1, 0, 1, 0, 0, 0, 0)
		out = append(out, q[12:i+4]...)
	}
	out = append(out, encodeName(name)...)
	out = binary.BigEndian.AppendUint16(out, typeA)
	cls := uint16(classIN)
	if mdns {
		cls |= 0x8000 // cache flush
	}
	out = binary.BigEndian.AppendUint16(out, cls)
	out = binary.BigEndian.AppendUint32(out, ttl)
	a := addr.As4()
	return append(binary.BigEndian.AppendUint16(out, 4), a[:]...)
}
