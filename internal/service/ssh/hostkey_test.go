package ssh

import (
	"testing"

	"github.com/decnet/decnet/internal/persona"
)

// TestHostKeyDerivation checks that host keys follow the identity: the
// same seed and decky give the same keys, another decky other keys.
func TestHostKeyDerivation(t *testing.T) {
	a, b := persona.NewIdentity("seed", "decky-01"), persona.NewIdentity("seed", "decky-02")
	r1, err := a.RSAKey(1024, "hostkey-rsa-p", "hostkey-rsa-q")
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := a.RSAKey(1024, "hostkey-rsa-p", "hostkey-rsa-q")
	r3, _ := b.RSAKey(1024, "hostkey-rsa-p", "hostkey-rsa-q")
	if r1.N.Cmp(r2.N) != 0 || r1.N.Cmp(r3.N) == 0 || r1.N.BitLen() != 1024 {
		t.Errorf("rsa derivation not deterministic per decky (bits %d)", r1.N.BitLen())
	}
	k1, err := deriveHostKeys(a)
	if err != nil {
		t.Fatal(err)
	}
	keyCache.Delete(a)
	k2, _ := deriveHostKeys(a)
	if !k1.ed25519.Equal(k2.ed25519) || !k1.ecdsa.Equal(k2.ecdsa) || !k1.rsa.Equal(k2.rsa) || k1.rsa.N.BitLen() != 3072 {
		t.Error("host keys differ between derivations of one identity")
	}
}
