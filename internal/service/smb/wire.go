package smb

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf16"
)

// NT status codes answered.
const (
	statusSuccess             = 0x00000000
	statusPending             = 0x00000103
	statusBufferOverflow      = 0x80000005
	statusNoMoreFiles         = 0x80000006
	statusNotImplemented      = 0xC0000002
	statusInvalidInfoClass    = 0xC0000003
	statusInfoLengthMismatch  = 0xC0000004
	statusInvalidHandle       = 0xC0000008
	statusInvalidParameter    = 0xC000000D
	statusNoSuchFile          = 0xC000000F
	statusInvalidDeviceReq    = 0xC0000010
	statusEndOfFile           = 0xC0000011
	statusMoreProcessing      = 0xC0000016
	statusAccessDenied        = 0xC0000022
	statusBufferTooSmall      = 0xC0000023
	statusObjectNameInvalid   = 0xC0000033
	statusObjectNameNotFound  = 0xC0000034
	statusObjectNameCollision = 0xC0000035
	statusObjectPathNotFound  = 0xC000003A
	statusLogonFailure        = 0xC000006D
	statusFileIsADirectory    = 0xC00000BA
	statusNotSupported        = 0xC00000BB
	statusNetworkNameDeleted  = 0xC00000C9
	statusBadNetworkName      = 0xC00000CC
	statusDirectoryNotEmpty   = 0xC0000101
	statusNotADirectory       = 0xC0000103
	statusFileClosed          = 0xC0000128
	statusFSDriverRequired    = 0xC000019C
	statusUserSessionDeleted  = 0xC0000203
	statusNotFound            = 0xC0000225
	statusPipeEmpty           = 0xC00000D9
	statusDiskFull            = 0xC000007F
	statusRequestNotAccepted  = 0xC00000D0
)

var statusNames = map[uint32]string{
	statusSuccess: "STATUS_SUCCESS", statusMoreProcessing: "STATUS_MORE_PROCESSING_REQUIRED",
	statusLogonFailure: "STATUS_LOGON_FAILURE", statusAccessDenied: "STATUS_ACCESS_DENIED",
	statusBadNetworkName: "STATUS_BAD_NETWORK_NAME", statusObjectNameNotFound: "STATUS_OBJECT_NAME_NOT_FOUND",
	statusObjectPathNotFound: "STATUS_OBJECT_PATH_NOT_FOUND", statusObjectNameCollision: "STATUS_OBJECT_NAME_COLLISION",
	statusInvalidParameter: "STATUS_INVALID_PARAMETER", statusNotSupported: "STATUS_NOT_SUPPORTED",
	statusFileIsADirectory: "STATUS_FILE_IS_A_DIRECTORY", statusNotADirectory: "STATUS_NOT_A_DIRECTORY",
	statusDirectoryNotEmpty: "STATUS_DIRECTORY_NOT_EMPTY", statusObjectNameInvalid: "STATUS_OBJECT_NAME_INVALID",
}

func statusName(s uint32) string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", s)
}

var le = binary.LittleEndian

// u16, u32 and u64 read little-endian values, zero past the end, so a
// short attacker message reads as zeros instead of panicking.
func u16(b []byte, at int) uint16 {
	if at < 0 || at+2 > len(b) {
		return 0
	}
	return le.Uint16(b[at:])
}

func u32(b []byte, at int) uint32 {
	if at < 0 || at+4 > len(b) {
		return 0
	}
	return le.Uint32(b[at:])
}

func u64(b []byte, at int) uint64 {
	if at < 0 || at+8 > len(b) {
		return 0
	}
	return le.Uint64(b[at:])
}

// slice returns b[off:off+n] or nil when it is out of range.
func slice(b []byte, off, n int) []byte {
	if off < 0 || n < 0 || off > len(b) || n > len(b)-off {
		return nil
	}
	return b[off : off+n]
}

// buf builds a little-endian message.
type buf struct{ b []byte }

func (w *buf) u8(v byte)              { w.b = append(w.b, v) }
func (w *buf) u16(v uint16)           { w.b = le.AppendUint16(w.b, v) }
func (w *buf) u32(v uint32)           { w.b = le.AppendUint32(w.b, v) }
func (w *buf) u64(v uint64)           { w.b = le.AppendUint64(w.b, v) }
func (w *buf) bytes(v []byte)         { w.b = append(w.b, v...) }
func (w *buf) zero(n int)             { w.b = append(w.b, make([]byte, n)...) }
func (w *buf) align(n int)            { w.zero((n - len(w.b)%n) % n) }
func (w *buf) len() int               { return len(w.b) }
func (w *buf) put32(at int, v uint32) { le.PutUint32(w.b[at:], v) }
func (w *buf) put16(at int, v uint16) { le.PutUint16(w.b[at:], v) }

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		le.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = le.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

const filetimeEpoch = 116444736000000000

// filetime is t in Windows' 100 ns ticks since 1601; zero stays zero.
func filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()/100) + filetimeEpoch
}

// guidString writes a GUID's 16 wire bytes as Windows prints them.
func guidString(g []byte) string {
	if len(g) != 16 {
		return ""
	}
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15])
}
