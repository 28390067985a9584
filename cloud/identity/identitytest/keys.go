// Package identitytest holds what tests of other packages need of
// cloud/identity without a database: an in-memory key store.
package identitytest

import (
	"context"
	"sync"
)

// Keys is an in-memory identity.KeyStore: the first key made under a name
// is kept.
type Keys struct {
	mu sync.Mutex
	m  map[string][]byte
}

// CloudKey returns the key called name, making it with make the first time.
func (k *Keys) CloudKey(_ context.Context, name string, make func() ([]byte, string, error)) ([]byte, string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.m[name]; ok {
		return b, "", nil
	}
	b, p, err := make()
	if err != nil {
		return nil, "", err
	}
	if k.m == nil {
		k.m = map[string][]byte{}
	}
	k.m[name] = b
	return b, p, nil
}
