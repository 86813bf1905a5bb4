package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"math/big"
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
	rk, err := deriveRSA(id, 3072)
	if err != nil {
		return nil, err
	}
	k.rsa = rk
	keyCache.Store(id, k)
	return k, nil
}

// deriveRSA builds an RSA key from two primes found by a deterministic
// search over the identity's stream (crypto/rsa.GenerateKey ignores its
// reader since Go 1.26).
func deriveRSA(id persona.Identity, bits int) (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	prime := func(purpose string) *big.Int {
		r := id.Rand(purpose)
		buf := make([]byte, bits/16)
		for {
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
			buf[0] |= 0xC0 // top two bits: the product has exactly bits bits
			buf[len(buf)-1] |= 1
			p := new(big.Int).SetBytes(buf)
			if !p.ProbablyPrime(20) {
				continue
			}
			if new(big.Int).GCD(nil, nil, new(big.Int).Sub(p, one), e).Cmp(one) != 0 {
				continue
			}
			return p
		}
	}
	p := prime("hostkey-rsa-p")
	q := prime("hostkey-rsa-q")
	if p.Cmp(q) == 0 {
		return nil, fmt.Errorf("derive rsa host key: equal primes")
	}
	n := new(big.Int).Mul(p, q)
	pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	lambda := new(big.Int).Div(new(big.Int).Mul(pm, qm), new(big.Int).GCD(nil, nil, pm, qm))
	d := new(big.Int).ModInverse(e, lambda)
	if d == nil {
		return nil, fmt.Errorf("derive rsa host key: no inverse")
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("derive rsa host key: %w", err)
	}
	k.Precompute()
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
