package studio

import (
	"time"

	"golive/broadcast"
	"golive/preview"
)

// Status is a snapshot of everything the GUI shows.
type Status struct {
	// Stats is the pipeline's health; State is Connecting from the Go Live
	// click until the first destination accepts.
	broadcast.Stats
	// LastError says why the last Go Live failed or the last session ended.
	LastError string
	// CPU is the process's CPU use in percent of one core.
	CPU float64
	// AudioPeak is the last audio block's peak level, 0..1; -1 when the
	// engine exposes no audio level.
	AudioPeak float64
	// Overlay reports whether chat is burned into the video.
	Overlay bool
	// Viewers is the chat's viewer count.
	Viewers int
	// CanReconnect tells whether ReconnectNow does anything.
	CanReconnect bool
	// ReconnectIn is how long until the next reconnection attempt (the
	// soonest over the destinations), 0 when none is due.
	ReconnectIn time.Duration
	// Preview is the preview stage's counters.
	Preview preview.Stats
	// KeyStorage says where the stream keys are kept (the system keychain,
	// or the settings file and why).
	KeyStorage string
}

// Status returns a snapshot for the GUI; call it about once a second (it
// samples the CPU use).
func (s *Studio) Status() Status {
	var st Status
	level := -1.0
	if e := s.eng(); e != nil {
		st.Stats = e.Stats()
		if l, ok := e.(interface{ AudioLevel() float64 }); ok {
			level = l.AudioLevel()
		}
		_, st.CanReconnect = e.(interface{ ReconnectNow() })
	}
	now := s.Now()
	st.ReconnectIn = reconnectIn(st.Destinations, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connecting != nil && st.State == broadcast.StateOffline {
		st.State = broadcast.StateConnecting
	}
	st.LastError = s.lastErr
	st.CPU = s.cpu.sample(now)
	st.AudioPeak = s.audioPeak
	if !s.audioTap {
		st.AudioPeak = level
	}
	st.Overlay = s.overlayOn
	st.Viewers = s.viewers
	st.Preview = s.prev.Stats()
	st.KeyStorage = s.keysIn
	return st
}

// reconnectIn is the wait until the soonest due reconnection attempt.
func reconnectIn(ds []broadcast.DestinationStats, now time.Time) time.Duration {
	var next time.Duration
	for _, d := range ds {
		if d.NextAttempt.IsZero() {
			continue
		}
		if in := max(d.NextAttempt.Sub(now), time.Millisecond); next == 0 || in < next {
			next = in
		}
	}
	return next
}
