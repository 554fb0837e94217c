package studio

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zalando/go-keyring"

	"golive/internal/peers"
)

// failingSecrets is a keychain whose every call fails.
type failingSecrets struct{ err error }

func (f failingSecrets) Get(string) (string, error) { return "", f.err }
func (f failingSecrets) Set(string, string) error   { return f.err }
func (f failingSecrets) Delete(string) error        { return f.err }

// get reads a secret, "" when it is not there.
func get(s Secrets, name string) string { v, _ := s.Get(name); return v }

// plainStore is what an earlier GoLive left: keys in the settings, as text.
func plainStore() *memStore {
	return &memStore{m: map[string]string{
		storeStreamKey: "serverkey0123456789",
		storeDestinations: `[{"id":"yt","kind":"youtube","name":"YouTube","url":"rtmp://a.rtmp.youtube.com/live2","key":"yt-secret-key-1","enabled":true},` +
			`{"id":"tw","kind":"twitch","name":"Twitch","url":"rtmp://live.twitch.tv/app","key":"live_tw_secret_2"}]`,
	}}
}

// storedText is everything the settings hold, as one string.
func storedText(s *memStore) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for k, v := range s.m {
		b.WriteString(k + "=" + v + "\n")
	}
	return b.String()
}

// checkKeychainStudio runs the migration and the day-to-day key handling
// against secrets, which must start empty.
func checkKeychainStudio(t *testing.T, secrets Secrets, get func(string) string) {
	store := plainStore()
	h := newStudio(t, store, true, func(s *Studio) { s.Secrets = secrets })
	require.Equal(t, "serverkey0123456789", h.StreamKey())
	ds := h.Destinations()
	require.Len(t, ds, 3)
	require.Equal(t, "yt-secret-key-1", ds[1].Key, "keys read back from the keychain")
	require.Equal(t, "live_tw_secret_2", ds[2].Key)
	// Moved: the settings no longer hold any key, the keychain does.
	text := storedText(store)
	for _, k := range []string{"serverkey0123456789", "yt-secret-key-1", "live_tw_secret_2"} {
		require.NotContains(t, text, k)
	}
	require.Equal(t, "serverkey0123456789", get(secretServer))
	require.Equal(t, "yt-secret-key-1", get(secretDestination+"yt"))
	require.Contains(t, h.Status().KeyStorage, "system keychain")

	// Saving and removing go through the keychain too.
	require.NoError(t, h.SaveDestination(Destination{Kind: DestCustom, Name: "Mine", URL: "rtmp://example.com/app", Key: "mine-new-key-3"}))
	h.RemoveDestination("tw")
	require.NotContains(t, storedText(store), "mine-new-key-3")
	require.Equal(t, "", get(secretDestination+"tw"))
	ds = h.Destinations()
	require.Len(t, ds, 3)
	require.Equal(t, "mine-new-key-3", get(secretDestination+ds[2].ID))
	h.Close()

	// The next start finds everything, moving nothing.
	h2 := newStudio(t, store, true, func(s *Studio) { s.Secrets = secrets })
	require.Equal(t, "serverkey0123456789", h2.StreamKey())
	ds = h2.Destinations()
	require.Equal(t, "yt-secret-key-1", ds[1].Key)
	require.Equal(t, "mine-new-key-3", ds[2].Key)
	require.NotContains(t, h2.logs.String(), "moved")
}

func TestKeychainMigration(t *testing.T) {
	m := &MemorySecrets{}
	checkKeychainStudio(t, m, func(name string) string { return get(m, name) })
	// A fresh install with a keychain keeps its new server key there only.
	store := &memStore{}
	m2 := &MemorySecrets{}
	h := newStudio(t, store, false, func(s *Studio) { s.Secrets = m2 })
	require.Len(t, h.StreamKey(), 24)
	require.Equal(t, h.StreamKey(), get(m2, secretServer))
	require.NotContains(t, storedText(store), h.StreamKey())
}

// TestNoKeychain: a keychain that fails keeps the keys where they were and
// says so.
func TestNoKeychain(t *testing.T) {
	store := plainStore()
	h := newStudio(t, store, true, func(s *Studio) { s.Secrets = failingSecrets{errors.New("org.freedesktop.secrets was not provided")} })
	require.Contains(t, h.Status().KeyStorage, "No keychain here")
	require.Contains(t, h.Status().KeyStorage, "org.freedesktop.secrets was not provided")
	require.Equal(t, "yt-secret-key-1", h.Destinations()[1].Key)
	require.NoError(t, h.SaveDestination(Destination{Name: "Mine", URL: "rtmp://example.com/app", Key: "mine-new-key-3"}))
	require.Contains(t, storedText(store), "mine-new-key-3", "kept as today")
	require.Contains(t, storedText(store), "serverkey0123456789")
	// Without Secrets at all, the same.
	h2 := newStudio(t, &memStore{}, false)
	require.Contains(t, h2.Status().KeyStorage, "settings file")
}

// TestProbeKeychainTimeout: a keychain that never answers (a password
// prompt nobody sees) counts as none, after the timeout.
func TestProbeKeychainTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	err := ProbeKeychain(blockingSecrets{block}, 50*time.Millisecond)
	require.ErrorIs(t, err, ErrNoKeychain)
	require.ErrorContains(t, err, "no answer within 50ms")
}

type blockingSecrets struct{ block chan struct{} }

func (b blockingSecrets) Get(string) (string, error) { <-b.block; return "", ErrSecretNotFound }
func (b blockingSecrets) Set(string, string) error   { <-b.block; return nil }
func (b blockingSecrets) Delete(string) error        { <-b.block; return nil }

// TestKeychainGoKeyringMock drives Keychain through go-keyring's own mock.
func TestKeychainGoKeyringMock(t *testing.T) {
	keyring.MockInit()
	k := Keychain{Service: "golive-test-mock"}
	require.NoError(t, ProbeKeychain(k, time.Second))
	_, err := k.Get("nothing")
	require.ErrorIs(t, err, ErrSecretNotFound)
	require.NoError(t, k.Delete("nothing"), "deleting what is not there is fine")
	checkKeychainStudio(t, k, func(name string) string { return get(k, name) })
	keyring.MockInitWithError(errors.New("locked"))
	require.ErrorIs(t, ProbeKeychain(k, time.Second), ErrNoKeychain)
}

// TestKeychainSecretService runs the same checks against a real Secret
// Service: GNOME Keyring in a private D-Bus session (dbus-run-session), in
// a child test process with its own home.
func TestKeychainSecretService(t *testing.T) {
	if os.Getenv("GOLIVE_KEYRING_CHILD") == "1" {
		k := Keychain{Service: "golive-test"}
		require.NoError(t, ProbeKeychain(k, 10*time.Second))
		checkKeychainStudio(t, k, func(name string) string { return get(k, name) })
		return
	}
	dbus := peers.RequireTool(t, "dbus-run-session")
	gk := peers.RequireTool(t, "gnome-keyring-daemon")
	home := t.TempDir()
	run := filepath.Join(home, "run")
	require.NoError(t, os.Mkdir(run, 0o700))
	script := `printf golive | "$1" --unlock --components=secrets >/dev/null && exec "$2" -test.run '^TestKeychainSecretService$' -test.v`
	cmd := exec.Command(dbus, "--", "sh", "-c", script, "sh", gk, os.Args[0])
	cmd.Env = append(os.Environ(), "GOLIVE_KEYRING_CHILD=1", "HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_RUNTIME_DIR="+run, "XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the Secret Service test did not finish:\n%s", out)
	}
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "--- PASS: TestKeychainSecretService")
	t.Logf("against GNOME Keyring over D-Bus:\n%s", out)
}
