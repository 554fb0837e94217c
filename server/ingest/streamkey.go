package ingest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// StreamKeyFile is the name of the file in the data directory that keeps
// the generated stream key.
const StreamKeyFile = "stream-key"

// LoadOrCreateStreamKey returns the stream key kept in dir, generating a
// random one (128 bits from crypto/rand, hex) and saving it with mode 0600
// on first use.
func LoadOrCreateStreamKey(dir string) (string, error) {
	path := filepath.Join(dir, StreamKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(b))
		if key != "" {
			return key, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read stream key: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generate stream key: %w", err)
	}
	key := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save stream key: %w", err)
	}
	return key, nil
}

// KeyMatches reports whether got equals key, in time independent of where
// they differ. An empty key matches nothing.
func KeyMatches(got, key string) bool {
	if key == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(key)) == 1
}
