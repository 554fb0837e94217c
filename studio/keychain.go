package studio

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// ErrSecretNotFound is returned by a Secrets' Get for a name it does not
// hold.
var ErrSecretNotFound = errors.New("studio: secret not found")

// ErrNoKeychain is returned by ProbeKeychain when the OS keychain does not
// answer, or answers wrong; its message says why.
var ErrNoKeychain = errors.New("studio: no keychain")

// Secrets keeps the stream keys: the bundled server's and each
// destination's. Keychain is the OS keychain's; tests use their own.
type Secrets interface {
	// Get returns the secret kept under name, or ErrSecretNotFound.
	Get(name string) (string, error)
	// Set keeps value under name, replacing what was there.
	Set(name, value string) error
	// Delete forgets name; a name not held is not an error.
	Delete(name string) error
}

// KeychainService is the service name GoLive's entries carry in the OS
// keychain (the app's ID).
const KeychainService = "app.golive.broadcaster"

// Keychain is Secrets in the OS keychain through github.com/zalando/go-keyring:
// the Secret Service (GNOME Keyring, KWallet) on Linux over D-Bus, the
// Keychain on macOS, the Credential Manager on Windows. Each call is a
// round trip to the keychain service (milliseconds).
type Keychain struct {
	// Service names GoLive's entries; default KeychainService.
	Service string
}

func (k Keychain) service() string {
	if k.Service == "" {
		return KeychainService
	}
	return k.Service
}

// Get returns the secret kept under name.
func (k Keychain) Get(name string) (string, error) {
	v, err := keyring.Get(k.service(), name)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", ErrSecretNotFound, name)
	}
	if err != nil {
		return "", fmt.Errorf("keychain: get %s: %w", name, err)
	}
	return v, nil
}

// Set keeps value under name.
func (k Keychain) Set(name, value string) error {
	if err := keyring.Set(k.service(), name, value); err != nil {
		return fmt.Errorf("keychain: set %s: %w", name, err)
	}
	return nil
}

// Delete forgets name.
func (k Keychain) Delete(name string) error {
	err := keyring.Delete(k.service(), name)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("keychain: delete %s: %w", name, err)
	}
	return nil
}

// ProbeKeychain checks that s keeps a secret: it writes a random value
// under a probe name, reads it back and deletes it, all within timeout (a
// keychain that waits for a password prompt nobody answers counts as
// none; the call then goes on in the background and its result is
// dropped). It returns nil, or an error wrapping ErrNoKeychain that says
// why.
func ProbeKeychain(s Secrets, timeout time.Duration) error {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	want := hex.EncodeToString(b)
	const name = "probe"
	done := make(chan error, 1)
	go func() {
		err := s.Set(name, want)
		if err == nil {
			var got string
			got, err = s.Get(name)
			if err == nil && got != want {
				err = errors.New("it returned another value than the one kept")
			}
			if derr := s.Delete(name); err == nil {
				err = derr
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNoKeychain, err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%w: no answer within %v", ErrNoKeychain, timeout)
	}
}

// Names of the studio's secrets.
const (
	// secretServer is the bundled server's stream key.
	secretServer = "server"
	// secretDestination prefixes a destination's ID.
	secretDestination = "destination/"
)

// probeTimeout bounds how long Initialize waits for the keychain.
const probeTimeout = 5 * time.Second

// openSecrets checks Secrets answers and says where the keys will be.
func (s *Studio) openSecrets() {
	if s.Secrets == nil {
		s.keysIn = "Stream keys are kept in the settings file (no keychain in use)."
		return
	}
	if err := ProbeKeychain(s.Secrets, probeTimeout); err != nil {
		s.log.Warn("no keychain; stream keys stay in the settings file", "err", err)
		s.keysIn = fmt.Sprintf("No keychain here (%v): stream keys are kept in the settings file.", err)
		return
	}
	s.secrets = s.Secrets
	s.keysIn = "Stream keys are kept in the system keychain."
}

// loadSecrets reads the keys from the keychain, moving there first the
// ones an earlier version (or a run without keychain) left in the
// settings; called from load. A key that cannot be moved stays where it
// is.
func (s *Studio) loadSecrets() {
	moved := 0
	if s.key != "" {
		if err := s.secrets.Set(secretServer, s.key); err != nil {
			s.log.Warn("server key not moved to the keychain", "err", err)
		} else {
			s.set(storeStreamKey, "")
			moved++
		}
	} else if k, err := s.secrets.Get(secretServer); err == nil {
		s.key = k
	} else if !errors.Is(err, ErrSecretNotFound) {
		s.log.Warn("server key not read from the keychain", "err", err)
	}
	for i := range s.dests {
		d := &s.dests[i]
		if d.Key != "" {
			if err := s.secrets.Set(secretDestination+d.ID, d.Key); err != nil {
				s.log.Warn("stream key not moved to the keychain", "destination", d.Name, "err", err)
				continue
			}
			moved++
			continue
		}
		k, err := s.secrets.Get(secretDestination + d.ID)
		if err != nil && !errors.Is(err, ErrSecretNotFound) {
			s.log.Warn("stream key not read from the keychain", "destination", d.Name, "err", err)
		}
		d.Key = k
	}
	if moved > 0 {
		s.persistLocked()
		s.log.Info("stream keys moved from the settings file to the keychain", "keys", moved)
	}
}

// keepKey puts a destination's key in the keychain, when there is one.
func (s *Studio) keepKey(d Destination) error {
	if s.secrets == nil {
		return nil
	}
	if err := s.secrets.Set(secretDestination+d.ID, d.Key); err != nil {
		return fmt.Errorf("studio: stream key not saved: %w", err)
	}
	return nil
}

// forgetKey removes a destination's key from the keychain.
func (s *Studio) forgetKey(id string) {
	if s.secrets == nil {
		return
	}
	if err := s.secrets.Delete(secretDestination + id); err != nil {
		s.log.Warn("stream key not removed from the keychain", "err", err)
	}
}

// KeyStorage says where the stream keys are kept, for the user.
func (s *Studio) KeyStorage() string { return s.keysIn }

// MemorySecrets keeps secrets in memory only, lost when the program ends:
// for tests, and for a studio that must not touch the machine's keychain.
// The zero value is ready; it is safe for concurrent use.
type MemorySecrets struct {
	mu sync.Mutex
	m  map[string]string
}

// Get returns the secret kept under name, or ErrSecretNotFound.
func (m *MemorySecrets) Get(name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[name]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrSecretNotFound, name)
	}
	return v, nil
}

// Set keeps value under name.
func (m *MemorySecrets) Set(name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[name] = value
	return nil
}

// Delete forgets name.
func (m *MemorySecrets) Delete(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, name)
	return nil
}
