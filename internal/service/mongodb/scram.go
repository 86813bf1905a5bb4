package mongodb

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
)

// mech is one SCRAM mechanism as mongod runs it.
type mech struct {
	name       string
	hash       func() hash.Hash
	iterations int // scramIterationCount / scramSHA256IterationCount defaults
	saltLen    int // mongod's salt is the digest size minus 4
}

var (
	scramSHA1   = mech{"SCRAM-SHA-1", sha1.New, 10000, sha1.Size - 4}
	scramSHA256 = mech{"SCRAM-SHA-256", sha256.New, 15000, sha256.Size - 4}
)

func mechByName(n string) (mech, bool) {
	switch n {
	case scramSHA1.name:
		return scramSHA1, true
	case scramSHA256.name:
		return scramSHA256, true
	}
	return mech{}, false
}

// password is what the mechanism feeds PBKDF2: for SCRAM-SHA-1 mongod's
// legacy digest hex(MD5(user:mongo:password)), for SCRAM-SHA-256 the
// password itself (SASLprep is the identity for ASCII).
func (m mech) password(user, pw string) string {
	if m.name == scramSHA1.name {
		sum := md5.Sum([]byte(user + ":mongo:" + pw))
		return hex.EncodeToString(sum[:])
	}
	return pw
}

func (m mech) hmac(key []byte, msg string) []byte {
	h := hmac.New(m.hash, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func (m mech) keys(pw string, salt []byte) (client, stored, server []byte) {
	size := m.hash().Size()
	salted, _ := pbkdf2.Key(m.hash, pw, salt, m.iterations, size)
	client = m.hmac(salted, "Client Key")
	h := m.hash()
	h.Write(client)
	return client, h.Sum(nil), m.hmac(salted, "Server Key")
}

// proof computes the ClientProof a client knowing the (mechanism) password
// sends for authMessage.
func (m mech) proof(pw string, salt []byte, authMessage string) []byte {
	client, stored, _ := m.keys(pw, salt)
	sig := m.hmac(stored, authMessage)
	out := make([]byte, len(client))
	for i := range client {
		out[i] = client[i] ^ sig[i]
	}
	return out
}

// verify checks a proof and returns the ServerSignature on success.
func (m mech) verify(pw string, salt []byte, authMessage string, proof []byte) ([]byte, bool) {
	if subtle.ConstantTimeCompare(m.proof(pw, salt, authMessage), proof) != 1 {
		return nil, false
	}
	_, _, server := m.keys(pw, salt)
	return m.hmac(server, authMessage), true
}

var errSCRAM = errors.New("malformed SCRAM message")

// clientFirst is a parsed client-first-message.
type clientFirst struct {
	gs2   string
	bare  string
	user  string
	nonce string
}

func parseClientFirst(s string) (*clientFirst, error) {
	flag, rest, ok := strings.Cut(s, ",")
	if !ok || (flag != "n" && flag != "y" && !strings.HasPrefix(flag, "p=")) {
		return nil, errSCRAM
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok || (authz != "" && !strings.HasPrefix(authz, "a=")) {
		return nil, errSCRAM
	}
	cf := &clientFirst{gs2: flag + "," + authz + ",", bare: bare}
	for _, attr := range strings.Split(bare, ",") {
		k, v, _ := strings.Cut(attr, "=")
		switch k {
		case "n":
			cf.user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(v)
		case "r":
			cf.nonce = v
		}
	}
	if cf.nonce == "" || !strings.HasPrefix(bare, "n=") {
		return nil, errSCRAM
	}
	return cf, nil
}

// clientFinal is a parsed client-final-message.
type clientFinal struct {
	withoutProof string
	nonce        string
	proof        []byte
}

func parseClientFinal(s string) (*clientFinal, error) {
	i := strings.LastIndex(s, ",p=")
	if i < 0 {
		return nil, errSCRAM
	}
	proof, err := base64.StdEncoding.DecodeString(s[i+3:])
	if err != nil {
		return nil, errSCRAM
	}
	cf := &clientFinal{withoutProof: s[:i], proof: proof}
	for _, attr := range strings.Split(cf.withoutProof, ",") {
		if k, v, _ := strings.Cut(attr, "="); k == "r" {
			cf.nonce = v
		}
	}
	if cf.nonce == "" || !strings.HasPrefix(cf.withoutProof, "c=") {
		return nil, errSCRAM
	}
	return cf, nil
}
