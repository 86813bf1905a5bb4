package cloak

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table (family ip) the cloak owns in a decky's
// network namespace. Removing it turns the cloak off; nothing else in the
// namespace is touched.
const TableName = "decnet_cloak"

// ruleset builds the cloak's nftables rules for a profile. They send to
// user space what the profile must rewrite or answer: SYN-ACKs, resets and
// some ICMP the decky sends, and inbound probes without ACK, on queue
// (whole packets). When the profile sets the IP ID (one counter for every
// packet the decky sends), every other outbound packet goes to queue+1,
// which copies only its headers: the cloak accepts it with a mark
// carrying its ID (idMark), and the ipid chain, later in the output hook,
// writes that ID into the IP header and clears the mark. Packets that
// already carry a mark go to queue whole instead, so a mark of the decky's
// own is never lost. Every queue rule bypasses the queue when no program
// listens, so a dead cloak never blackholes the decky (and an unmarked
// packet keeps the kernel's ID).
type ruleset struct {
	p      *Profile
	queue  uint16
	compat bool // queue through the xtables NFQUEUE target (kernels without nft_queue)
}

func (rs ruleset) install(c *nftables.Conn) error {
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName}
	c.AddTable(t)
	c.DelTable(t) // start from nothing: a previous run's rules go
	c.AddTable(t)
	accept := nftables.ChainPolicyAccept
	out := c.AddChain(&nftables.Chain{Name: "out", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityMangle, Policy: &accept})
	add := func(ch *nftables.Chain, queue uint16, e ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(e, rs.queueExpr(queue))})
	}
	add(out, rs.queue, tcpFlags(flSYN|flACK, flSYN|flACK, expr.CmpOpEq)...)
	if rs.p.queuesOutRST() {
		add(out, rs.queue, tcpFlags(flRST, 0, expr.CmpOpNeq)...)
	}
	if rs.p.EchoCodeZero || rs.p.EchoDF {
		add(out, rs.queue, icmpType(0)...)
	}
	if rs.p.QuoteHeaderOnly {
		add(out, rs.queue, icmpType(3)...)
		add(out, rs.queue, icmpType(11)...)
	}
	if rs.p.IPID != IPIDKernel {
		// Every other packet takes its ID from the rewriter's one
		// counter: by mark when it has none, else whole.
		add(out, rs.queue+1, &expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 0, 0, 0}})
		add(out, rs.queue)
		ipid := c.AddChain(&nftables.Chain{Name: "ipid", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityMangle + 1), Policy: &accept})
		c.AddRule(&nftables.Rule{Table: t, Chain: ipid, Exprs: idFromMark()})
	}
	if rs.p.queuesIn() || rs.p.queuesEcho() {
		in := c.AddChain(&nftables.Chain{Name: "in", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityMangle, Policy: &accept})
		if rs.p.queuesIn() {
			add(in, rs.queue, tcpFlags(flACK|flRST, 0, expr.CmpOpEq)...)
		}
		if rs.p.queuesEcho() {
			add(in, rs.queue, icmpType(8)...)
		}
	}
	return c.Flush()
}

// markTag is the low half of the mark the cloak gives a packet of the
// header queue; the high half is the packet's IP ID.
const markTag = 0xdec0

// idMark is the mark carrying IP ID id.
func idMark(id uint16) uint32 { return uint32(id)<<16 | markTag }

// idFromMark is the ipid chain's rule: on a packet whose mark carries
// markTag, write the mark's high half into the IP ID (updating the header
// checksum) and clear the mark. The mark converted to network order puts
// the ID in its first two bytes whatever the host's byte order.
func idFromMark() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, 0xffff), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, markTag)},
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: 1, Base: expr.PayloadBaseNetworkHeader,
			Offset: 4, Len: 2, CsumType: expr.CsumTypeInet, CsumOffset: 10},
		&expr.Immediate{Register: 1, Data: []byte{0, 0, 0, 0}},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// remove deletes the cloak's table.
func removeRules(c *nftables.Conn) error {
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName})
	err := c.Flush()
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

func (rs ruleset) queueExpr(queue uint16) expr.Any {
	if !rs.compat {
		return &expr.Queue{Num: queue, Flag: expr.QueueFlagBypass}
	}
	// struct xt_NFQ_info_v3 {u16 queuenum, queues_total, flags}, padded.
	info := xt.Unknown(make([]byte, 8))
	binary.NativeEndian.PutUint16(info[0:2], queue)
	binary.NativeEndian.PutUint16(info[2:4], 1)
	binary.NativeEndian.PutUint16(info[4:6], 1) // NFQ_FLAG_BYPASS
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}
}

func tcpFlags(mask, want byte, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{mask}, Xor: []byte{0}},
		&expr.Cmp{Op: op, Register: 1, Data: []byte{want}},
	}
}

func icmpType(t byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{t}},
	}
}

// installRules installs the profile's rules, falling back to the xtables
// NFQUEUE target when the kernel has no nft queue expression.
func installRules(c *nftables.Conn, p *Profile, queue uint16) error {
	err := ruleset{p: p, queue: queue}.install(c)
	if err == nil {
		return nil
	}
	if err2 := (ruleset{p: p, queue: queue, compat: true}).install(c); err2 != nil {
		return fmt.Errorf("cloak: install rules: %w (with the xtables queue target: %v)", err, err2)
	}
	return nil
}
