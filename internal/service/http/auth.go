package http

import (
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/decnet/decnet/internal/event"
)

// credentialFromHeader extracts a credential from an Authorization header:
// Basic (plaintext), Bearer (token) or Digest (with a crack line for
// hashcat 11400 when the client answered our challenge with MD5).
func credentialFromHeader(req *Request, nonce string) *event.Credential {
	auth := req.Get("Authorization")
	scheme, rest, _ := strings.Cut(auth, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		return event.NewCredential("plaintext", "Basic", user, []byte(pass), true)
	case "bearer", "token":
		return event.NewCredential("bearer_token", "Bearer", "", []byte(rest), false)
	case "digest":
		p := parseDigest(rest)
		c := event.NewCredential("http_digest_md5", "Digest", p["username"], []byte(p["response"]), false)
		c.Material = map[string]any{}
		for _, k := range []string{"realm", "nonce", "uri", "qop", "nc", "cnonce", "algorithm", "opaque"} {
			if v, ok := p[k]; ok {
				c.Material[k] = event.Text([]byte(v), 512)
			}
		}
		c.Challenge = p["nonce"]
		if line, ok := digestCrackLine(p, req.Method); ok && p["nonce"] == nonce {
			c.CrackFormat, c.CrackMode, c.CrackLine = "hashcat", 11400, line
		}
		return c
	}
	return nil
}

// parseDigest splits the parameters of a Digest header, quoted or not.
func parseDigest(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 && len(out) < 32 {
		s = strings.TrimLeft(s, " ,")
		key, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(rest, `"`) {
			rest = rest[1:]
			i := 0
			var b strings.Builder
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			val = b.String()
			if i < len(rest) {
				i++
			}
			s = rest[i:]
		} else {
			val, s, _ = strings.Cut(rest, ",")
			val = strings.TrimSpace(val)
		}
		out[key] = val
	}
	return out
}

// digestCrackLine builds hashcat's $sip$ line for an MD5 Digest response
// (mode 11400), whose URI and method rebuild HA2. It refuses fields hashcat
// cannot take.
func digestCrackLine(p map[string]string, method string) (string, bool) {
	alg := strings.ToUpper(p["algorithm"])
	if alg != "" && alg != "MD5" {
		return "", false
	}
	qop := p["qop"]
	if qop != "" && qop != "auth" {
		return "", false
	}
	resp := strings.ToLower(p["response"])
	if len(resp) != 32 || p["username"] == "" || p["nonce"] == "" || len(p["uri"]) > 246 {
		return "", false
	}
	fields := []string{"", "", p["username"], p["realm"], method, "", p["uri"], "", p["nonce"], p["cnonce"], p["nc"], qop, "MD5", resp}
	for _, f := range fields {
		if strings.ContainsAny(f, "*\r\n") {
			return "", false
		}
	}
	return "$sip$*" + strings.Join(fields, "*"), true
}

// Form fields that name the account and carry the secret, across the
// applications attackers brute force.
var (
	userKeys = []string{"log", "username", "user", "email", "login", "pma_username", "uname", "userid", "j_username"}
	passKeys = []string{"pwd", "password", "pass", "passwd", "pma_password", "j_password", "secret"}
)

// credentialFromForm extracts a credential from an urlencoded form body.
func credentialFromForm(req *Request) (*event.Credential, []string) {
	ct := strings.ToLower(req.Get("Content-Type"))
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") || len(req.Body) == 0 {
		return nil, nil
	}
	vals, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, nil
	}
	var names []string
	for k := range vals {
		names = append(names, k)
	}
	var user, pass string
	var found bool
	for _, k := range userKeys {
		if v, ok := vals[k]; ok {
			user = v[0]
			break
		}
	}
	for _, k := range passKeys {
		if v, ok := vals[k]; ok {
			pass, found = v[0], true
			break
		}
	}
	if !found {
		return nil, names
	}
	return event.NewCredential("plaintext", "form", user, []byte(pass), true), names
}
