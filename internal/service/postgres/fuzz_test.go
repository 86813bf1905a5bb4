package postgres

import (
	"bufio"
	"bytes"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/serve"
)

func FuzzReadStartup(f *testing.F) {
	f.Add(startupPacket(3<<16, "user\x00postgres\x00database\x00x\x00\x00"))
	f.Add(startupPacket(codeSSLRequest, ""))
	f.Add(startupPacket(3<<16, "user\x00postgres\x00database"))
	f.Add([]byte("\x00\x00\x00\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for range 8 {
			st, err := readStartup(br)
			if err != nil {
				return
			}
			if len(st.params) > maxParams {
				t.Fatalf("%d params", len(st.params))
			}
		}
	})
}

func FuzzReadMessage(f *testing.F) {
	f.Add([]byte("p\x00\x00\x00\x2aSCRAM-SHA-256\x00\x00\x00\x00\x10n,,n=,r=abcdefgh"))
	f.Add([]byte("B\x00\x00\x00\x16\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x31\x32\x00\x00"))
	f.Add([]byte("Q\x00\x00\x00\x0dselect 1\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for range 16 {
			m, err := readMessage(br, maxAuthMsg)
			if err != nil {
				return
			}
			_, _, _ = saslInitial(m.body)
			_, _, _, _ = bindParams(m.body)
			_, _ = parseClientFirst(m.body)
			_, _ = parseClientFinal(m.body)
		}
	})
}

func FuzzQuery(f *testing.F) {
	for _, q := range []string{"select version()", "SELECT * FROM users LIMIT 2; selec 1", `select 'a;b', $$x;y$$, "c;d" -- e;`,
		"copy t from program 'id'", "select pg_read_file('/etc/passwd')", "create table x(a int); drop table x", "show all",
		"SELECT d.datname as \"Name\" FROM pg_catalog.pg_database d", "select f(1, 'a', b)", "insert into users values (1),(2)"} {
		f.Add(q)
	}
	id := persona.NewIdentity("fuzz", "decky")
	env := serve.Env{Identity: id, Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Persona: serve.Persona{Distro: persona.Distro{Slug: "debian"}}}
	srv, _ := New(env)
	s := srv.(*Server)
	em := event.NewEmitter(event.NewRecorder(), "t", "d", "postgres", "postgres", slog.New(slog.DiscardHandler))
	sess := em.Open("tcp", netip.MustParseAddrPort("127.0.0.2:40000"), netip.MustParseAddrPort("127.0.0.1:5432"))
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > 4096 {
			return
		}
		ss := &session{Conn: &serve.Conn{Session: sess}, srv: s, user: "postgres", db: "crm"}
		ss.dry = true // no sleeping, no catalog growth
		for _, st := range splitStatements(q) {
			res := s.catalog.run(ss, st)
			var m msgBuf
			if res.err != nil {
				m.errorResponse(*res.err, true)
			}
			for _, r := range res.rows {
				m.dataRow(r)
			}
		}
	})
}
