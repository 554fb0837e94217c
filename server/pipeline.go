package server

import (
	"log/slog"
	"sync"
	"time"

	"golive/media"
	"golive/server/hls"
	"golive/server/ladder"
	"golive/server/webrtc"
)

// rungInfo describes a rung of the current (or last) stream.
type rungInfo struct {
	Name          string
	Width, Height int
	FPS           float64
	Bitrate       int
	Source        bool
	variant       *hls.Variant
}

// pipeline is the ingest's Sink: it passes the source to the top rung,
// feeds the ladder, and keeps what the HTTP side shows. The ingest calls
// StartStream, WritePacket and StopStream from one goroutine at a time.
type pipeline struct {
	specs   []ladder.Spec
	segment time.Duration
	part    time.Duration
	encoder string
	preset  string
	maxLag  int
	sink    hls.SegmentSink // told about every variant's segments; nil: none
	log     *slog.Logger

	mu        sync.RWMutex
	variants  map[string]*hls.Variant // by name, kept across streams so URLs stay
	current   []rungInfo              // top first; the last stream's after it ended
	audioFrom *hls.Variant            // the variant whose audio every variant uses; nil without audio
	live      bool
	since     time.Time
	video     *media.CodecParams
	audio     *media.CodecParams
	dropped   []string
	lad       *ladder.Ladder
	lower     []*hls.Variant
	top       *hls.Variant

	rate bitrateMeter

	rtc *webrtc.WHEP // WebRTC playback; nil when WebRTC is off

	// aac transcodes audio that is not AAC (a WHIP publisher's Opus) for
	// LL-HLS; nil otherwise. Ingest goroutine only.
	aac *aacAudio
}

// variant returns the variant serving rung name, made on first use.
func (p *pipeline) variant(name string) (*hls.Variant, error) {
	if v, ok := p.variants[name]; ok {
		return v, nil
	}
	v := &hls.Variant{Name: name, SegmentDuration: p.segment, PartDuration: p.part,
		Sink: p.sink, Logger: p.log.With("rung", name)}
	if err := v.Initialize(); err != nil {
		return nil, err
	}
	p.variants[name] = v
	return v, nil
}

// StartStream starts the top rung and the ladder for a new stream.
func (p *pipeline) StartStream(video, audio *media.CodecParams) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	top, err := p.variant(ladder.SourceName(video.Width, video.Height))
	if err != nil {
		return err
	}
	plan := ladder.Plan(p.specs, video.Width, video.Height)
	planned := make([]*hls.Variant, len(plan))
	for i, r := range plan {
		if planned[i], err = p.variant(r.Name); err != nil {
			return err
		}
	}
	hlsAudio := p.startAAC(audio)
	if err := top.Start(video, hlsAudio); err != nil {
		p.stopAAC()
		return err
	}
	br := video.Bitrate
	infos := []rungInfo{{Name: top.Name, Width: video.Width, Height: video.Height, FPS: video.FPS,
		Bitrate: br, Source: true, variant: top}}
	var lower []*hls.Variant
	var lad *ladder.Ladder
	if len(plan) > 0 {
		lad = &ladder.Ladder{Source: *video, Rungs: plan, Encoder: p.encoder,
			Preset: p.preset, MaxLag: p.maxLag, Logger: p.log.With("stage", "ladder"),
			KeyframeWindow: p.segment}
		lad.Output = func(i int, pkt *media.Packet) {
			if p.rtc != nil {
				p.rtc.WriteVideo(i+1, pkt)
			}
			_ = lower[i].WriteVideo(pkt)
		}
		lad.OnDrop = p.onDrop
		if err := lad.Initialize(); err != nil {
			p.log.Error("ladder unavailable: serving the source rung only", "err", err)
			lad = nil
		} else {
			p.encoder = lad.EncoderName() // probe hardware once per server, not per stream
			lower = planned
			for i, r := range plan {
				params := lad.Params(i)
				if err := lower[i].Start(&params, nil); err != nil {
					p.log.Error("rung unavailable", "rung", r.Name, "err", err)
				}
				infos = append(infos, rungInfo{Name: r.Name, Width: r.Width, Height: r.Height,
					FPS: video.FPS, Bitrate: r.Bitrate, variant: lower[i]})
			}
		}
	}
	p.top, p.lower, p.lad = top, lower, lad
	p.current, p.dropped = infos, nil
	p.audioFrom = nil
	if hlsAudio != nil {
		p.audioFrom = top
	}
	p.live, p.since = true, time.Now()
	p.video, p.audio = video, audio
	p.rate.reset()
	p.startWebRTC(video, audio, plan, lad)
	return nil
}

// startWebRTC gives WebRTC playback the new stream's rungs: the source
// and the ladder's, which can force keyframes.
func (p *pipeline) startWebRTC(video, audio *media.CodecParams, plan []ladder.Rung, lad *ladder.Ladder) {
	if p.rtc == nil {
		return
	}
	srcRate := video.Bitrate
	if srcRate <= 0 && len(plan) > 0 {
		srcRate = 2 * plan[0].Bitrate // unknown: above the first rung
	} else if srcRate <= 0 {
		srcRate = 3_000_000
	}
	rungs := []webrtc.Rung{{Name: ladder.SourceName(video.Width, video.Height), Params: *video, Bitrate: srcRate}}
	if lad != nil {
		for i, r := range plan {
			rungs = append(rungs, webrtc.Rung{Name: r.Name, Params: lad.Params(i), Bitrate: r.Bitrate,
				ForceKeyframe: func() bool { return lad.ForceKeyframe(i) }})
		}
	}
	if err := p.rtc.StartStream(rungs, audio); err != nil {
		p.log.Error("WebRTC playback unavailable for this stream", "err", err)
	}
}

// onDrop takes a dropped rung out of the multivariant playlist and ends
// its playlists. It runs on the ladder's decode goroutine.
func (p *pipeline) onDrop(i int) {
	p.mu.Lock()
	var v *hls.Variant
	if p.rtc != nil {
		p.rtc.DropRung(i + 1)
	}
	if i < len(p.lower) {
		v = p.lower[i]
		p.dropped = append(p.dropped, v.Name)
		kept := p.current[:0:0]
		for _, ri := range p.current {
			if ri.variant != v {
				kept = append(kept, ri)
			}
		}
		p.current = kept
	}
	p.mu.Unlock()
	if v != nil {
		go v.Stop() // its worker may still be finishing a frame
	}
}

// WritePacket passes a packet to the top rung and the ladder.
func (p *pipeline) WritePacket(pkt *media.Packet) {
	p.rate.add(len(pkt.Data))
	// top, lad and lower change only in StartStream/StopStream, which the
	// ingest never runs concurrently with WritePacket.
	if !pkt.Codec.IsVideo() {
		if p.rtc != nil {
			p.rtc.WriteAudio(pkt)
		}
		p.writeHLSAudio(pkt)
		return
	}
	if p.rtc != nil {
		p.rtc.WriteVideo(0, pkt)
	}
	_ = p.top.WriteVideo(pkt)
	if p.lad != nil {
		_ = p.lad.WriteVideo(pkt)
	}
}

// StopStream ends every rung's playlists.
func (p *pipeline) StopStream() {
	p.mu.Lock()
	lad, top, lower := p.lad, p.top, p.lower
	p.lad = nil
	p.mu.Unlock()
	if lad != nil {
		lad.Close()
	}
	if p.rtc != nil {
		p.rtc.StopStream()
	}
	defer p.stopAAC()
	var wg sync.WaitGroup
	for _, v := range append([]*hls.Variant{top}, lower...) {
		if v == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); v.Stop() }()
	}
	wg.Wait()
	p.mu.Lock()
	p.live = false
	p.mu.Unlock()
}

// close frees every variant.
func (p *pipeline) close() {
	p.mu.Lock()
	lad := p.lad
	p.lad = nil
	variants := p.variants
	p.mu.Unlock()
	if lad != nil {
		lad.Close()
	}
	for _, v := range variants {
		v.Close()
	}
}

// multivariant returns the playlist of the current (or last) stream, or
// nil when there never was one.
func (p *pipeline) multivariant() []byte {
	p.mu.RLock()
	vs := make([]*hls.Variant, 0, len(p.current))
	for _, ri := range p.current {
		vs = append(vs, ri.variant)
	}
	audio := p.audioFrom
	p.mu.RUnlock()
	if len(vs) == 0 {
		return nil
	}
	pl, err := hls.MultivariantPlaylist(vs, audio)
	if err != nil {
		p.log.Error("multivariant playlist", "err", err)
		return nil
	}
	return pl
}

// isLive reports whether a stream is live.
func (p *pipeline) isLive() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.live
}

// rungNames returns the names of the current (or last) stream's rungs,
// best first, and whether it had audio.
func (p *pipeline) rungNames() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	names := make([]string, 0, len(p.current))
	for _, ri := range p.current {
		names = append(names, ri.Name)
	}
	return names
}

// lookup returns the variant serving rung name, if any.
func (p *pipeline) lookup(name string) (*hls.Variant, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	v, ok := p.variants[name]
	return v, ok
}
