package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Names of the cloud's keys in the database.
const (
	keyAckSigning = "ack_signing"
	keyDeviceCA   = "device_ca"
)

// KeyStore is where the cloud keeps its keys (*db.DB).
type KeyStore interface {
	CloudKey(ctx context.Context, name string, make func() (secret []byte, public string, err error)) ([]byte, string, error)
}

// Keys are the cloud's own keys.
type Keys struct {
	// Signer signs every ack (wire.SignAck).
	Signer ed25519.PrivateKey
	// CA signs device client certificates.
	CA *CA
}

// Public is the text form of the ack-signing public key: what devices are
// given as sync.cloud_key.
func (k *Keys) Public() string { return wire.FormatCloudKey(k.Signer.Public().(ed25519.PublicKey)) }

// LoadKeys returns the cloud's keys, making them on first use.
func LoadKeys(ctx context.Context, s KeyStore) (*Keys, error) {
	seed, _, err := s.CloudKey(ctx, keyAckSigning, func() ([]byte, string, error) {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, "", err
		}
		return priv.Seed(), wire.FormatCloudKey(pub), nil
	})
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("cloud key %s: %d bytes, want %d", keyAckSigning, len(seed), ed25519.SeedSize)
	}
	caPEM, _, err := s.CloudKey(ctx, keyDeviceCA, func() ([]byte, string, error) {
		b, err := newCAPEM()
		return b, "", err
	})
	if err != nil {
		return nil, err
	}
	ca, err := parseCA(caPEM)
	if err != nil {
		return nil, err
	}
	return &Keys{Signer: ed25519.NewKeyFromSeed(seed), CA: ca}, nil
}
