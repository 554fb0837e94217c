package broadcast

import (
	"sync"
	"time"

	"golive/capture"
	"golive/media"
	"golive/publisher"
)

// historyLen is how many one-second bitrate samples Stats keeps (a minute).
const historyLen = 60

// Stats is a snapshot of a broadcast's health, refreshed once per second.
type Stats struct {
	State    State
	Uptime   time.Duration // since Go Live; 0 when offline
	Encoder  string        // encoder in use, e.g. "libx264"
	Hardware bool          // whether Encoder is a hardware encoder
	Bitrate  int           // video+audio bits/s the encoders produced in the last second
	// LinkBitrate is what the network took in the last second: the bytes
	// the slowest live destination's server acknowledged, bits/s (RTMP
	// framing included; 0 when none is live).
	LinkBitrate int
	// TargetBitrate is the video bitrate the encoder aims at now: the
	// user's setting, or less while adaptive bitrate has lowered it.
	TargetBitrate int
	FPS           float64 // frames encoded in the last second
	TargetFPS     int
	Dropped       int64         // frames dropped by the network queues, all destinations
	Skipped       int64         // frames capture skipped or the encoder did not take (not kept up)
	Errors        int64         // per-frame errors counted since Initialize
	Queue         time.Duration // how far behind the furthest destination's server is, in media time
	// BitrateHistory holds the last minute of Bitrate samples, oldest first.
	BitrateHistory []int
	Destinations   []DestinationStats
}

// DestinationStats is one destination's part of Stats.
type DestinationStats struct {
	URL   string // stream key masked
	State string // as State: "live", "congested", "reconnecting", …
	// Bitrate is what was written to the socket in the last second,
	// LinkBitrate what the server acknowledged, bits/s.
	Bitrate, LinkBitrate int
	Dropped              int64
	// Queue is how far behind the stream the server is: media waiting in
	// GoLive's queue and in the socket (see publisher.RTMPStats).
	Queue time.Duration
	// FramesDelivered counts the video frames the server acknowledged.
	FramesDelivered int64
	// Behind is set when the destination cannot keep up even at the
	// lowest bitrate and no longer steers it (multistream only).
	Behind bool
	Err    string
	// Attempts counts failed reconnection attempts since the connection
	// was lost; NextAttempt is when the next one is due (zero if none).
	Attempts    int
	NextAttempt time.Time
}

// statsKeeper turns the stages' counters into per-second rates; sample runs
// on the stats goroutine, snapshot on any.
type statsKeeper struct {
	targetFPS int

	mu      sync.Mutex
	lastAir *onAir
	bytes   media.RateMeter // the encoders' output
	frames  media.RateMeter // video frames encoded
	cur     Stats
	history []int
}

func newStatsKeeper(fps int) *statsKeeper { return &statsKeeper{targetFPS: fps} }

func (k *statsKeeper) sample(now time.Time, air *onAir, video capture.VideoSource) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var st Stats
	vs := video.Stats()
	st.Skipped = int64(vs.Skipped + vs.Dropped)
	if air != nil {
		es := air.venc.Stats()
		bytes, frames := es.Bytes, es.FramesOut
		if air.aenc != nil {
			bytes += air.aenc.Stats().Bytes
		}
		if air.oenc != nil {
			bytes += air.oenc.Stats().Bytes
		}
		if k.lastAir != air {
			k.bytes.Reset()
			k.frames.Reset()
			k.lastAir = air
		}
		st.Bitrate = k.bytes.Bitrate(now, bytes)
		st.FPS = k.frames.Observe(now, frames)
		st.Skipped += es.Skipped
		k.history = append(k.history, st.Bitrate)
		if len(k.history) > historyLen {
			k.history = k.history[len(k.history)-historyLen:]
		}
	} else {
		k.lastAir = nil
		k.history = k.history[:0]
	}
	k.cur = st
}

func (k *statsKeeper) snapshot(air *onAir, connecting bool) Stats {
	k.mu.Lock()
	st := k.cur
	if air == nil || k.lastAir != air { // not sampled since this onAir began
		st.Bitrate, st.FPS = 0, 0
	} else {
		st.BitrateHistory = append([]int(nil), k.history...)
	}
	k.mu.Unlock()
	st.TargetFPS = k.targetFPS
	switch {
	case air != nil:
		st.State = StateLive
		st.Uptime = time.Since(air.started)
		es := air.venc.Stats()
		st.Encoder, st.Hardware, st.TargetBitrate = es.Encoder, es.Hardware, es.Bitrate
		behind := map[int]bool{}
		if air.abr != nil {
			for _, i := range air.abr.BitrateStats().LeftBehind {
				behind[i] = true
			}
		}
		congested, reconnecting, live := false, false, false
		for i, ps := range air.out.Stats() {
			ds := DestinationStats{
				URL: air.urls[i], State: ps.State.String(), Bitrate: ps.Bitrate, LinkBitrate: ps.LinkBitrate,
				Dropped: int64(ps.DroppedVideo + ps.DroppedAudio), Queue: ps.QueueDelay, FramesDelivered: ps.FramesDelivered,
				Behind: behind[i], Attempts: ps.Attempts, NextAttempt: ps.NextAttempt,
			}
			if ps.LastError != nil {
				ds.Err = ps.LastError.Error()
			}
			switch {
			case ps.State == publisher.StateReconnecting:
				reconnecting = true
			case ps.State == publisher.StateLive:
				if !live || ps.LinkBitrate < st.LinkBitrate {
					st.LinkBitrate = ps.LinkBitrate
				}
				live = true
				if ps.Congested {
					ds.State = StateCongested.String()
					congested = true
				}
			}
			st.Dropped += ds.Dropped
			st.Queue = max(st.Queue, ds.Queue)
			st.Destinations = append(st.Destinations, ds)
		}
		switch {
		case reconnecting:
			st.State = StateReconnecting
		case congested:
			st.State = StateCongested
		}
	case connecting:
		st.State = StateConnecting
	}
	return st
}
