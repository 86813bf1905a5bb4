package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"sync"

	xssh "github.com/decnet/decnet/internal/service/ssh/internal/transport"

	"github.com/decnet/decnet/internal/persona"
)

// hostKeys are a decky's host keys, in the order sshd loads Debian's
// defaults (rsa, ecdsa, ed25519).
type hostKeys struct {
	rsa     *rsa.PrivateKey
	ecdsa   *ecdsa.PrivateKey
	ed25519 ed25519.PrivateKey
}

// keyCache keeps derived keys by identity: deriving RSA-3072 primes takes
// a moment, and a decky restarted in the same process keeps its keys.
var keyCache sync.Map // persona.Identity -> *hostKeys

// deriveHostKeys derives the host keys from the decky's identity, so a
// redeployed decky presents the same fingerprints, and two deckies never
// share one.
func deriveHostKeys(id persona.Identity) (*hostKeys, error) {
	if k, ok := keyCache.Load(id); ok {
		return k.(*hostKeys), nil
	}
	k := &hostKeys{ed25519: ed25519.NewKeyFromSeed(id.Bytes("hostkey-ed25519", ed25519.SeedSize))}
	for i := 0; ; i++ {
		ek, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), id.Bytes(fmt.Sprintf("hostkey-ecdsa-%d", i), 32))
		if err == nil {
			k.ecdsa = ek
			break
		}
		if i > 16 {
			return nil, fmt.Errorf("derive ecdsa host key: %w", err)
		}
	}
	rk, err := id.RSAKey(3072, "hostkey-rsa-p", "hostkey-rsa-q")
	if err != nil {
		return nil, err
	}
	k.rsa = rk
	keyCache.Store(id, k)
	return k, nil
}

// signers returns the host key signers to install, restricted to the
// signature algorithms the profile's release offers.
func (k *hostKeys) signers(p profile) ([]xssh.Signer, error) {
	rs, err := xssh.NewSignerFromKey(k.rsa)
	if err != nil {
		return nil, err
	}
	ras, ok := rs.(xssh.AlgorithmSigner)
	if !ok {
		return nil, fmt.Errorf("rsa signer without algorithms")
	}
	mrs, err := xssh.NewSignerWithAlgorithms(ras, p.rsaAlgos())
	if err != nil {
		return nil, err
	}
	es, err := xssh.NewSignerFromKey(k.ecdsa)
	if err != nil {
		return nil, err
	}
	eds, err := xssh.NewSignerFromKey(k.ed25519)
	if err != nil {
		return nil, err
	}
	if p.Product == "dropbear" {
		return []xssh.Signer{eds, es, mrs}, nil
	}
	return []xssh.Signer{mrs, es, eds}, nil
}
