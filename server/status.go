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
	// Manifests lists the stream's manifests over the same segments:
	// "hls" (the multivariant playlist) and "dash" (the MPD).
	Manifests map[string]string `json:"manifests"`
	// Storage describes the pushes to object storage (nil without --s3).
	Storage *StorageStatus `json:"storage,omitempty"`
	// WebRTC describes WebRTC playback (nil when WebRTC is off).
	WebRTC *WebRTCStatus `json:"webrtc"`
}

// StorageStatus is the object-storage part of /api/status.
type StorageStatus struct {
	// Location is s3://BUCKET/PREFIX.
	Location string `json:"location"`
	// State is "connecting", "up" or "down".
	State     string `json:"state"`
	LastError string `json:"last_error,omitempty"`
	// Queue counts the uploads and deletes waiting; QueueBytes the
	// segment bytes among them.
	Queue      int `json:"queue"`
	QueueBytes int `json:"queue_bytes"`
	// Uploaded counts objects written, Segments the segments among them.
	Uploaded uint64 `json:"uploaded"`
	Segments uint64 `json:"segments"`
	// Failures counts failed requests (each retried).
	Failures uint64 `json:"failures"`
	// LostSegments counts segments given up (marked as gaps).
	LostSegments uint64 `json:"lost_segments"`
	// Deleted counts objects deleted as they left the live window.
	Deleted uint64 `json:"deleted"`
	// UploadLagSeconds is the last segment's time from complete at the
	// origin to readable in the bucket; UploadLagMedianSeconds the median
	// of the last 64.
	UploadLagSeconds       float64 `json:"upload_lag_seconds"`
	UploadLagMedianSeconds float64 `json:"upload_lag_median_seconds"`
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
	// Protocol is how the publisher publishes: "rtmp" or "whip".
	Protocol string `json:"protocol,omitempty"`
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
		Manifests:     map[string]string{"hls": "/hls/index.m3u8", "dash": "/dash/manifest.mpd"},
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
			in.Publisher, in.Protocol = is.Publisher, is.Protocol
		}
		st.Ingest = in
	}
	if s.Storage != nil {
		ss := s.Storage.Stats()
		st.Storage = &StorageStatus{Location: ss.Location, State: ss.State, LastError: ss.LastError,
			Queue: ss.Queue, QueueBytes: ss.QueueBytes, Uploaded: ss.Uploaded, Segments: ss.Segments,
			Failures: ss.Failures, LostSegments: ss.Lost, Deleted: ss.Deleted,
			UploadLagSeconds: ss.LastLag.Seconds(), UploadLagMedianSeconds: ss.MedianLag.Seconds()}
	}
	if c, ok := s.Chat.(interface{ Stats() chat.HubStats }); ok {
		cs := c.Stats()
		st.Chat = &ChatStatus{Viewers: cs.Viewers, LocalViewers: cs.LocalViewers, Moderators: cs.Moderators,
			Messages: cs.Messages, Reactions: cs.Reactions, NATS: cs.NATS}
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
