package smb

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/servicetest"
)

// fuzzConn is a connection with a null session (id 1) holding IPC$ (tree
// 1, with srvsvc open as file 1) and a disk share (tree 2, its root open
// as file 2), so fuzzed messages reach every command.
func fuzzConn(t testing.TB, samba bool) *conn {
	o := windows
	if samba {
		o = debian
	}
	d, _ := persona.LookupDistro(o.Distro)
	env := serve.Env{Decky: "fuzz", Identity: persona.NewIdentity("fuzz", "fuzz"),
		Persona: serve.Persona{Family: persona.Family(o.OS), Distro: d, Hostname: "files-42"},
		Events:  event.NewEmitter(event.NewRecorder(), "t", "fuzz", "smb", "smb", nil)}
	srv, err := New(env)
	if err != nil {
		t.Fatal(err)
	}
	s := srv.(*Server)
	c := &serve.Conn{Session: env.Events.Open("tcp", netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:445"))}
	cn := newConn(s, c)
	cn.negotiated, cn.dialect, cn.signAlgo = true, dialect311, signAESCMAC
	ss := &session{id: 1, valid: true, user: "u", trees: map[uint32]*tree{}}
	cn.sessions[1] = ss
	ipc := &tree{id: 1, share: lookupShare(s.shares, "IPC$"), opens: map[uint64]*open{}}
	ipc.opens[1] = &open{persistent: 1, volatile: 1, pipe: newPipe(cn, ss, "srvsvc"), path: "srvsvc", write: true}
	disk := s.shares[len(s.shares)-1]
	if disk.ipc {
		disk = s.shares[0]
	}
	dt := &tree{id: 2, share: disk, opens: map[uint64]*open{}}
	dt.opens[2] = &open{persistent: 2, volatile: 2, node: disk.root, write: true}
	ss.trees[1], ss.trees[2] = ipc, dt
	return cn
}

// smb2Request builds a request for the seeds.
func smb2Request(cmd uint16, tid uint32, body []byte) []byte {
	h := smb2Header(cmd, 0, 7, 1)
	le.PutUint32(h[16:], 0)
	le.PutUint32(h[36:], tid)
	le.PutUint64(h[40:], 1)
	return append(h, body...)
}

func fid(n uint64) []byte { return append(le.AppendUint64(nil, n), le.AppendUint64(nil, n)...) }

func FuzzSMB2(f *testing.F) {
	name := utf16le(`Documents\new.txt`)
	create := append([]byte{57, 0, 0, 0, 2, 0, 0, 0}, make([]byte, 16)...)
	create = le.AppendUint32(create, 0x0012019f)
	create = le.AppendUint32(create, 0)
	create = le.AppendUint32(create, 7)
	create = le.AppendUint32(create, fileOpenIf)
	create = le.AppendUint32(create, 0)
	create = le.AppendUint16(create, headerSize+56)
	create = le.AppendUint16(create, uint16(len(name)))
	create = append(create, make([]byte, 8)...)
	create = append(create, name...)
	query := append(append([]byte{33, 0, fileIDBothDirectoryInformation, 0, 0, 0, 0, 0}, fid(2)...), 0x60, 0, 2, 0, 0, 0, 1, 0, '*', 0)
	read := append(append([]byte{49, 0, 0, 0, 0, 0x10, 0, 0}, make([]byte, 8)...), fid(1)...)
	bind, _ := hex.DecodeString("05000b03100000004800000001000000b810b810000000000100000000000100c84f324b7016d30112785a47bf6ee18803000000045d888aeb1cc9119fe808002b10486002000000")
	write := append(append([]byte{49, 0, headerSize + 48, 0}, le.AppendUint32(nil, uint32(len(bind)))...), make([]byte, 8)...)
	write = append(append(write, fid(1)...), make([]byte, 16)...)
	write = append(write, bind...)
	info := append(append([]byte{41, 0, 1, 18, 0, 0, 1, 0}, make([]byte, 16)...), fid(2)...)
	for _, s := range [][]byte{
		smb2Request(cmdCreate, 2, create), smb2Request(cmdQueryDirectory, 2, query),
		smb2Request(cmdWrite, 1, write), smb2Request(cmdRead, 1, read), smb2Request(cmdQueryInfo, 2, info),
		smb2Request(cmdEcho, 0, []byte{4, 0, 0, 0}), smb2Request(cmdTreeConnect, 0, []byte{9, 0, 0, 0, 72, 0, 4, 0, 'x', 0, 'y', 0}),
		smb2Request(cmdSessionSetup, 0, []byte{25, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, msg []byte, samba bool) {
		cn := fuzzConn(t, samba)
		cn.handle(msg)
		// The same message as a related compound of two.
		if len(msg) >= headerSize && len(msg)%8 == 0 {
			two := append(append([]byte(nil), msg...), msg...)
			le.PutUint32(two[20:], uint32(len(msg)))
			le.PutUint32(two[len(msg)+16:], u32(msg, 16)|flagRelated)
			cn.handle(two)
		}
	})
}

func FuzzNegotiate(f *testing.F) {
	neg := []byte{36, 0, 5, 0, 1, 0, 0, 0, 0x7f, 0, 0, 0}
	neg = append(neg, make([]byte, 16)...)
	neg = append(neg, 112, 0, 0, 0, 2, 0, 0, 0, 2, 2, 0x10, 2, 0, 3, 2, 3, 0x11, 3, 0, 0)
	neg = append(neg, 1, 0, 6, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0)
	neg = append(neg, 2, 0, 4, 0, 0, 0, 0, 0, 1, 0, 2, 0)
	f.Add(append(smb2Header(cmdNegotiate, 0, 0, 1), neg...))
	smb1, _ := hex.DecodeString("ff534d4272000000001853c800000000000000000000000000004006000001000022000244415020322e3030320002534d4220322e3f3f3f00")
	f.Add(smb1)
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, samba := range []bool{false, true} {
			cn := fuzzConn(t, samba)
			cn.negotiated, cn.dialect = false, 0
			cn.handle(msg)
		}
	})
}

func FuzzRPC(f *testing.F) {
	bind, _ := hex.DecodeString("05000b03100000004800000001000000b810b810000000000100000000000100c84f324b7016d30112785a47bf6ee18803000000045d888aeb1cc9119fe808002b10486002000000")
	req, _ := hex.DecodeString(strings.ReplaceAll("05000003100000003c00000002000000240000000000 0f00 00000200 0000 0000 0100 0000 0100 0000 00000200 00000000 00000000 ffffffff 00000000", " ", ""))
	f.Add(append(bind, req...))
	f.Fuzz(func(t *testing.T, data []byte) {
		cn := fuzzConn(t, false)
		p := newPipe(cn, cn.sessions[1], "srvsvc")
		p.write(bind)
		p.write(data)
		for range 100 {
			if _, more := p.read(17); !more {
				break
			}
		}
	})
}

func FuzzNetBIOS(f *testing.F) {
	f.Add([]byte{0x81, 0, 0, 68, 32, 'C', 'K', 'F', 'D', 'E', 'N', 'E', 'C', 'F', 'D', 'E', 'F', 'F', 'C', 'F', 'G', 'E', 'F', 'F', 'C', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 0}, false)
	f.Add([]byte{0, 0, 0, 4, 0xfe, 'S', 'M', 'B'}, true)
	f.Fuzz(func(t *testing.T, data []byte, netbios bool) {
		typ, body, err := readFrame(bytes.NewReader(data), netbios, 1<<16)
		if err == nil && typ == nbSessionRequest {
			cn := fuzzConn(t, false)
			cn.s.sessionRequest(body)
		}
		decodeNetBIOSName(data)
	})
}

// FuzzSession drives a whole service over TCP with each input as one
// client's side of a session.
func FuzzSession(f *testing.F) {
	r := servicetest.Start(f, "smb", PortDirect, windows)
	smb1, _ := hex.DecodeString("00000031ff534d4272000000001853c800000000000000000000000000004006000001000022000244415020322e3030320002534d4220322e3f3f3f00")
	servicetest.FuzzSession(f, r, PortDirect, string(smb1), "\x00\x00\x00\x04\xfeSMB", "\x85\x00\x00\x00")
}
