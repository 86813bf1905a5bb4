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
// user space what the profile must rewrite or answer: every outbound packet
// when the profile sets the IP ID (one counter for all of them), else only
// SYN-ACKs, resets and some ICMP; and inbound probes without ACK. Every
// queue rule bypasses the queue when no program listens, so a dead cloak
// never blackholes the decky.
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
	q := rs.queueExpr()
	add := func(ch *nftables.Chain, e ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(e, q)})
	}
	switch {
	case rs.p.IPID != IPIDKernel:
		// Every packet takes its ID from the rewriter's one counter.
		add(out)
	default:
		add(out, tcpFlags(flSYN|flACK, flSYN|flACK, expr.CmpOpEq)...)
		if rs.p.queuesOutRST() {
			add(out, tcpFlags(flRST, 0, expr.CmpOpNeq)...)
		}
		if rs.p.EchoCodeZero || rs.p.EchoDF {
			add(out, icmpType(0)...)
		}
		if rs.p.QuoteHeaderOnly {
			add(out, icmpType(3)...)
			add(out, icmpType(11)...)
		}
	}
	if rs.p.queuesIn() || rs.p.queuesEcho() {
		in := c.AddChain(&nftables.Chain{Name: "in", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityMangle, Policy: &accept})
		if rs.p.queuesIn() {
			add(in, tcpFlags(flACK|flRST, 0, expr.CmpOpEq)...)
		}
		if rs.p.queuesEcho() {
			add(in, icmpType(8)...)
		}
	}
	return c.Flush()
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

func (rs ruleset) queueExpr() expr.Any {
	if !rs.compat {
		return &expr.Queue{Num: rs.queue, Flag: expr.QueueFlagBypass}
	}
	// struct xt_NFQ_info_v3 {u16 queuenum, queues_total, flags}, padded.
	info := xt.Unknown(make([]byte, 8))
	binary.NativeEndian.PutUint16(info[0:2], rs.queue)
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
