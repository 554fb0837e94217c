package server

import (
	"net/http"
	"time"

	"golive/chat"
	"golive/media"
)

// Status is the body of /api/status.
type Status struct {
	// Live reports whether a publisher is streaming.
	Live bool `json:"live"`
	// Viewers counts HLS viewers seen in the last 15 s.
	Viewers int `json:"viewers"`
	// UptimeSeconds is how long the server has run.
	UptimeSeconds float64 `json:"uptime_seconds"`
	// LiveSeconds is how long the current stream has run (0 offline).
	LiveSeconds float64 `json:"live_seconds"`
	// Ingest describes the published stream (nil offline).
	Ingest *IngestStatus `json:"ingest"`
	// Rungs lists the renditions of the current (or last) stream, top first.
	Rungs []RungStatus `json:"rungs"`
	// DroppedRungs names the rungs dropped because the machine could not
	// keep up.
	DroppedRungs []string `json:"dropped_rungs"`
	// Chat gives the chat's counts (nil when the chat handler has none).
	Chat *ChatStatus `json:"chat"`
}

// ChatStatus is the chat part of /api/status.
type ChatStatus struct {
	// Viewers are the room's chat viewers (every instance's), moderators not counted.
	Viewers int `json:"viewers"`
	// LocalViewers are the part of Viewers connected to this instance.
	LocalViewers int `json:"local_viewers"`
	// Moderators are the moderator connections on this instance.
	Moderators int `json:"moderators"`
	// Messages and Reactions count what the chat relayed since it started.
	Messages  uint64 `json:"messages"`
	Reactions uint64 `json:"reactions"`
	// NATS is the link to the other instances (state "off" without one).
	NATS chat.NATSStats `json:"nats"`
}

// IngestStatus describes the published stream.
type IngestStatus struct {
	Publisher  string  `json:"publisher"`
	Codec      string  `json:"codec"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	FPS        float64 `json:"fps"`
	Bitrate    int     `json:"bitrate"`
	AudioCodec string  `json:"audio_codec,omitempty"`
	SampleRate int     `json:"sample_rate,omitempty"`
	Channels   int     `json:"channels,omitempty"`
}

// RungStatus describes one rendition.
type RungStatus struct {
	Name    string  `json:"name"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	FPS     float64 `json:"fps"`
	Bitrate int     `json:"bitrate"`
	Source  bool    `json:"source"`
	Live    bool    `json:"live"`
	Bytes   uint64  `json:"bytes"`
}

// Status returns the server's status as /api/status shows it.
func (s *Server) Status() Status {
	p := s.pipe
	st := Status{
		Viewers:       s.viewers.count(),
		UptimeSeconds: time.Since(s.started).Seconds(),
		Rungs:         []RungStatus{},
		DroppedRungs:  []string{},
	}
	p.mu.RLock()
	st.Live = p.live
	var video, audio *media.CodecParams
	if p.live {
		st.LiveSeconds = time.Since(p.since).Seconds()
		video, audio = p.video, p.audio
	}
	srcBR := p.rate.bitsPerSecond()
	for _, ri := range p.current {
		rs := ri.variant.Stats()
		if ri.Source && p.live && srcBR > 0 {
			ri.Bitrate = srcBR // measured (audio included)
		}
		st.Rungs = append(st.Rungs, RungStatus{Name: ri.Name, Width: ri.Width, Height: ri.Height,
			FPS: ri.FPS, Bitrate: ri.Bitrate, Source: ri.Source, Live: rs.Live, Bytes: rs.Bytes})
	}
	st.DroppedRungs = append(st.DroppedRungs, p.dropped...)
	p.mu.RUnlock()
	if video != nil {
		in := &IngestStatus{
			Codec: video.Codec.String(), Width: video.Width, Height: video.Height, FPS: video.FPS,
			Bitrate: p.rate.bitsPerSecond(),
		}
		if audio != nil {
			in.AudioCodec, in.SampleRate, in.Channels = audio.Codec.String(), audio.SampleRate, audio.Channels
		}
		if is := s.ingest.Stats(); is.Live {
			in.Publisher = is.Publisher
		}
		st.Ingest = in
	}
	if c, ok := s.Chat.(interface{ Stats() chat.HubStats }); ok {
		cs := c.Stats()
		st.Chat = &ChatStatus{Viewers: cs.Viewers, LocalViewers: cs.LocalViewers, Moderators: cs.Moderators,
			Messages: cs.Messages, Reactions: cs.Reactions, NATS: cs.NATS}
	}
	return st
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.Status())
}
