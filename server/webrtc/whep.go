package webrtc

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	pion "github.com/pion/webrtc/v4"

	"golive/media"
)

// AudioTranscoder turns one stream's audio packets into Opus packets (48
// kHz, 20 ms), for every WebRTC viewer at once. One goroutine.
type AudioTranscoder interface {
	// Transcode takes one packet and returns the Opus packets ready.
	Transcode(pkt *media.Packet) ([]*media.Packet, error)
	// Close frees the transcoder.
	Close()
}

// WHEP is WebRTC playback (the WHEP draft on RFC 9725's exchange): POST an
// SDP offer to Path (default "/whep", ?rung=NAME to pick a rung) and the
// viewer is sent the live stream's H.264 as the pipeline made it — no
// video re-encode — with the audio transcoded to Opus once per stream for
// every viewer. A viewer joining mid-GOP gets a picture at once where a
// ladder rung can force a keyframe, else at the next keyframe; its
// receiver's feedback (loss in receiver reports, REMB) moves it down the
// rungs and, after a clean stretch, back up. No media goes from one viewer
// to another. Set the fields, Initialize, feed it with StartStream,
// WriteVideo, WriteAudio and StopStream (the pipeline's goroutines), serve
// it over HTTP, and Close.
type WHEP struct {
	// Path is the endpoint's URL path (default "/whep").
	Path string
	// Transport makes the peer connections (required).
	Transport *Transport
	// MaxViewers caps the viewers (default 100); beyond, 503.
	MaxViewers int
	// NewTranscoder makes a stream's audio transcoder to Opus; nil (or an
	// error) sends no audio.
	NewTranscoder func(audio media.CodecParams) (AudioTranscoder, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the stage's logs (default slog.Default()).
	Logger *slog.Logger

	endpoint *Endpoint
	stream   atomic.Pointer[liveStream]
	audio    *audioFeed // the current stream's, ingest goroutine only
	audioErr atomic.Int64

	mu      sync.Mutex
	viewers map[string]*viewer
	ended   ViewerStats // the counters of viewers gone
	closed  bool
}

// WHEPStats is a snapshot of WebRTC playback.
type WHEPStats struct {
	// Viewers lists the viewers connected.
	Viewers []ViewerStats
	// Endpoint gives the session counts (refused for the cap, reaped …).
	Endpoint EndpointStats
	// NACKs, PLIs and Switches total every viewer's, gone ones included;
	// AudioErrors counts packets the Opus transcoder failed on.
	NACKs, PLIs, Switches, AudioErrors uint64
}

// Initialize checks the configuration and makes the endpoint.
func (w *WHEP) Initialize() error {
	if w.Path == "" {
		w.Path = "/whep"
	}
	if w.MaxViewers == 0 {
		w.MaxViewers = 100
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	w.viewers = map[string]*viewer{}
	w.endpoint = &Endpoint{Path: w.Path, Transport: w.Transport, MaxSessions: w.MaxViewers,
		Setup: w.setup, Logger: w.Logger}
	if err := w.endpoint.Initialize(); err != nil {
		return fmt.Errorf("whep: %w", err)
	}
	return nil
}

func (w *WHEP) now() time.Time { return w.Now() }

// ServeHTTP answers the WHEP requests.
func (w *WHEP) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.endpoint.ServeHTTP(rw, r) }

// setup makes a viewer for a new session: 404 when no stream is live or
// the rung is unknown, 400 when the offer has no H.264 the server can send.
func (w *WHEP) setup(r *http.Request, s *Session) (Media, error) {
	st := w.stream.Load()
	if st == nil {
		return nil, fmt.Errorf("%w: no stream is live", ErrNotFound)
	}
	want := r.URL.Query().Get("rung")
	if want != "" && st.feed(want) == nil {
		return nil, fmt.Errorf("%w: no rung %q", ErrNotFound, want)
	}
	h264 := false
	for _, md := range s.Offer.Media("video") {
		h264 = h264 || HasH264(md)
	}
	if !h264 {
		return nil, fmt.Errorf("%w: the offer has no H.264 (packetization-mode 1) video to receive", ErrBadOffer)
	}
	opus := false
	for _, md := range s.Offer.Media("audio") {
		opus = opus || HasOpus(md)
	}
	v := newViewer(w, s.ID, r.RemoteAddr, want)
	top := st.feeds[0]
	if f := st.feed(want); f != nil {
		top = f
	}
	var err error
	v.video, err = pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: h264Fmtp + closestProfile(top.pk.sps)}, "video", "golive")
	if err != nil {
		return nil, err
	}
	vs, err := s.PC.AddTrack(v.video)
	if err != nil {
		return nil, fmt.Errorf("whep: %w", err)
	}
	if enc := vs.GetParameters().Encodings; len(enc) > 0 {
		v.vSSRC.Store(uint32(enc[0].SSRC))
	}
	senders := []*pion.RTPSender{vs}
	if opus {
		v.audio, err = pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000,
			Channels: 2, SDPFmtpLine: opusFmtp}, "audio", "golive")
		if err != nil {
			return nil, err
		}
		as, err := s.PC.AddTrack(v.audio)
		if err != nil {
			return nil, fmt.Errorf("whep: %w", err)
		}
		senders = append(senders, as)
	}
	for _, sender := range senders {
		go v.readFeedback(sender) // ends when the peer connection closes
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, ErrClosed
	}
	w.viewers[v.id] = v
	return v, nil
}

// closestProfile returns the registered profile-level-id nearest an SPS's
// (a browser decodes every profile; the answer names the one sent).
func closestProfile(sps []byte) string {
	id := profileLevelID(sps)
	switch {
	case len(id) < 2:
		return h264Profiles[0].id
	case id[:2] == "42" && len(sps) > 2 && sps[2]&0x40 != 0:
		return "42e01f"
	case id[:2] == "42":
		return "42001f"
	case id[:2] == "4d":
		return "4d001f"
	}
	return "64001f"
}

// removeViewer forgets a viewer that closed, keeping its counters.
func (w *WHEP) removeViewer(v *viewer) {
	st := v.Stats()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.viewers[v.id]; !ok {
		return
	}
	delete(w.viewers, v.id)
	w.ended.NACKs += st.NACKs
	w.ended.PLIs += st.PLIs
	w.ended.Switches += st.Switches
}

// StartStream starts a new stream's rungs (the source first) and, with
// audio, its Opus transcoder. Viewers already connected move to it.
func (w *WHEP) StartStream(rungs []Rung, audio *media.CodecParams) error {
	if len(rungs) == 0 {
		return fmt.Errorf("whep: %w: no rung", ErrBadConfig)
	}
	st := &liveStream{audio: audio}
	for i, r := range rungs {
		pk, err := newH264Packetizer(r.Params.Config)
		if err != nil {
			return fmt.Errorf("whep: rung %s: %w", r.Name, err)
		}
		st.feeds = append(st.feeds, &rungFeed{Rung: r, index: i, pk: pk})
	}
	w.stopAudio()
	if audio != nil && w.NewTranscoder != nil {
		tc, err := w.NewTranscoder(*audio)
		if err != nil {
			w.Logger.Warn("whep: no audio for WebRTC viewers", "err", err)
		} else {
			w.audio = newAudioFeed(w, tc)
		}
	}
	w.stream.Store(st)
	w.notify(st)
	return nil
}

// notify moves every viewer to a stream (or its new rung set).
func (w *WHEP) notify(st *liveStream) {
	w.mu.Lock()
	vs := make([]*viewer, 0, len(w.viewers))
	for _, v := range w.viewers {
		vs = append(vs, v)
	}
	w.mu.Unlock()
	for _, v := range vs {
		if v.started.Load() {
			v.control(control{stream: st, loss: -1})
		}
	}
}

// WriteVideo hands rung i's packet to its viewers. The source's comes
// from the ingest goroutine, each ladder rung's from its own.
func (w *WHEP) WriteVideo(i int, pkt *media.Packet) {
	st := w.stream.Load()
	if st == nil || i < 0 || i >= len(st.feeds) {
		return
	}
	f := st.feeds[i]
	f.write(pkt, func(err error) { w.Logger.Warn("whep: packet not sent", "rung", f.Name, "err", err) })
}

// WriteAudio hands the stream's audio packet to the Opus transcoder
// (ingest goroutine).
func (w *WHEP) WriteAudio(pkt *media.Packet) {
	if w.audio != nil {
		w.audio.write(pkt)
	}
}

// DropRung takes rung i out of what viewers may be sent (the ladder
// dropped it); its viewers move to another.
func (w *WHEP) DropRung(i int) {
	st := w.stream.Load()
	if st == nil || i < 0 || i >= len(st.feeds) || st.feeds[i].dropped.Swap(true) {
		return
	}
	w.notify(st)
}

// StopStream ends the stream: viewers stay connected, waiting for the next.
func (w *WHEP) StopStream() {
	w.stream.Store(nil)
	w.stopAudio()
}

func (w *WHEP) stopAudio() {
	if w.audio != nil {
		w.audio.close()
		w.audio = nil
	}
}

// broadcastAudio sends an Opus packet to every viewer.
func (w *WHEP) broadcastAudio(p *media.Packet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.viewers {
		if v.audio != nil && v.started.Load() {
			v.push(item{audio: p})
		}
	}
}

// Stats returns a snapshot of the viewers and counters.
func (w *WHEP) Stats() WHEPStats {
	w.mu.Lock()
	vs := make([]*viewer, 0, len(w.viewers))
	for _, v := range w.viewers {
		vs = append(vs, v)
	}
	st := WHEPStats{NACKs: w.ended.NACKs, PLIs: w.ended.PLIs, Switches: w.ended.Switches}
	w.mu.Unlock()
	for _, v := range vs {
		vst := v.Stats()
		if vst.Since.IsZero() {
			continue // still connecting
		}
		st.Viewers = append(st.Viewers, vst)
		st.NACKs += vst.NACKs
		st.PLIs += vst.PLIs
		st.Switches += vst.Switches
	}
	st.AudioErrors = uint64(w.audioErr.Load())
	st.Endpoint = w.endpoint.Stats()
	return st
}

// Close ends every session and the audio transcoder. It is idempotent;
// the pipeline must have stopped writing.
func (w *WHEP) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	if w.endpoint != nil {
		w.endpoint.Close()
	}
	w.stopAudio()
}
