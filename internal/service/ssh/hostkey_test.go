package ssh

import (
	"bytes"
	"crypto/rand"
	"slices"
	"testing"

	xssh "github.com/decnet/decnet/internal/service/ssh/internal/transport"

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
	rsa1, err1 := k1.rsa()
	rsa2, err2 := k2.rsa()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !k1.ed25519.Equal(k2.ed25519) || !k1.ecdsa.Equal(k2.ecdsa) || !rsa1.Equal(rsa2) || rsa1.N.BitLen() != 3072 {
		t.Error("host keys differ between derivations of one identity")
	}
}

// TestRSAHostKeyIsLazy: the signers are ready before the RSA key is
// derived, announce its format and algorithms, and once asked present
// the key derived from the identity.
func TestRSAHostKeyIsLazy(t *testing.T) {
	id := persona.NewIdentity("lazy-seed", "lazy-decky")
	k, err := deriveHostKeys(id)
	if err != nil {
		t.Fatal(err)
	}
	p := profileFor("OpenSSH_9.2p1 Debian-2+deb12u7", "debian")
	signers, err := k.signers(p)
	if err != nil {
		t.Fatal(err)
	}
	lazy, ok := signers[0].(*lazySigner)
	if !ok || lazy.PublicKey().Type() != xssh.KeyAlgoRSA || !slices.Equal(lazy.Algorithms(), p.rsaAlgos()) {
		t.Fatalf("first signer %T: not the lazy RSA key with the profile's algorithms", signers[0])
	}
	rk, err := id.RSAKey(3072, "hostkey-rsa-p", "hostkey-rsa-q")
	if err != nil {
		t.Fatal(err)
	}
	want, err := xssh.NewSignerFromKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(lazy.PublicKey().Marshal(), want.PublicKey().Marshal()) {
		t.Fatal("the lazy RSA key is not the identity's")
	}
	sig, err := lazy.SignWithAlgorithm(rand.Reader, []byte("data"), xssh.KeyAlgoRSASHA512)
	if err != nil || want.PublicKey().Verify([]byte("data"), sig) != nil {
		t.Fatalf("signature by the lazy key does not verify: %v", err)
	}
}
