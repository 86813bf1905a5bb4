package persona

import (
	"crypto/rsa"
	"errors"
	"math/big"
)

// RSAKey derives an RSA key of bits bits from two primes found by a
// deterministic search over the identity's streams for pPurpose and
// qPurpose, so a redeployed decky keeps its key (crypto/rsa.GenerateKey
// ignores its reader since Go 1.26).
func (id Identity) RSAKey(bits int, pPurpose, qPurpose string) (*rsa.PrivateKey, error) {
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
			if p.ProbablyPrime(20) && new(big.Int).GCD(nil, nil, new(big.Int).Sub(p, one), e).Cmp(one) == 0 {
				return p
			}
		}
	}
	p, q := prime(pPurpose), prime(qPurpose)
	if p.Cmp(q) == 0 {
		return nil, errors.New("derive rsa key: equal primes")
	}
	n := new(big.Int).Mul(p, q)
	pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	lambda := new(big.Int).Div(new(big.Int).Mul(pm, qm), new(big.Int).GCD(nil, nil, pm, qm))
	d := new(big.Int).ModInverse(e, lambda)
	if d == nil {
		return nil, errors.New("derive rsa key: no inverse")
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	k.Precompute()
	return k, nil
}
