package sip

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// nonceLife is how long a nonce is honoured, Asterisk's default.
const nonceLife = 32 * time.Second

// nonce is Asterisk's form, "<unix time>/<hex>", keyed to the source so a
// nonce proves this decky issued it to that address.
func (s *Server) nonce(src netip.Addr) string {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	return ts + "/" + s.nonceMAC(ts, src)
}

func (s *Server) nonceMAC(ts string, src netip.Addr) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(ts + "/" + src.String()))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// nonceState says whether a nonce is ours and fresh.
func (s *Server) nonceState(n string, src netip.Addr) string {
	ts, mac, ok := strings.Cut(n, "/")
	t, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || !hmac.Equal([]byte(mac), []byte(s.nonceMAC(ts, src))) {
		return "forged"
	}
	if s.now().Sub(time.Unix(t, 0)) > nonceLife {
		return "stale"
	}
	return "ok"
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// digestResponse is RFC 2617's response for a password.
func digestResponse(user, realm, password, method, uri, nonce, nc, cnonce, qop string) string {
	ha1 := md5hex(user + ":" + realm + ":" + password)
	ha2 := md5hex(method + ":" + uri)
	if qop == "auth" || qop == "auth-int" {
		return md5hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
	}
	return md5hex(ha1 + ":" + nonce + ":" + ha2)
}

// authenticate checks a request's Digest credentials and records them.
// tried is "" without credentials, else the nonce's state.
func (s *Server) authenticate(req *request, method string, pe peer) (ok bool, tried string) {
	raw := req.get("Authorization")
	if raw == "" {
		raw = req.get("Proxy-Authorization")
	}
	scheme, rest, _ := strings.Cut(raw, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return false, ""
	}
	p := params(rest)
	user, response := p["username"], strings.ToLower(p["response"])
	state := s.nonceState(p["nonce"], pe.src.Addr())
	if pass, known := s.accounts[user]; known && state == "ok" {
		ok = hmac.Equal([]byte(response), []byte(digestResponse(user, p["realm"], pass, method, p["uri"], p["nonce"], p["nc"], p["cnonce"], p["qop"])))
	}
	cred := event.NewCredential("sip_digest_md5", "digest", user, []byte(response), false)
	cred.Challenge = p["nonce"]
	cred.Material = map[string]any{"realm": p["realm"], "uri": p["uri"], "nonce": p["nonce"], "cnonce": p["cnonce"], "nc": p["nc"], "qop": p["qop"], "algorithm": p["algorithm"]}
	if line, fits := crackLine(pe, user, p, method, response); fits {
		cred.CrackFormat, cred.CrackMode, cred.CrackLine = "hashcat", 11400, line
	}
	typ := "sip.login.failed"
	if ok {
		typ = "sip.login.success"
	}
	pe.emit(event.Event{Type: typ, Credential: cred, Fields: map[string]any{"method": method,
		"realm": event.Text([]byte(p["realm"]), 128), "nonce_ours": state != "forged"}})
	return ok, state
}

// crackLine is hashcat's SIP digest line (mode 11400, sipdump's form).
// The URI goes whole after its scheme, so HA2 is hashed over it as sent;
// a field holding the separator cannot be written.
func crackLine(pe peer, user string, p map[string]string, method, response string) (string, bool) {
	prefix, resource, found := strings.Cut(p["uri"], ":")
	if !found {
		prefix, resource = "", p["uri"]
	}
	qop, cnonce, nc := p["qop"], p["cnonce"], p["nc"]
	if qop != "auth" && qop != "auth-int" {
		qop, cnonce, nc = "", "", ""
	}
	fields := []string{"$sip$", pe.dst.Addr().String(), pe.src.Addr().String(), user, p["realm"], method,
		prefix, resource, "", p["nonce"], cnonce, nc, qop, "MD5", response}
	for i, f := range fields {
		if strings.Contains(f, "*") || i > 0 && i < 13 && len(f) > 240 {
			return "", false
		}
	}
	if len(response) != 32 || resource == "" || p["nonce"] == "" {
		return "", false
	}
	return strings.Join(fields, "*"), true
}
