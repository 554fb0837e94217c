package server

import (
	"log/slog"
	"sync"
	"time"

	"golive/media"
	"golive/server/hls"
	"golive/server/ladder"
)

// audioBitrateGuess is added to each variant's bandwidth for the shared
// AAC rendition when the publisher does not announce its bitrate.
const audioBitrateGuess = 128_000

// rungInfo describes a rung of the current (or last) stream.
type rungInfo struct {
	Name          string
	Width, Height int
	FPS           float64
	Bitrate       int
	Source        bool
	rung          *hls.Rung
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
	log     *slog.Logger

	mu        sync.RWMutex
	rungs     map[string]*hls.Rung // by name, kept across streams so URLs stay
	current   []rungInfo           // top first; the last stream's after it ended
	audioFrom string
	live      bool
	since     time.Time
	video     *media.CodecParams
	audio     *media.CodecParams
	dropped   []string
	lad       *ladder.Ladder
	lower     []*hls.Rung
	top       *hls.Rung

	rate bitrateMeter
}

func (p *pipeline) rung(name string) *hls.Rung {
	r, ok := p.rungs[name]
	if !ok {
		r = &hls.Rung{Name: name, SegmentDuration: p.segment, PartDuration: p.part,
			Logger: p.log.With("rung", name)}
		p.rungs[name] = r
	}
	return r
}

// StartStream starts the top rung and the ladder for a new stream.
func (p *pipeline) StartStream(video, audio *media.CodecParams) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	top := p.rung(ladder.SourceName(video.Height))
	if err := top.Start(video, audio); err != nil {
		return err
	}
	br := video.Bitrate
	infos := []rungInfo{{Name: top.Name, Width: video.Width, Height: video.Height, FPS: video.FPS,
		Bitrate: br, Source: true, rung: top}}
	var lower []*hls.Rung
	var lad *ladder.Ladder
	if plan := ladder.Plan(p.specs, video.Width, video.Height); len(plan) > 0 {
		lad = &ladder.Ladder{Source: *video, Rungs: plan, Encoder: p.encoder,
			Preset: p.preset, MaxLag: p.maxLag, Logger: p.log.With("stage", "ladder")}
		lad.Output = func(i int, pkt *media.Packet) { _ = lower[i].WriteVideo(pkt) }
		lad.OnDrop = p.onDrop
		if err := lad.Initialize(); err != nil {
			p.log.Error("ladder unavailable: serving the source rung only", "err", err)
			lad = nil
		} else {
			p.encoder = lad.EncoderName() // probe hardware once per server, not per stream
			for i, r := range plan {
				params := lad.Params(i)
				hr := p.rung(r.Name)
				if err := hr.Start(&params, nil); err != nil {
					p.log.Error("rung unavailable", "rung", r.Name, "err", err)
				}
				lower = append(lower, hr)
				infos = append(infos, rungInfo{Name: r.Name, Width: r.Width, Height: r.Height,
					FPS: video.FPS, Bitrate: r.Bitrate, rung: hr})
			}
		}
	}
	p.top, p.lower, p.lad = top, lower, lad
	p.current, p.dropped = infos, nil
	p.audioFrom = ""
	if audio != nil {
		p.audioFrom = top.Name
	}
	p.live, p.since = true, time.Now()
	p.video, p.audio = video, audio
	p.rate.reset()
	return nil
}

// onDrop takes a dropped rung out of the multivariant playlist and ends
// its playlists. It runs on the ladder's decode goroutine.
func (p *pipeline) onDrop(i int) {
	p.mu.Lock()
	var r *hls.Rung
	if i < len(p.lower) {
		r = p.lower[i]
		p.dropped = append(p.dropped, r.Name)
		kept := p.current[:0:0]
		for _, ri := range p.current {
			if ri.rung != r {
				kept = append(kept, ri)
			}
		}
		p.current = kept
	}
	p.mu.Unlock()
	if r != nil {
		go r.Stop() // its worker may still be finishing a frame
	}
}

// WritePacket passes a packet to the top rung and the ladder.
func (p *pipeline) WritePacket(pkt *media.Packet) {
	p.rate.add(len(pkt.Data))
	// top, lad and lower change only in StartStream/StopStream, which the
	// ingest never runs concurrently with WritePacket.
	if pkt.Codec == media.CodecAAC {
		_ = p.top.WriteAudio(pkt)
		return
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
	var wg sync.WaitGroup
	for _, r := range append([]*hls.Rung{top}, lower...) {
		if r == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); r.Stop() }()
	}
	wg.Wait()
	p.mu.Lock()
	p.live = false
	p.mu.Unlock()
}

// close frees every rung.
func (p *pipeline) close() {
	p.mu.Lock()
	lad := p.lad
	p.lad = nil
	rungs := p.rungs
	p.mu.Unlock()
	if lad != nil {
		lad.Close()
	}
	for _, r := range rungs {
		r.Close()
	}
}

// multivariant returns the playlist of the current (or last) stream, or
// nil when there never was one.
func (p *pipeline) multivariant() []byte {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.current) == 0 {
		return nil
	}
	audioBR := 0
	if p.audioFrom != "" {
		audioBR = audioBitrateGuess
	}
	srcBR := p.rate.bitsPerSecond()
	vs := make([]hls.Variant, 0, len(p.current))
	for _, ri := range p.current {
		br := ri.Bitrate
		if ri.Source {
			// The publisher's declared rate (onMetaData videodatarate) is
			// its ceiling; a measured rate above it wins.
			if srcBR > 0 {
				br = max(br, srcBR-audioBR, srcBR/2)
			}
			if br == 0 {
				br = 4_000_000
			}
		}
		vs = append(vs, hls.Variant{
			Name: ri.Name, Width: ri.Width, Height: ri.Height, FPS: ri.FPS,
			Bandwidth:        (br + audioBR) * 6 / 5,
			AverageBandwidth: br + audioBR,
			Codecs:           ri.rung.Codecs(),
		})
		if len(vs[len(vs)-1].Codecs) == 1 && p.audioFrom != "" {
			if top := p.rungs[p.audioFrom].Codecs(); len(top) > 1 {
				vs[len(vs)-1].Codecs = append(vs[len(vs)-1].Codecs, top[1])
			}
		}
	}
	return hls.MultivariantPlaylist(vs, p.audioFrom)
}

// lookup returns the rung serving name, if any.
func (p *pipeline) lookup(name string) (*hls.Rung, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	r, ok := p.rungs[name]
	return r, ok
}
