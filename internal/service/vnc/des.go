package vnc

import (
	"crypto/des"
	"math/bits"
)

// desKey is VNC's DES key for a password: its first 8 bytes, zero padded,
// each byte's bits reversed (the quirk of the original d3des code).
func desKey(password string) []byte {
	key := make([]byte, 8)
	copy(key, password)
	for i, b := range key {
		key[i] = bits.Reverse8(b)
	}
	return key
}

// vncResponse is the response a client holding key sends to challenge.
func vncResponse(key, challenge []byte) [16]byte {
	var out [16]byte
	block, err := des.NewCipher(key)
	if err != nil {
		return out // des keys are always 8 bytes here
	}
	block.Encrypt(out[:8], challenge[:8])
	block.Encrypt(out[8:], challenge[8:16])
	return out
}

// commonPasswords are what VNC servers are left with: the defaults of
// appliances and installers, and the top of every brute-force list. VNC
// uses 8 characters, so longer ones are cut as a client cuts them.
var commonPasswords = []string{
	"", "password", "123456", "12345678", "1234", "12345", "123", "1", "111111", "000000",
	"admin", "administrator", "root", "toor", "vnc", "vncpass", "vncpassword", "secret", "letmein",
	"qwerty", "test", "test123", "changeme", "default", "guest", "welcome", "abc123", "pass",
	"passw0rd", "P@ssw0rd", "raspberry", "ubuntu", "debian", "kali", "user", "demo", "server",
	"1234567", "123456789", "654321", "666666", "888888", "system", "support", "remote",
}

// guessPassword returns the common password the response was made with.
func guessPassword(challenge, response []byte) (string, bool) {
	for _, p := range commonPasswords {
		if vncResponse(desKey(p), challenge) == [16]byte(response) {
			if len(p) > 8 {
				p = p[:8]
			}
			return p, true
		}
	}
	return "", false
}
