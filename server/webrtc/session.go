package webrtc

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	pion "github.com/pion/webrtc/v4"
)

// Media is the media side of one session, which an Endpoint's Setup adds
// to the session's peer connection.
type Media interface {
	// Start is called once, when the session's ICE and DTLS are up.
	Start()
	// Close is called once when the session ends (DELETE, the peer gone,
	// ICE timeout, Endpoint Close), before the peer connection closes. It
	// must not block for long.
	Close()
}

// Session is one WebRTC session an Endpoint made: its id is the last
// element of its Location.
type Session struct {
	// ID is the session's random, unguessable id.
	ID string
	// PC is the session's peer connection.
	PC *pion.PeerConnection
	// Offer is the offer the session was made from.
	Offer *Offer
	// Created is when the offer came.
	Created time.Time

	media     Media
	connected atomic.Bool
	timerMu   sync.Mutex
	timer     *time.Timer // the connect timeout
	ended     bool
	once      sync.Once
	done      chan struct{}
}

// newSessionID returns 16 random bytes in hex.
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// Connected reports whether the session's ICE and DTLS came up.
func (s *Session) Connected() bool { return s.connected.Load() }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// setTimer runs f after d unless the session ends first.
func (s *Session) setTimer(d time.Duration, f func()) {
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	if !s.ended {
		s.timer = time.AfterFunc(d, f)
	}
}

// end closes the media and the peer connection, once.
func (s *Session) end() (first bool) {
	s.once.Do(func() {
		first = true
		s.timerMu.Lock()
		s.ended = true
		if s.timer != nil {
			s.timer.Stop()
		}
		s.timerMu.Unlock()
		if s.media != nil {
			s.media.Close()
		}
		_ = s.PC.Close()
		close(s.done)
	})
	return first
}
