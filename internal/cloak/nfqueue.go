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
	nfqaMark       = 3
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

	// headerCopy is how much of a packet the header queue copies: the
	// longest IPv4 header and TCP header (60 bytes each) and a little more.
	headerCopy = 128
)

// nfqPacket is one queued packet: its id for the verdict and its bytes
// (the IP header onwards).
type nfqPacket struct {
	id      uint32
	queue   uint16 // the queue it came from (ids are per queue)
	hook    uint8
	payload []byte
	// length is the packet's whole length: len(payload), or more when
	// the queue copied only part of it.
	length int
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
	p := nfqPacket{queue: binary.BigEndian.Uint16(b[18:20])}
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
	p.length = len(p.payload)
	if p.truncated {
		p.length = int(min(capLen, 1<<31-1))
	}
	return p, next, nil
}

// nfqueue is one netlink socket bound to the cloak's queues: queue num,
// which copies whole packets (the ones whose content the rewriter
// changes), and, with header, queue num+1, which copies only their
// headers (the ones that only take an IP ID, answered with a mark). One
// socket for both keeps the kernel's order across them: the IP ID counter
// is drawn in the order the packets were queued.
type nfqueue struct {
	fd     int
	num    uint16
	header bool
	buf    []byte
	vbuf   [8]byte
	seq    uint32
	// pending holds verdicts without payload, sent together in one
	// datagram once the packets read at once are handled.
	pending []byte
}

// readBatch is how many queued packets one read takes at most before it
// sends their verdicts.
const readBatch = 64

// openQueue binds queue num (and num+1 with header) on a new netlink
// socket in the calling thread's network namespace, failing open when a
// queue is full, and taking segmentation-offloaded packets whole (one round
// trip for up to 64 KiB, not one per segment). Queue num copies whole
// packets, num+1 only their first headerCopy bytes.
func openQueue(num uint16, header bool) (*nfqueue, error) {
	if header && num == 1<<16-1 {
		return nil, fmt.Errorf("cloak: queue %d has no next queue for headers", num)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("cloak: netlink socket: %w", err)
	}
	q := &nfqueue{fd: fd, num: num, header: header, buf: make([]byte, recvBufBytes)}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		q.close()
		return nil, fmt.Errorf("cloak: netlink bind: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	if err := q.bind(num, maxPacket); err != nil {
		q.close()
		return nil, err
	}
	if header {
		if err := q.bind(num+1, headerCopy); err != nil {
			q.close()
			return nil, err
		}
	}
	return q, nil
}

// bind binds queue num to the socket, copying up to copyRange bytes of
// every packet.
func (q *nfqueue) bind(num uint16, copyRange uint32) error {
	cmd := []byte{nfqCfgCmdBind, 0, 0, 0}
	params := binary.BigEndian.AppendUint32(nil, copyRange)
	params = append(params, nfqCopyPacket)
	steps := [][]byte{
		attr(nfqaCfgCmd, cmd),
		append(attr(nfqaCfgParams, params), append(attr(nfqaCfgMaxlen, binary.BigEndian.AppendUint32(nil, queueMaxLen)),
			append(attr(nfqaCfgMask, binary.BigEndian.AppendUint32(nil, nfqCfgFailOpen|nfqCfgGSO)),
				attr(nfqaCfgFlags, binary.BigEndian.AppendUint32(nil, nfqCfgFailOpen|nfqCfgGSO))...)...)...),
	}
	for _, a := range steps {
		if err := q.request(num, nfqMsgConfig, a); err != nil {
			return fmt.Errorf("cloak: configure queue %d: %w", num, err)
		}
	}
	return nil
}

func attr(typ uint16, v []byte) []byte {
	return appendAttr(make([]byte, 0, (nlaHdrLen+len(v)+3)&^3), typ, v)
}

// appendAttr appends a netlink attribute, padded, to b.
func appendAttr(b []byte, typ uint16, v []byte) []byte {
	l := nlaHdrLen + len(v)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// appendMessage appends a netfilter-queue message for queue num with
// attributes attrs to b.
func (q *nfqueue) appendMessage(b []byte, num, msg, flags uint16, attrs []byte) []byte {
	q.seq++
	b = binary.NativeEndian.AppendUint32(b, uint32(nlmsgHdrLen+nfgenHdrLen+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, unix.NFNL_SUBSYS_QUEUE<<8|msg)
	b = binary.NativeEndian.AppendUint16(b, unix.NLM_F_REQUEST|flags)
	b = binary.NativeEndian.AppendUint32(b, q.seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // port id: the kernel's
	b = append(b, unix.AF_UNSPEC, 0)           // family, NFNETLINK_V0
	b = binary.BigEndian.AppendUint16(b, num)
	return append(b, attrs...)
}

func (q *nfqueue) message(num, msg, flags uint16, attrs []byte) []byte {
	return q.appendMessage(make([]byte, 0, nlmsgHdrLen+nfgenHdrLen+len(attrs)), num, msg, flags, attrs)
}

// request sends a message asking for an acknowledgment and waits for it.
func (q *nfqueue) request(num, msg uint16, attrs []byte) error {
	if err := unix.Sendto(q.fd, q.message(num, msg, unix.NLM_F_ACK, attrs), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
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
// in it, then for every further one already waiting (up to readBatch),
// and sends the verdicts fn left pending.
func (q *nfqueue) read(fn func(nfqPacket)) error {
	flags := 0
	for range readBatch {
		n, _, err := unix.Recvfrom(q.fd, q.buf, flags)
		if err != nil {
			if flags != 0 || err == unix.EINTR || err == unix.ENOBUFS {
				break // drained (EAGAIN), or an overflow to read past
			}
			return err
		}
		b := q.buf[:n]
		for len(b) > 0 {
			p, used, err := parseNfqMessage(b)
			if used == 0 {
				break
			}
			b = b[used:]
			if err == nil {
				fn(p)
			}
		}
		flags = unix.MSG_DONTWAIT
	}
	return q.flush()
}

// flush sends the pending verdicts.
func (q *nfqueue) flush() error {
	if len(q.pending) == 0 {
		return nil
	}
	err := unix.Sendto(q.fd, q.pending, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	q.pending = q.pending[:0]
	return err
}

// appendVerdict appends a verdict message for packet id of queue num,
// setting the packet's mark when mark is not nil, to b.
func (q *nfqueue) appendVerdict(b []byte, num uint16, id, v uint32, mark *uint32) []byte {
	hdr := binary.BigEndian.AppendUint32(q.vbuf[:0], v)
	hdr = binary.BigEndian.AppendUint32(hdr, id)
	var attrs [2*nlaHdrLen + 8 + 4]byte
	a := appendAttr(attrs[:0], nfqaVerdictHdr, hdr)
	if mark != nil {
		a = appendAttr(a, nfqaMark, binary.BigEndian.AppendUint32(nil, *mark))
	}
	return q.appendMessage(b, num, nfqMsgVerdict, 0, a)
}

// verdictMark answers accept for packet id of queue num and sets its mark
// to mark. The verdict waits in pending until the read that got the
// packet ends.
func (q *nfqueue) verdictMark(num uint16, id, mark uint32) {
	q.pending = q.appendVerdict(q.pending, num, id, nfAccept, &mark)
}

// verdict answers for packet id of queue num, with a replacement packet
// when payload is not nil. A verdict without payload waits in pending; one
// with a payload is sent at once (after the pending ones), from where the
// payload lies (no copy: a segmentation-offloaded packet is 64 KiB).
func (q *nfqueue) verdict(num uint16, id uint32, v uint32, payload []byte) error {
	if payload == nil {
		q.pending = q.appendVerdict(q.pending, num, id, v, nil)
		return nil
	}
	if err := q.flush(); err != nil {
		return err
	}
	hdr := binary.BigEndian.AppendUint32(q.vbuf[:0], v)
	hdr = binary.BigEndian.AppendUint32(hdr, id)
	attrs := attr(nfqaVerdictHdr, hdr)
	if len(payload) > maxPacket-2*nlaHdrLen-nlmsgHdrLen-nfgenHdrLen-len(attrs) {
		return fmt.Errorf("cloak: packet of %d bytes too long to give back", len(payload))
	}
	pl := nlaHdrLen + len(payload)
	pad := (4 - pl%4) % 4
	var ah [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(ah[0:2], uint16(pl))
	binary.NativeEndian.PutUint16(ah[2:4], nfqaPayload)
	head := q.message(num, nfqMsgVerdict, 0, append(attrs, ah[:]...))
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
