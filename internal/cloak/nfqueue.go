package cloak

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The nfnetlink_queue protocol (linux/netfilter/nfnetlink_queue.h), the
// few messages and attributes the cloak uses.
const (
	nfqMsgPacket  = 0
	nfqMsgVerdict = 1
	nfqMsgConfig  = 2

	nfqaPacketHdr  = 1
	nfqaVerdictHdr = 2
	nfqaPayload    = 10
	nfqaCapLen     = 13
	nfqaSkbInfo    = 14

	nfqaSkbCsumNotReady = 1
	nfqaSkbGSO          = 2

	nfqaCfgCmd     = 1
	nfqaCfgParams  = 2
	nfqaCfgMaxlen  = 3
	nfqaCfgMask    = 4
	nfqaCfgFlags   = 5
	nfqCfgCmdBind  = 1
	nfqCopyPacket  = 2
	nfqCfgFailOpen = 1
	nfqCfgGSO      = 4

	nfDrop   = 0
	nfAccept = 1

	nlmsgHdrLen  = 16
	nfgenHdrLen  = 4
	nlaHdrLen    = 4
	queueMaxLen  = 8192
	recvBufBytes = 1 << 17
)

// nfqPacket is one queued packet: its id for the verdict and its bytes
// (the IP header onwards).
type nfqPacket struct {
	id      uint32
	hook    uint8
	payload []byte
	// gso marks a segmentation-offloaded packet (several segments on the
	// wire); csumNotReady one whose transport checksum the kernel has not
	// filled in yet (it holds the pseudo-header sum).
	gso, csumNotReady bool
	// truncated marks a packet longer than the queue copies (65531
	// bytes): it must be given back unchanged, never as its copy.
	truncated bool
}

// errNotPacket marks a netlink message that is not a queued packet (an
// acknowledgment, say); it is skipped.
var errNotPacket = errors.New("cloak: not a queued packet")

// parseNfqMessage reads one netlink message from b and returns the packet
// it carries and the message's length. Every length is checked against b:
// hostile or truncated input returns an error, never a panic.
func parseNfqMessage(b []byte) (nfqPacket, int, error) {
	if len(b) < nlmsgHdrLen {
		return nfqPacket{}, 0, fmt.Errorf("cloak: netlink message of %d bytes", len(b))
	}
	l := int(binary.NativeEndian.Uint32(b[0:4]))
	if l < nlmsgHdrLen || l > len(b) {
		return nfqPacket{}, 0, fmt.Errorf("cloak: netlink message length %d of %d", l, len(b))
	}
	next := (l + 3) &^ 3
	if next > len(b) {
		next = len(b)
	}
	typ := binary.NativeEndian.Uint16(b[4:6])
	if typ == unix.NLMSG_ERROR {
		if l >= nlmsgHdrLen+4 {
			if code := int32(binary.NativeEndian.Uint32(b[16:20])); code != 0 {
				return nfqPacket{}, next, fmt.Errorf("cloak: netlink error %w", unix.Errno(-code))
			}
		}
		return nfqPacket{}, next, errNotPacket
	}
	if typ != unix.NFNL_SUBSYS_QUEUE<<8|nfqMsgPacket || l < nlmsgHdrLen+nfgenHdrLen {
		return nfqPacket{}, next, errNotPacket
	}
	var p nfqPacket
	var haveID bool
	var capLen int64
	attrs := b[nlmsgHdrLen+nfgenHdrLen : l]
	for len(attrs) >= nlaHdrLen {
		al := int(binary.NativeEndian.Uint16(attrs[0:2]))
		at := binary.NativeEndian.Uint16(attrs[2:4]) & 0x3fff
		if al < nlaHdrLen || al > len(attrs) {
			return nfqPacket{}, next, fmt.Errorf("cloak: attribute length %d of %d", al, len(attrs))
		}
		v := attrs[nlaHdrLen:al]
		switch at {
		case nfqaPacketHdr:
			if len(v) < 7 {
				return nfqPacket{}, next, errors.New("cloak: short packet header")
			}
			p.id, p.hook, haveID = binary.BigEndian.Uint32(v[0:4]), v[6], true
		case nfqaPayload:
			p.payload = v
		case nfqaCapLen:
			if len(v) >= 4 {
				capLen = int64(binary.BigEndian.Uint32(v[0:4]))
			}
		case nfqaSkbInfo:
			if len(v) >= 4 {
				f := binary.BigEndian.Uint32(v[0:4])
				p.gso, p.csumNotReady = f&nfqaSkbGSO != 0, f&nfqaSkbCsumNotReady != 0
			}
		}
		adv := (al + 3) &^ 3
		if adv > len(attrs) {
			break
		}
		attrs = attrs[adv:]
	}
	if !haveID {
		return nfqPacket{}, next, errors.New("cloak: queued packet without id")
	}
	p.truncated = capLen > int64(len(p.payload))
	return p, next, nil
}

// nfqueue is one bound queue on a netlink socket.
type nfqueue struct {
	fd   int
	num  uint16
	buf  []byte
	vbuf [8]byte
	seq  uint32
}

// openQueue binds queue num on a new netlink socket in the calling
// thread's network namespace, copying whole packets, failing open when
// the queue is full, and taking segmentation-offloaded packets whole (one
// round trip for up to 64 KiB, not one per segment).
func openQueue(num uint16) (*nfqueue, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("cloak: netlink socket: %w", err)
	}
	q := &nfqueue{fd: fd, num: num, buf: make([]byte, recvBufBytes)}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		q.close()
		return nil, fmt.Errorf("cloak: netlink bind: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	cmd := []byte{nfqCfgCmdBind, 0, 0, 0}
	params := binary.BigEndian.AppendUint32(nil, maxPacket)
	params = append(params, nfqCopyPacket)
	steps := [][]byte{
		attr(nfqaCfgCmd, cmd),
		append(attr(nfqaCfgParams, params), append(attr(nfqaCfgMaxlen, binary.BigEndian.AppendUint32(nil, queueMaxLen)),
			append(attr(nfqaCfgMask, binary.BigEndian.AppendUint32(nil, nfqCfgFailOpen|nfqCfgGSO)),
				attr(nfqaCfgFlags, binary.BigEndian.AppendUint32(nil, nfqCfgFailOpen|nfqCfgGSO))...)...)...),
	}
	for _, a := range steps {
		if err := q.request(nfqMsgConfig, a); err != nil {
			q.close()
			return nil, fmt.Errorf("cloak: configure queue %d: %w", num, err)
		}
	}
	return q, nil
}

func attr(typ uint16, v []byte) []byte {
	l := nlaHdrLen + len(v)
	b := make([]byte, nlaHdrLen, (l+3)&^3)
	binary.NativeEndian.PutUint16(b[0:2], uint16(l))
	binary.NativeEndian.PutUint16(b[2:4], typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (q *nfqueue) message(msg uint16, flags uint16, attrs []byte) []byte {
	q.seq++
	b := make([]byte, nlmsgHdrLen+nfgenHdrLen, nlmsgHdrLen+nfgenHdrLen+len(attrs))
	binary.NativeEndian.PutUint32(b[0:4], uint32(nlmsgHdrLen+nfgenHdrLen+len(attrs)))
	binary.NativeEndian.PutUint16(b[4:6], unix.NFNL_SUBSYS_QUEUE<<8|msg)
	binary.NativeEndian.PutUint16(b[6:8], unix.NLM_F_REQUEST|flags)
	binary.NativeEndian.PutUint32(b[8:12], q.seq)
	b[16] = unix.AF_UNSPEC
	b[17] = 0 // NFNETLINK_V0
	binary.BigEndian.PutUint16(b[18:20], q.num)
	return append(b, attrs...)
}

// request sends a message asking for an acknowledgment and waits for it.
func (q *nfqueue) request(msg uint16, attrs []byte) error {
	if err := unix.Sendto(q.fd, q.message(msg, unix.NLM_F_ACK, attrs), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	n, _, err := unix.Recvfrom(q.fd, q.buf, 0)
	if err != nil {
		return err
	}
	_, _, err = parseNfqMessage(q.buf[:n])
	if errors.Is(err, errNotPacket) {
		return nil
	}
	return err
}

// read blocks for the next datagram and calls fn for every queued packet
// in it.
func (q *nfqueue) read(fn func(nfqPacket)) error {
	n, _, err := unix.Recvfrom(q.fd, q.buf, 0)
	if err != nil {
		if err == unix.EINTR || err == unix.ENOBUFS {
			return nil
		}
		return err
	}
	b := q.buf[:n]
	for len(b) > 0 {
		p, used, err := parseNfqMessage(b)
		if used == 0 {
			return nil
		}
		b = b[used:]
		if err == nil {
			fn(p)
		}
	}
	return nil
}

// verdict answers for packet id, with a replacement packet when payload
// is not nil. The payload is sent from where it lies (no copy: a
// segmentation-offloaded packet is 64 KiB).
func (q *nfqueue) verdict(id uint32, v uint32, payload []byte) error {
	hdr := binary.BigEndian.AppendUint32(q.vbuf[:0], v)
	hdr = binary.BigEndian.AppendUint32(hdr, id)
	attrs := attr(nfqaVerdictHdr, hdr)
	if payload == nil {
		return unix.Sendto(q.fd, q.message(nfqMsgVerdict, 0, attrs), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	}
	if len(payload) > maxPacket-2*nlaHdrLen-nlmsgHdrLen-nfgenHdrLen-len(attrs) {
		return fmt.Errorf("cloak: packet of %d bytes too long to give back", len(payload))
	}
	pl := nlaHdrLen + len(payload)
	pad := (4 - pl%4) % 4
	var ah [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(ah[0:2], uint16(pl))
	binary.NativeEndian.PutUint16(ah[2:4], nfqaPayload)
	head := q.message(nfqMsgVerdict, 0, append(attrs, ah[:]...))
	binary.NativeEndian.PutUint32(head[0:4], uint32(len(head)+len(payload)+pad))
	_, err := unix.SendmsgBuffers(q.fd, [][]byte{head, payload, make([]byte, pad)}, nil, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, 0)
	return err
}

func (q *nfqueue) close() error {
	if q.fd < 0 {
		return nil
	}
	err := unix.Close(q.fd)
	q.fd = -1
	return os.NewSyscallError("close", err)
}
