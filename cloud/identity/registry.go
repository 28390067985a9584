package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// Errors of Authenticate. Each is a refusal; the broker logs which.
var (
	ErrUnknown     = errors.New("unknown identity")
	ErrRevoked     = errors.New("identity revoked")
	ErrBadPassword = errors.New("wrong password")
	ErrNoPassword  = errors.New("no username or password")
)

// Credentials is what a Registry reads (*db.DB).
type Credentials interface {
	ListCredentials(ctx context.Context) ([]db.Credential, error)
}

// Registry is an in-memory copy of the credentials, refreshed from the
// database, that the embedded broker asks at every connection.
type Registry struct {
	store Credentials
	log   *slog.Logger

	mu       sync.RWMutex
	byName   map[string]db.Credential
	internal map[string]internal // identities of this process (the in-process receiver)
	checked  map[[32]byte]bool   // (hash, password) pairs already verified: a reconnect storm costs no PBKDF2
}

type internal struct {
	password string
	role     string
}

// NewRegistry returns an empty Registry over store; call Refresh (or Run).
func NewRegistry(store Credentials, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{store: store, log: log, byName: map[string]db.Credential{}, internal: map[string]internal{}, checked: map[[32]byte]bool{}}
}

// AddInternal adds an identity that exists only in this process (not in the
// database): the embedded broker's own receiver.
func (r *Registry) AddInternal(name, password, role string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.internal[name] = internal{password: password, role: role}
}

// Refresh reads the credentials again and returns the names of those that
// were usable before and are revoked or gone now.
func (r *Registry) Refresh(ctx context.Context) ([]string, error) {
	cs, err := r.store.ListCredentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("refresh credentials: %w", err)
	}
	next := make(map[string]db.Credential, len(cs))
	for _, c := range cs {
		next[c.Username] = c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var gone []string
	for name, old := range r.byName {
		if old.Revoked() {
			continue
		}
		if c, ok := next[name]; !ok || c.Revoked() {
			gone = append(gone, name)
		}
	}
	r.byName = next
	return gone, nil
}

// Run refreshes every period until ctx ends, calling revoked with the
// names that lost their right to connect.
func (r *Registry) Run(ctx context.Context, period time.Duration, revoked func(names []string)) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		gone, err := r.Refresh(ctx)
		if err != nil {
			r.log.Warn("credentials not refreshed; the last ones stay in force", "err", err)
			continue
		}
		if len(gone) > 0 && revoked != nil {
			revoked(gone)
		}
	}
}

// Authenticate checks a username and password.
func (r *Registry) Authenticate(name, password string) (Principal, error) {
	if name == "" || password == "" {
		return Principal{}, ErrNoPassword
	}
	r.mu.RLock()
	in, isInternal := r.internal[name]
	c, ok := r.byName[name]
	r.mu.RUnlock()
	if isInternal {
		if password != in.password {
			return Principal{}, ErrBadPassword
		}
		return Principal{Name: name, Role: in.role}, nil
	}
	if !ok {
		return Principal{}, ErrUnknown
	}
	if c.Revoked() {
		return Principal{}, ErrRevoked
	}
	key := sha256.Sum256([]byte(c.PasswordHash + "\x00" + password))
	r.mu.RLock()
	good := r.checked[key]
	r.mu.RUnlock()
	if !good {
		if !CheckPassword(c.PasswordHash, password) {
			return Principal{}, ErrBadPassword
		}
		r.mu.Lock()
		if len(r.checked) > 100_000 {
			clear(r.checked)
		}
		r.checked[key] = true
		r.mu.Unlock()
	}
	return Principal{Name: c.Username, Role: c.Role}, nil
}

// Known returns the identity name when it may connect (registered and not
// revoked): a client certificate signed by the cloud's CA names it.
func (r *Registry) Known(name string) (Principal, error) {
	r.mu.RLock()
	c, ok := r.byName[name]
	r.mu.RUnlock()
	switch {
	case !ok:
		return Principal{}, ErrUnknown
	case c.Revoked():
		return Principal{}, ErrRevoked
	}
	return Principal{Name: c.Username, Role: c.Role}, nil
}
