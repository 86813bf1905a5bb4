package output

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// RELP (the Reliable Event Logging Protocol, rsyslog's imrelp) gives
// syslog what plain TCP lacks: the receiver acknowledges every message.
// A batch counts as delivered when every message of it is acknowledged;
// after a broken connection only the messages not yet acknowledged are
// sent again, and the ids of acknowledged ones are remembered (relpSeen)
// so a batch the bus redelivers does not send them twice.

// relpWindow is how many messages may await their acknowledgement.
const relpWindow = 128

// relpMaxFrame bounds a frame read from the receiver.
const relpMaxFrame = 64 << 10

// relpSeenCap bounds the remembered acknowledged ids.
const relpSeenCap = 1 << 17

// relpSession is an open RELP session on the output's connection.
type relpSession struct {
	br   *bufio.Reader
	txnr int
}

// relpFrame is one frame: TXNR SP COMMAND SP DATALEN [SP DATA] LF.
type relpFrame struct {
	txnr int
	cmd  string
	data []byte
}

// readRELPFrame reads one frame, bounded.
func readRELPFrame(br *bufio.Reader) (relpFrame, error) {
	var f relpFrame
	tok := func(max int) (string, byte, error) {
		var b []byte
		for {
			c, err := br.ReadByte()
			if err != nil {
				return "", 0, err
			}
			if c == ' ' || c == '\n' {
				return string(b), c, nil
			}
			if len(b) >= max {
				return "", 0, errors.New("relp: header field too long")
			}
			b = append(b, c)
		}
	}
	s, _, err := tok(9)
	if err != nil {
		return f, err
	}
	if f.txnr, err = strconv.Atoi(s); err != nil || f.txnr < 0 {
		return f, fmt.Errorf("relp: bad txnr %q", s)
	}
	if f.cmd, _, err = tok(32); err != nil {
		return f, err
	}
	s, sep, err := tok(9)
	if err != nil {
		return f, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > relpMaxFrame {
		return f, fmt.Errorf("relp: bad data length %q", s)
	}
	if n > 0 {
		if sep != ' ' {
			return f, errors.New("relp: data length without data")
		}
		f.data = make([]byte, n)
		if _, err := io.ReadFull(br, f.data); err != nil {
			return f, err
		}
		if c, err := br.ReadByte(); err != nil || c != '\n' {
			return f, errors.New("relp: frame without its trailer")
		}
	} else if sep != '\n' {
		if c, err := br.ReadByte(); err != nil || c != '\n' {
			return f, errors.New("relp: frame without its trailer")
		}
	}
	return f, nil
}

func relpFrameBytes(txnr int, cmd string, data []byte) []byte {
	b := []byte(strconv.Itoa(txnr) + " " + cmd + " " + strconv.Itoa(len(data)))
	if len(data) > 0 {
		b = append(append(b, ' '), data...)
	}
	return append(b, '\n')
}

// relpOK reports whether a rsp frame's data says 200.
func relpOK(data []byte) bool { return bytes.HasPrefix(data, []byte("200")) }

// openRELP runs the open handshake on the output's new connection.
// Called with mu held.
func (o *Syslog) openRELP() error {
	s := &relpSession{br: bufio.NewReaderSize(o.conn, 4096), txnr: 1}
	offer := []byte("relp_version=0\nrelp_software=decnet\ncommands=syslog")
	_ = o.conn.SetDeadline(time.Now().Add(o.opts.WriteTimeout))
	defer o.conn.SetDeadline(time.Time{})
	if _, err := o.conn.Write(relpFrameBytes(s.txnr, "open", offer)); err != nil {
		return fmt.Errorf("relp open: %w", err)
	}
	f, err := readRELPFrame(s.br)
	if err != nil {
		return fmt.Errorf("relp open: %w", err)
	}
	if f.cmd != "rsp" || f.txnr != 1 || !relpOK(f.data) || !bytes.Contains(f.data, []byte("syslog")) {
		return fmt.Errorf("relp open refused: %q", truncate(f.data, 200))
	}
	s.txnr = 2
	o.relp = s
	return nil
}

// deliverRELP sends msgs (the encoded events) and waits for every
// acknowledgement, resuming after a broken connection with what was not
// acknowledged.
func (o *Syslog) deliverRELP(ctx context.Context, events []event.Event, msgs [][]byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var pending []int
	for i := range events {
		if _, done := o.relpSeen[events[i].ID]; !done {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	err := o.retry(ctx, func() (bool, error) {
		if o.relp == nil {
			if err := o.openRELP(); err != nil {
				o.dropConn()
				return false, err
			}
		}
		var err error
		if pending, err = o.sendRELP(events, msgs, pending); err != nil {
			o.dropConn()
		}
		return len(pending) == 0, err
	})
	if err != nil {
		return fmt.Errorf("output %s: %d of %d events not acknowledged by %s: %w", o.name, len(pending), len(events), o.addr, err)
	}
	return nil
}

// sendRELP pipelines the pending messages within the window and returns
// those still not acknowledged. Called with mu held.
func (o *Syslog) sendRELP(events []event.Event, msgs [][]byte, pending []int) ([]int, error) {
	s := o.relp
	inflight := map[int]int{} // txnr → event index
	next := 0
	_ = o.conn.SetDeadline(time.Now().Add(o.opts.WriteTimeout))
	defer o.conn.SetDeadline(time.Time{})
	acked := map[int]bool{}
	rest := func() []int {
		var out []int
		for _, i := range pending {
			if !acked[i] {
				out = append(out, i)
			}
		}
		return out
	}
	for next < len(pending) || len(inflight) > 0 {
		var buf []byte
		for next < len(pending) && len(inflight) < relpWindow {
			i := pending[next]
			buf = append(buf, relpFrameBytes(s.txnr, "syslog", msgs[i])...)
			inflight[s.txnr] = i
			s.txnr = s.txnr%999_999_999 + 1
			next++
		}
		if len(buf) > 0 {
			if _, err := o.conn.Write(buf); err != nil {
				return rest(), fmt.Errorf("relp write: %w", err)
			}
		}
		f, err := readRELPFrame(s.br)
		if err != nil {
			return rest(), fmt.Errorf("relp read: %w", err)
		}
		if f.cmd == "serverclose" {
			return rest(), errors.New("relp: the receiver closed the session")
		}
		i, ok := inflight[f.txnr]
		if f.cmd != "rsp" || !ok {
			return rest(), fmt.Errorf("relp: unexpected %s for txnr %d", f.cmd, f.txnr)
		}
		delete(inflight, f.txnr)
		if !relpOK(f.data) {
			return rest(), fmt.Errorf("relp: receiver refused a message: %q", truncate(f.data, 200))
		}
		acked[i] = true
		o.rememberRELP(events[i].ID)
		_ = o.conn.SetDeadline(time.Now().Add(o.opts.WriteTimeout))
	}
	return rest(), nil
}

// rememberRELP records an acknowledged id, forgetting the oldest past the
// cap.
func (o *Syslog) rememberRELP(id string) {
	if o.relpSeen == nil {
		o.relpSeen = map[string]struct{}{}
	}
	o.relpSeen[id] = struct{}{}
	o.relpOrder = append(o.relpOrder, id)
	if len(o.relpOrder) > relpSeenCap {
		delete(o.relpSeen, o.relpOrder[0])
		o.relpOrder = o.relpOrder[1:]
	}
}

// dropConn closes the connection and its session. Called with mu held.
func (o *Syslog) dropConn() {
	if o.conn != nil {
		_ = o.conn.Close()
	}
	o.conn, o.relp = nil, nil
}
