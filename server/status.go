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
	// WebRTC describes WebRTC playback (nil when WebRTC is off).
	WebRTC *WebRTCStatus `json:"webrtc"`
}

// WebRTCStatus is the WebRTC part of /api/status.
type WebRTCStatus struct {
	// Viewers lists the WebRTC viewers connected.
	Viewers []WebRTCViewerStatus `json:"viewers"`
	// MaxViewers is the cap (--webrtc-max-viewers).
	MaxViewers int `json:"max_viewers"`
	// Refused counts offers refused for the cap; Reaped sessions closed
	// because their viewer vanished.
	Refused uint64 `json:"refused"`
	Reaped  uint64 `json:"reaped"`
	// NACKs, PLIs and Switches total every viewer's since the server
	// started.
	NACKs    uint64 `json:"nacks"`
	PLIs     uint64 `json:"plis"`
	Switches uint64 `json:"switches"`
}

// WebRTCViewerStatus describes one WebRTC viewer.
type WebRTCViewerStatus struct {
	ID           string  `json:"id"`
	Rung         string  `json:"rung"`
	Seconds      float64 `json:"seconds"`
	Frames       uint64  `json:"frames"`
	Bytes        uint64  `json:"bytes"`
	PacketsLost  int64   `json:"packets_lost"`
	FractionLost float64 `json:"fraction_lost"`
	NACKs        uint64  `json:"nacks"`
	PLIs         uint64  `json:"plis"`
	REMB         int     `json:"remb"`
	Switches     uint64  `json:"switches"`
}

// ChatStatus is the chat part of /api/status.
type ChatStatus struct {
	// Viewers are the named chat connections, moderators not counted.
	Viewers    int    `json:"viewers"`
	Moderators int    `json:"moderators"`
	Messages   uint64 `json:"messages"`
	Reactions  uint64 `json:"reactions"`
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
		st.Chat = &ChatStatus{Viewers: cs.Viewers, Moderators: cs.Moderators, Messages: cs.Messages, Reactions: cs.Reactions}
	}
	st.WebRTC = s.webrtcStatus()
	return st
}

// webrtcStatus returns the WebRTC part of the status (nil when off).
func (s *Server) webrtcStatus() *WebRTCStatus {
	if s.whep == nil {
		return nil
	}
	ws := s.whep.Stats()
	out := &WebRTCStatus{Viewers: []WebRTCViewerStatus{}, MaxViewers: s.WebRTCMaxViewers,
		Refused: ws.Endpoint.Refused, Reaped: ws.Endpoint.Reaped, NACKs: ws.NACKs, PLIs: ws.PLIs, Switches: ws.Switches}
	for _, v := range ws.Viewers {
		out.Viewers = append(out.Viewers, WebRTCViewerStatus{ID: v.ID[:8], Rung: v.Rung,
			Seconds: time.Since(v.Since).Seconds(), Frames: v.Frames, Bytes: v.Bytes, PacketsLost: v.PacketsLost,
			FractionLost: v.FractionLost, NACKs: v.NACKs, PLIs: v.PLIs, REMB: v.REMB, Switches: v.Switches})
	}
	return out
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.Status())
}
