package encoder

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// Defaults of the AAC encoder.
const (
	DefaultAudioSampleRate = 48000
	DefaultAudioChannels   = 2
	DefaultAudioBitrate    = 128000
)

// resyncThreshold is how far an input frame's PTS may stray from the
// timeline implied by the samples already received before the output
// timeline is re-anchored on it (a gap or a clock jump in capture).
const resyncThreshold = 200 * time.Millisecond

// AAC encodes interleaved s16 PCM at any rate and channel count into
// AAC-LC with FFmpeg's native "aac" encoder, resampling to SampleRate and
// Channels (planar float) and buffering to the encoder's 1024-sample
// frames. Packet timestamps follow the input: the first packet carries
// the first frame's PTS and each next one 1024 samples more (the
// encoder's priming delay is not subtracted), re-anchored when the input
// jumps by more than 200 ms. Encode, Flush and Close belong to one
// goroutine; Stats may be called from any.
type AAC struct {
	// SampleRate is the output rate in Hz. Default 48000.
	SampleRate int
	// Channels is the output channel count, 1 or 2. Default 2.
	Channels int
	// Bitrate is the target in bits/s. Default 128000.
	Bitrate int
	// Logger receives the stage's logs. Default slog.Default().
	Logger *slog.Logger

	mu        sync.Mutex
	cc        *astiav.CodecContext
	frame     *astiav.Frame
	pkt       *astiav.Packet
	rs        *resampler
	frameSize int
	params    media.CodecParams
	anchor    time.Duration // PTS of output sample 0
	anchored  bool
	inSamples int64 // input samples (at rs.inRate) since the anchor
	inBase    int64 // output samples queued when the anchor's input began
	sent      int64 // output samples handed to the encoder
	emitted   int64 // output samples covered by returned packets
	lastPTS   time.Duration
	havePTS   bool
	flushed   bool
	closed    bool
	log       *slog.Logger

	statsMu sync.Mutex
	stats   AACStats
}

// AACStats is a snapshot of an AAC encoder's counters.
type AACStats struct {
	// FramesIn counts input frames accepted; PacketsOut packets produced.
	FramesIn, PacketsOut int64
	// Bytes is the total size of produced packets.
	Bytes int64
	// Skipped counts input frames refused.
	Skipped int64
	// Resyncs counts timeline re-anchorings after input gaps or jumps.
	Resyncs int64
	// InputRate and InputChannels describe the last input format.
	InputRate, InputChannels int
}

// Initialize validates the configuration and opens the encoder.
func (a *AAC) Initialize() error {
	if a.cc != nil || a.closed {
		return fmt.Errorf("aac initialize: %w: already initialized or closed", ErrBadConfig)
	}
	if a.SampleRate == 0 {
		a.SampleRate = DefaultAudioSampleRate
	}
	if a.Channels == 0 {
		a.Channels = DefaultAudioChannels
	}
	if a.Bitrate == 0 {
		a.Bitrate = DefaultAudioBitrate
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	a.log = a.Logger.With("codec", "aac")
	switch {
	case a.SampleRate < 8000 || a.SampleRate > 96000:
		return fmt.Errorf("aac initialize: %w: sample rate %d", ErrBadConfig, a.SampleRate)
	case a.Channels != 1 && a.Channels != 2:
		return fmt.Errorf("aac initialize: %w: %d channels (1 or 2)", ErrBadConfig, a.Channels)
	case a.Bitrate < 0:
		return fmt.Errorf("aac initialize: %w: bitrate %d", ErrBadConfig, a.Bitrate)
	}
	if err := a.open(); err != nil {
		return fmt.Errorf("aac initialize: %w", err)
	}
	a.log.Info("aac encoder opened", "rate", a.SampleRate, "channels", a.Channels, "bitrate", a.Bitrate)
	return nil
}

func (a *AAC) open() (err error) {
	codec := astiav.FindEncoderByName("aac")
	if codec == nil {
		return fmt.Errorf("%w: aac", ErrEncoderNotFound)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return fmt.Errorf("%w: avcodec_alloc_context3 failed", ErrOpen)
	}
	defer func() {
		if err != nil {
			cc.Free()
		}
	}()
	layout := astiav.ChannelLayoutStereo
	if a.Channels == 1 {
		layout = astiav.ChannelLayoutMono
	}
	cc.SetSampleFormat(astiav.SampleFormatFltp)
	cc.SetSampleRate(a.SampleRate)
	cc.SetChannelLayout(layout)
	cc.SetBitRate(int64(a.Bitrate))
	cc.SetTimeBase(astiav.NewRational(1, a.SampleRate))
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	dict := astiav.NewDictionary()
	defer dict.Free()
	if err := dict.Set("profile", "aac_low", 0); err != nil {
		return fmt.Errorf("%w: option: %w", ErrOpen, err)
	}
	if err := cc.Open(codec, dict); err != nil {
		return fmt.Errorf("%w: avcodec_open2: %w", ErrOpen, err)
	}
	config := cc.ExtraData()
	if len(config) < 2 {
		return fmt.Errorf("%w: no AudioSpecificConfig", ErrOpen)
	}
	frameSize := cc.FrameSize()
	if frameSize <= 0 {
		frameSize = 1024
	}
	frame := astiav.AllocFrame()
	if frame == nil {
		return fmt.Errorf("%w: av_frame_alloc failed", ErrOpen)
	}
	defer func() {
		if err != nil {
			frame.Free()
		}
	}()
	frame.SetSampleFormat(astiav.SampleFormatFltp)
	frame.SetChannelLayout(layout)
	frame.SetSampleRate(a.SampleRate)
	frame.SetNbSamples(frameSize)
	if err := frame.AllocBuffer(0); err != nil {
		return fmt.Errorf("%w: av_frame_get_buffer: %w", ErrOpen, err)
	}
	rs, err := newResampler(a.SampleRate, a.Channels)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOpen, err)
	}
	pkt := astiav.AllocPacket()
	if pkt == nil {
		rs.close()
		return fmt.Errorf("%w: av_packet_alloc failed", ErrOpen)
	}
	a.cc, a.frame, a.pkt, a.rs, a.frameSize = cc, frame, pkt, rs, frameSize
	a.params = media.CodecParams{
		Codec: media.CodecAAC, Config: config, Bitrate: a.Bitrate,
		SampleRate: a.SampleRate, Channels: a.Channels,
	}
	return nil
}

// Encode queues one frame of PCM and returns the packets ready (often none
// or one: the encoder consumes 1024 samples per packet).
func (a *AAC) Encode(f *media.AudioFrame) ([]*media.Packet, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usable(); err != nil {
		a.skip()
		return nil, fmt.Errorf("aac encode: %w", err)
	}
	if err := f.Validate(); err != nil {
		a.skip()
		return nil, fmt.Errorf("aac encode: %w", err)
	}
	if err := a.ensureResampler(f); err != nil {
		a.skip()
		return nil, fmt.Errorf("aac encode: %w", err)
	}
	a.retime(f)
	if err := a.rs.push(f.Samples); err != nil {
		a.skip()
		return nil, fmt.Errorf("aac encode: %w", err)
	}
	a.inSamples += int64(f.NumSamples())
	a.statsMu.Lock()
	a.stats.FramesIn++
	a.stats.InputRate, a.stats.InputChannels = f.SampleRate, f.Channels
	a.statsMu.Unlock()
	var out []*media.Packet
	for a.rs.buffered() >= a.frameSize {
		pkts, err := a.sendFrame(a.frameSize)
		out = append(out, pkts...)
		if err != nil {
			return out, fmt.Errorf("aac encode: %w", err)
		}
	}
	return out, nil
}

// ensureResampler switches the resampler to f's input format when it
// changes, keeping already converted samples.
func (a *AAC) ensureResampler(f *media.AudioFrame) error {
	if a.rs.inRate == f.SampleRate && a.rs.inCh == f.Channels {
		return nil
	}
	first := a.rs.inRate == 0
	if err := a.rs.setInput(f.SampleRate, f.Channels); err != nil {
		return err
	}
	if !first {
		a.log.Debug("audio input format changed", "rate", f.SampleRate, "channels", f.Channels)
		a.anchored = false // re-anchor on this frame, keeping what is queued
	}
	return nil
}

// retime anchors the output timeline on f.PTS at the first frame and when
// the input strays from the timeline by more than resyncThreshold.
func (a *AAC) retime(f *media.AudioFrame) {
	queued := a.sent + int64(a.rs.buffered())
	if a.anchored {
		expected := a.anchor + media.FromTicks(a.inBase, int64(a.SampleRate)) +
			media.FromTicks(a.inSamples, int64(a.rs.inRate))
		drift := f.PTS - expected
		if drift <= resyncThreshold && drift >= -resyncThreshold {
			return
		}
		a.log.Debug("audio timeline re-anchored", "drift", drift)
		a.statsMu.Lock()
		a.stats.Resyncs++
		a.statsMu.Unlock()
	}
	// Output sample `queued` is the first sample of f.
	a.anchor = f.PTS - media.FromTicks(queued, int64(a.SampleRate))
	a.inBase, a.inSamples, a.anchored = queued, 0, true
}

// sendFrame moves n buffered samples into the encoder and collects packets.
func (a *AAC) sendFrame(n int) ([]*media.Packet, error) {
	if err := a.frame.MakeWritable(); err != nil {
		return nil, fmt.Errorf("%w: av_frame_make_writable: %w", ErrCodec, err)
	}
	got, err := a.rs.read(a.frame, n)
	if err != nil {
		return nil, err
	}
	a.frame.SetPts(a.sent)
	a.sent += int64(got)
	if err := a.cc.SendFrame(a.frame); err != nil {
		return nil, fmt.Errorf("%w: avcodec_send_frame: %w", ErrCodec, err)
	}
	a.frame.SetNbSamples(a.frameSize)
	return a.receive()
}

// receive collects the packets the encoder has ready.
func (a *AAC) receive() ([]*media.Packet, error) {
	var out []*media.Packet
	for {
		err := a.cc.ReceivePacket(a.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%w: avcodec_receive_packet: %w", ErrCodec, err)
		}
		data := a.pkt.Data()
		dur := a.pkt.Duration()
		if dur <= 0 {
			dur = int64(a.frameSize)
		}
		a.pkt.Unref()
		pts := a.anchor + media.FromTicks(a.emitted, int64(a.SampleRate))
		if a.havePTS && pts <= a.lastPTS { // a backwards re-anchor: stay monotonic
			pts = a.lastPTS + media.FromTicks(1, int64(a.SampleRate))
		}
		a.havePTS, a.lastPTS = true, pts
		a.emitted += dur
		out = append(out, &media.Packet{Codec: media.CodecAAC, Data: data, PTS: pts, DTS: pts, Keyframe: true})
		a.statsMu.Lock()
		a.stats.PacketsOut++
		a.stats.Bytes += int64(len(data))
		a.statsMu.Unlock()
	}
}

// Flush encodes the buffered remainder and drains the encoder; Encode
// fails afterwards.
func (a *AAC) Flush() ([]*media.Packet, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usable(); err != nil {
		return nil, fmt.Errorf("aac flush: %w", err)
	}
	a.flushed = true
	var out []*media.Packet
	if err := a.rs.drain(); err != nil {
		return nil, fmt.Errorf("aac flush: %w", err)
	}
	for a.rs.buffered() > 0 {
		pkts, err := a.sendFrame(min(a.frameSize, a.rs.buffered()))
		out = append(out, pkts...)
		if err != nil {
			return out, fmt.Errorf("aac flush: %w", err)
		}
	}
	if err := a.cc.SendFrame(nil); err != nil {
		return out, fmt.Errorf("aac flush: %w: %w", ErrCodec, err)
	}
	pkts, err := a.receive()
	out = append(out, pkts...)
	if err != nil {
		return out, fmt.Errorf("aac flush: %w", err)
	}
	return out, nil
}

func (a *AAC) usable() error {
	switch {
	case a.closed:
		return ErrClosed
	case a.cc == nil:
		return ErrNotInitialized
	case a.flushed:
		return fmt.Errorf("%w: flushed", ErrClosed)
	}
	return nil
}

func (a *AAC) skip() {
	a.statsMu.Lock()
	a.stats.Skipped++
	a.statsMu.Unlock()
}

// Params returns the stream's parameters; Config is the
// AudioSpecificConfig. Valid after Initialize.
func (a *AAC) Params() media.CodecParams {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.params
	p.Config = append([]byte(nil), a.params.Config...)
	return p
}

// Stats returns a snapshot of the counters.
func (a *AAC) Stats() AACStats {
	a.statsMu.Lock()
	defer a.statsMu.Unlock()
	return a.stats
}

// Close frees the encoder; it is idempotent.
func (a *AAC) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	a.rs.close()
	a.rs = nil
	if a.pkt != nil {
		a.pkt.Free()
		a.pkt = nil
	}
	if a.frame != nil {
		a.frame.Free()
		a.frame = nil
	}
	if a.cc != nil {
		a.cc.Free()
		a.cc = nil
	}
}
