package redis

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Bounds of one request. Real Redis allows 512 MiB bulks and a 1 GiB
// query buffer; a decoy needs far less, and an attacker must not be able
// to make it hold more.
const (
	maxBulk       = 512 << 10 // one argument
	maxArgs       = 1024      // arguments of one command
	maxInline     = 64 << 10  // one inline command line (Redis's PROTO_INLINE_MAX_SIZE)
	maxRequest    = 1 << 20   // all arguments of one command together
	maxHeaderLine = 64        // a "*N" or "$N" line
)

// protoError is a protocol violation: Redis answers
// "-ERR Protocol error: <msg>" and closes the connection.
type protoError struct{ msg string }

func (e *protoError) Error() string { return "Protocol error: " + e.msg }

// readLine returns one line without its terminator. Lines longer than max
// are a protocol error; the limit is enforced while reading.
func readLine(br *bufio.Reader, max int, tooLong string) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max+2 {
			return nil, &protoError{tooLong}
		}
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readCommand reads one request, multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
// or inline ("GET k\r\n"). It returns nil args for an empty request, which
// Redis ignores.
func readCommand(br *bufio.Reader) ([][]byte, error) {
	b, err := br.Peek(1)
	if err != nil {
		return nil, err
	}
	if b[0] != '*' {
		line, err := readLine(br, maxInline, "too big inline request")
		if err != nil {
			return nil, err
		}
		if i := bytes.IndexByte(line, 0); i >= 0 {
			// Redis looks for the newline with strchr, which stops at
			// the NUL: the line never ends, and Redis waits until the
			// query buffer passes the inline limit.
			return nil, waitInlineLimit(br, len(line)-i)
		}
		return splitArgs(line)
	}
	line, err := readLine(br, maxHeaderLine, "invalid multibulk length")
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseInt(string(line[1:]), 10, 64)
	if err != nil || n > maxArgs {
		return nil, &protoError{"invalid multibulk length"}
	}
	if n <= 0 {
		return nil, nil
	}
	args := make([][]byte, 0, n)
	total := 0
	for range n {
		line, err := readLine(br, maxHeaderLine, "invalid bulk length")
		if err != nil {
			return nil, err
		}
		if len(line) == 0 || line[0] != '$' {
			c := ""
			if len(line) > 0 {
				c = string(line[:1])
			}
			return nil, &protoError{fmt.Sprintf("expected '$', got '%s'", c)}
		}
		l, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil || l < 0 || l > maxBulk || total+int(l) > maxRequest {
			return nil, &protoError{"invalid bulk length"}
		}
		total += int(l)
		buf := make([]byte, l+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, err
		}
		args = append(args, buf[:l])
	}
	return args, nil
}

// waitInlineLimit reads and drops input until more than maxInline bytes
// are pending since the NUL, then fails as Redis does.
func waitInlineLimit(br *bufio.Reader, pending int) error {
	buf := make([]byte, 4096)
	for pending <= maxInline {
		n, err := br.Read(buf)
		pending += n
		if err != nil {
			return err
		}
	}
	return &protoError{"too big inline request"}
}

// splitArgs splits an inline command as Redis's sdssplitargs does: spaces
// separate, "double quotes" take C escapes (\n, \xHH, ...), 'single quotes'
// take only \'. A closing quote must be followed by a space or the end.
func splitArgs(line []byte) ([][]byte, error) {
	var args [][]byte
	i := 0
	isSpace := func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' }
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return args, nil
		}
		var cur []byte
		inq, insq, done := false, false, false
		for !done {
			if inq {
				if i >= len(line) {
					return nil, &protoError{"unbalanced quotes in request"}
				}
				switch {
				case line[i] == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur = append(cur, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				case line[i] == '\\' && i+1 < len(line):
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				case line[i] == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, &protoError{"unbalanced quotes in request"}
					}
					done = true
				default:
					cur = append(cur, line[i])
				}
			} else if insq {
				if i >= len(line) {
					return nil, &protoError{"unbalanced quotes in request"}
				}
				switch {
				case line[i] == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case line[i] == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, &protoError{"unbalanced quotes in request"}
					}
					done = true
				default:
					cur = append(cur, line[i])
				}
			} else {
				if i >= len(line) {
					break
				}
				switch c := line[i]; {
				case isSpace(c):
					done = true
				case c == '"':
					inq = true
				case c == '\'':
					insq = true
				default:
					cur = append(cur, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		args = append(args, cur)
		if len(args) > maxArgs {
			return nil, &protoError{"invalid multibulk length"}
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
