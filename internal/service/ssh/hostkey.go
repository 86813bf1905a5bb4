package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"io"
	"sync"

	xssh "github.com/decnet/decnet/internal/service/ssh/internal/transport"

	"github.com/decnet/decnet/internal/persona"
)

// hostKeys are a decky's host keys, in the order sshd loads Debian's
// defaults (rsa, ecdsa, ed25519).
type hostKeys struct {
	// rsa derives the RSA-3072 key once, when first asked: its primes take
	// a second of CPU, which a host starting a thousand deckies must not
	// spend before they answer (Serve warms it in the background, and the
	// handshake only needs it for a client that picks an RSA host key).
	rsa     func() (*rsa.PrivateKey, error)
	ecdsa   *ecdsa.PrivateKey
	ed25519 ed25519.PrivateKey
}

// keyCache keeps derived keys by identity: a decky restarted in the same
// process keeps its keys without deriving the RSA primes again.
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
	k.rsa = sync.OnceValues(func() (*rsa.PrivateKey, error) { return id.RSAKey(3072, "hostkey-rsa-p", "hostkey-rsa-q") })
	v, _ := keyCache.LoadOrStore(id, k)
	return v.(*hostKeys), nil
}

// signers returns the host key signers to install, restricted to the
// signature algorithms the profile's release offers.
func (k *hostKeys) signers(p profile) ([]xssh.Signer, error) {
	mrs := &lazySigner{format: xssh.KeyAlgoRSA, algos: p.rsaAlgos(), signer: sync.OnceValues(func() (xssh.MultiAlgorithmSigner, error) {
		rk, err := k.rsa()
		if err != nil {
			return nil, err
		}
		rs, err := xssh.NewSignerFromKey(rk)
		if err != nil {
			return nil, err
		}
		ras, ok := rs.(xssh.AlgorithmSigner)
		if !ok {
			return nil, fmt.Errorf("rsa signer without algorithms")
		}
		return xssh.NewSignerWithAlgorithms(ras, p.rsaAlgos())
	})}
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

// lazySigner is a host key whose format and algorithms are known before
// its key: the version exchange and KEXINIT go out at once, and the key is
// made when a client picks it.
type lazySigner struct {
	format string
	algos  []string
	signer func() (xssh.MultiAlgorithmSigner, error)
}

func (l *lazySigner) PublicKey() xssh.PublicKey { return lazyPublicKey{l} }

func (l *lazySigner) Algorithms() []string { return l.algos }

func (l *lazySigner) Sign(r io.Reader, data []byte) (*xssh.Signature, error) {
	s, err := l.signer()
	if err != nil {
		return nil, err
	}
	return s.Sign(r, data)
}

func (l *lazySigner) SignWithAlgorithm(r io.Reader, data []byte, algorithm string) (*xssh.Signature, error) {
	s, err := l.signer()
	if err != nil {
		return nil, err
	}
	return s.SignWithAlgorithm(r, data, algorithm)
}

// lazyPublicKey answers its format without the key.
type lazyPublicKey struct{ l *lazySigner }

func (k lazyPublicKey) Type() string { return k.l.format }

// Marshal is the key's wire form; nil when it could not be made, which
// fails the handshake that asked for it.
func (k lazyPublicKey) Marshal() []byte {
	s, err := k.l.signer()
	if err != nil {
		return nil
	}
	return s.PublicKey().Marshal()
}

func (k lazyPublicKey) Verify(data []byte, sig *xssh.Signature) error {
	s, err := k.l.signer()
	if err != nil {
		return err
	}
	return s.PublicKey().Verify(data, sig)
}
