package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// scramIterations is PostgreSQL's scram_iterations default.
const scramIterations = 4096

// clientFirst is a parsed client-first-message.
type clientFirst struct {
	cbindFlag string // n, y or p=<type>
	bare      string // client-first-message-bare
	user      string // n= (PostgreSQL ignores it for the startup user)
	nonce     string
}

var errMalformed = errors.New("malformed SCRAM message")

// parseClientFirst parses gs2-header client-first-message-bare.
func parseClientFirst(b []byte) (*clientFirst, error) {
	s := string(b)
	flag, rest, ok := strings.Cut(s, ",")
	if !ok || (flag != "n" && flag != "y" && !strings.HasPrefix(flag, "p=")) {
		return nil, errMalformed
	}
	authzid, bare, ok := strings.Cut(rest, ",")
	if !ok || (authzid != "" && !strings.HasPrefix(authzid, "a=")) {
		return nil, errMalformed
	}
	cf := &clientFirst{cbindFlag: flag, bare: bare}
	for _, attr := range strings.Split(bare, ",") {
		k, v, _ := strings.Cut(attr, "=")
		switch k {
		case "n":
			cf.user = v
		case "r":
			cf.nonce = v
		}
	}
	if cf.nonce == "" || !strings.HasPrefix(bare, "n=") {
		return nil, errMalformed
	}
	return cf, nil
}

// clientFinal is a parsed client-final-message.
type clientFinal struct {
	withoutProof string
	channel      string // c= (base64)
	nonce        string
	proof        []byte
}

func parseClientFinal(b []byte) (*clientFinal, error) {
	s := string(b)
	i := strings.LastIndex(s, ",p=")
	if i < 0 {
		return nil, errMalformed
	}
	cf := &clientFinal{withoutProof: s[:i]}
	proof, err := base64.StdEncoding.DecodeString(s[i+3:])
	if err != nil {
		return nil, errMalformed
	}
	cf.proof = proof
	for _, attr := range strings.Split(cf.withoutProof, ",") {
		k, v, _ := strings.Cut(attr, "=")
		switch k {
		case "c":
			cf.channel = v
		case "r":
			cf.nonce = v
		}
	}
	if cf.channel == "" || cf.nonce == "" {
		return nil, errMalformed
	}
	return cf, nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// scramKeys derives StoredKey and ServerKey from a password.
func scramKeys(password string, salt []byte, iter int) (stored, server []byte) {
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	ck := hmacSHA256(salted, "Client Key")
	sk := sha256.Sum256(ck)
	return sk[:], hmacSHA256(salted, "Server Key")
}

// scramProof computes the ClientProof a client with password sends.
func scramProof(password string, salt []byte, iter int, authMessage string) []byte {
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	ck := hmacSHA256(salted, "Client Key")
	sk := sha256.Sum256(ck)
	sig := hmacSHA256(sk[:], authMessage)
	out := make([]byte, len(ck))
	for i := range ck {
		out[i] = ck[i] ^ sig[i]
	}
	return out
}

// scramVerify checks a proof against the password and returns the
// ServerSignature to send on success.
func scramVerify(password string, salt []byte, iter int, authMessage string, proof []byte) ([]byte, bool) {
	want := scramProof(password, salt, iter, authMessage)
	if subtle.ConstantTimeCompare(want, proof) != 1 {
		return nil, false
	}
	_, server := scramKeys(password, salt, iter)
	return hmacSHA256(server, authMessage), true
}

// scramVerifier is the pg_authid form of a password.
func scramVerifier(password string, salt []byte, iter int) string {
	stored, server := scramKeys(password, salt, iter)
	enc := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(iter) + ":" + enc(salt) + "$" + enc(stored) + ":" + enc(server)
}
