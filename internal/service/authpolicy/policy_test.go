package authpolicy

import "testing"

func TestPolicy(t *testing.T) {
	p := New(Logins{Users: []string{"root:toor", "pi:raspberry"}, AcceptAfter: 2})
	if !p.Accept("1.1.1.1", "root", []byte("toor")) || !p.Accept("1.1.1.1", "pi", []byte("raspberry")) {
		t.Fatal("listed pair refused")
	}
	if p.Accept("2.2.2.2", "root", []byte("x")) || p.Accept("2.2.2.2", "root", []byte("y")) {
		t.Fatal("wrong password accepted before accept_after")
	}
	if !p.Accept("2.2.2.2", "admin", []byte("z")) {
		t.Fatal("accept_after did not open after 2 failures")
	}
	if p.Accept("3.3.3.3", "admin", []byte("z")) {
		t.Fatal("accept_after counted another source's failures")
	}
	def := New(Logins{})
	if !def.Accept("x", "root", []byte("admin")) || def.Accept("x", "root", []byte("root")) {
		t.Fatal("default policy is not root:admin")
	}
	legacy := New(Logins{Password: "pw", User: "ubuntu", UserPassword: "ub"})
	if !legacy.Accept("x", "root", []byte("pw")) || !legacy.Accept("x", "ubuntu", []byte("ub")) {
		t.Fatal("legacy keys ignored")
	}
}
