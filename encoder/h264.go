package encoder

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"golive/media"
)

// videoTimeBase is the encoder's time base (90 kHz, as MPEG); packet
// timestamps are mapped back to the frames' exact time.Duration.
const videoTimeBase = 90000

// DefaultVideoBitrate is the bitrate used when H264.Bitrate is 0.
const DefaultVideoBitrate = 3_000_000

// H264 encodes YUV420P frames into H.264 (AVCC packets), preferring a
// hardware encoder when Encoder is "auto". Encode, Flush and Close belong
// to one goroutine; SetBitrate and Stats may be called from any.
type H264 struct {
	// Encoder is "auto" (default: hardware encoders in AutoOrder, then
	// libx264) or an FFmpeg encoder name such as "libx264" or "h264_nvenc".
	Encoder string
	// Width and Height are the frame size; both must be even and > 0.
	Width, Height int
	// FPS is the nominal frame rate (> 0); it sets the GOP length.
	FPS int
	// Bitrate is the target in bits/s (CBR-ish: maxrate = bitrate, 1 s
	// buffer). Default DefaultVideoBitrate.
	Bitrate int
	// KeyframeInterval is the distance between keyframes. Default 2 s.
	KeyframeInterval time.Duration
	// Preset is the libx264 preset. Default "veryfast".
	Preset string
	// Threads is the encoder's thread count; 0 keeps FFmpeg's default.
	Threads int
	// Candidates is the order "auto" tries. Default AutoOrder(runtime.GOOS).
	Candidates []string
	// Logger receives the stage's logs. Default slog.Default().
	Logger *slog.Logger

	mu       sync.Mutex // serialises Encode, Flush and Close
	cc       *astiav.CodecContext
	frame    *astiav.Frame // software frame handed to (or uploaded for) the encoder
	hwFrame  *astiav.Frame // VAAPI surface, nil otherwise
	pkt      *astiav.Packet
	set      settings
	name     string
	params   media.CodecParams
	ptsMap   map[int64]time.Duration
	lastTick int64
	lastPTS  time.Duration
	started  bool
	flushed  bool
	closed   bool
	log      *slog.Logger

	wantBitrate atomic.Int64 // set by SetBitrate, applied by Encode
	curBitrate  int

	statsMu sync.Mutex
	stats   H264Stats
}

// H264Stats is a snapshot of an H264 encoder's counters.
type H264Stats struct {
	// Encoder is the FFmpeg encoder in use and Hardware whether it is a
	// hardware one.
	Encoder  string
	Hardware bool
	// FramesIn counts frames accepted by Encode; FramesOut packets produced.
	FramesIn, FramesOut int64
	// Keyframes counts keyframe packets.
	Keyframes int64
	// Bytes is the total size of produced packets.
	Bytes int64
	// Bitrate is the target bitrate currently applied, in bits/s.
	Bitrate int
	// Skipped counts frames Encode refused (bad frame, wrong size, error).
	Skipped int64
	// Retimed counts frames whose PTS was not after the previous one and
	// was nudged forward by one tick.
	Retimed int64
	// EncodeTime is the total time spent inside Encode and Flush.
	EncodeTime time.Duration
}

// keyintFrames returns the GOP length in frames.
func (e *H264) keyintFrames() int {
	n := int(e.KeyframeInterval.Seconds()*float64(e.FPS) + 0.5)
	return max(n, 1)
}

// applyDefaults fills zero fields with their documented defaults.
func (e *H264) applyDefaults() {
	if e.Encoder == "" {
		e.Encoder = "auto"
	}
	if e.Bitrate == 0 {
		e.Bitrate = DefaultVideoBitrate
	}
	if e.KeyframeInterval == 0 {
		e.KeyframeInterval = 2 * time.Second
	}
	if e.Preset == "" {
		e.Preset = "veryfast"
	}
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
}

// validate checks the configuration.
func (e *H264) validate() error {
	switch {
	case e.Width <= 0 || e.Height <= 0 || e.Width%2 != 0 || e.Height%2 != 0:
		return fmt.Errorf("%w: size %dx%d (must be even and > 0)", ErrBadConfig, e.Width, e.Height)
	case e.Width > 8192 || e.Height > 8192:
		return fmt.Errorf("%w: size %dx%d too large", ErrBadConfig, e.Width, e.Height)
	case e.FPS <= 0 || e.FPS > 240:
		return fmt.Errorf("%w: fps %d", ErrBadConfig, e.FPS)
	case e.Bitrate < 0:
		return fmt.Errorf("%w: bitrate %d", ErrBadConfig, e.Bitrate)
	case e.KeyframeInterval < 0:
		return fmt.Errorf("%w: keyframe interval %v", ErrBadConfig, e.KeyframeInterval)
	case e.Threads < 0:
		return fmt.Errorf("%w: threads %d", ErrBadConfig, e.Threads)
	}
	return nil
}

// Initialize validates the configuration and opens the encoder. With
// "auto" it tries each candidate in order (a hardware one must first
// encode a frame at 256x144) and keeps the first that opens, logging why
// the others failed.
func (e *H264) Initialize() error {
	if e.cc != nil || e.closed {
		return fmt.Errorf("h264 initialize: %w: already initialized or closed", ErrBadConfig)
	}
	e.applyDefaults()
	if err := e.validate(); err != nil {
		return fmt.Errorf("h264 initialize: %w", err)
	}
	e.log = e.Logger.With("codec", "h264")
	candidates := []string{e.Encoder}
	if e.Encoder == "auto" {
		candidates = e.Candidates
		if len(candidates) == 0 {
			candidates = AutoOrder(runtime.GOOS)
		}
	}
	var failures []string
	var lastErr error
	for _, name := range candidates {
		var err error
		if len(candidates) > 1 && encoderSettings(name, e).Hardware {
			// A hardware encoder may open and then fail on its first frame:
			// try a small instance through one frame before trusting it.
			err = probeOne(name, e.Logger)
		}
		if err == nil {
			if err = e.open(name); err != nil {
				err = withNeeds(name, e, err)
			}
		}
		if err == nil {
			e.log.Info("h264 encoder opened", "encoder", name, "hardware", e.set.Hardware,
				"size", fmt.Sprintf("%dx%d", e.Width, e.Height), "fps", e.FPS, "bitrate", e.Bitrate,
				"skipped", strings.Join(failures, "; "))
			return nil
		}
		lastErr = err
		failures = append(failures, fmt.Sprintf("%s: %v", name, err))
		if len(candidates) > 1 {
			e.log.Info("h264 encoder unavailable, trying next", "encoder", name, "err", err)
		}
	}
	if len(candidates) == 1 {
		return fmt.Errorf("h264 initialize: %w", lastErr)
	}
	return fmt.Errorf("h264 initialize: %w: no candidate opened (%s)", ErrOpen, strings.Join(failures, "; "))
}

// withNeeds adds what a hardware encoder needs to its opening error.
func withNeeds(name string, e *H264, err error) error {
	if needs := encoderSettings(name, e).Needs; needs != "" && !errors.Is(err, ErrEncoderNotFound) {
		return fmt.Errorf("%w (needs %s)", err, needs)
	}
	return err
}

// open opens encoder name and checks it with no frame encoded; on failure
// everything allocated is freed.
func (e *H264) open(name string) (err error) {
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return fmt.Errorf("%w: %q is not in this FFmpeg build", ErrEncoderNotFound, name)
	}
	set := encoderSettings(name, e)
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return fmt.Errorf("%w: %s: avcodec_alloc_context3 failed", ErrOpen, name)
	}
	defer func() {
		if err != nil {
			cc.Free()
		}
	}()
	cc.SetWidth(e.Width)
	cc.SetHeight(e.Height)
	cc.SetTimeBase(astiav.NewRational(1, videoTimeBase))
	cc.SetFramerate(astiav.NewRational(e.FPS, 1))
	cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	cc.SetPixelFormat(set.PixFmt)
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	if set.Device != astiav.HardwareDeviceTypeNone {
		hdc, herr := astiav.CreateHardwareDeviceContext(set.Device, set.DeviceName, nil)
		if herr != nil {
			return fmt.Errorf("%w: %s: creating %s device %q: %w", ErrOpen, name, set.Device, set.DeviceName, herr)
		}
		cc.SetHardwareDeviceContext(hdc) // cc owns it from here
		if set.HWFrames {
			cc.SetPixelFormat(astiav.PixelFormatVaapi)
			if herr := attachHWFrames(cc, set.PixFmt, e.Width, e.Height); herr != nil {
				return fmt.Errorf("%w: %s: %w", ErrOpen, name, herr)
			}
		}
	}
	dict := astiav.NewDictionary()
	defer dict.Free()
	for _, kv := range set.Options {
		if derr := dict.Set(kv[0], kv[1], 0); derr != nil {
			return fmt.Errorf("%w: %s: option %s=%s: %w", ErrOpen, name, kv[0], kv[1], derr)
		}
	}
	if oerr := cc.Open(codec, dict); oerr != nil {
		return fmt.Errorf("%w: %s: avcodec_open2: %w", ErrOpen, name, oerr)
	}
	for en := dict.Get("", nil, astiav.NewDictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)); en != nil; en = dict.Get("", en, astiav.NewDictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)) {
		e.log.Warn("encoder ignored option", "encoder", name, "option", en.Key(), "value", en.Value())
	}
	config, err := avcConfigFromExtradata(cc.ExtraData())
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrOpen, name, err)
	}

	frame := astiav.AllocFrame()
	if frame == nil {
		return fmt.Errorf("%w: %s: av_frame_alloc failed", ErrOpen, name)
	}
	defer func() {
		if err != nil {
			frame.Free()
		}
	}()
	frame.SetWidth(e.Width)
	frame.SetHeight(e.Height)
	frame.SetPixelFormat(set.PixFmt)
	if ferr := frame.AllocBuffer(0); ferr != nil {
		return fmt.Errorf("%w: %s: av_frame_get_buffer: %w", ErrOpen, name, ferr)
	}
	var hwFrame *astiav.Frame
	if set.HWFrames {
		if hwFrame = astiav.AllocFrame(); hwFrame == nil {
			return fmt.Errorf("%w: %s: av_frame_alloc failed", ErrOpen, name)
		}
		defer func() {
			if err != nil {
				hwFrame.Free()
			}
		}()
	}
	pkt := astiav.AllocPacket()
	if pkt == nil {
		return fmt.Errorf("%w: %s: av_packet_alloc failed", ErrOpen, name)
	}
	if _, err = codecContextPointer(cc); err != nil {
		pkt.Free()
		return err
	}

	e.cc, e.frame, e.hwFrame, e.pkt, e.set, e.name = cc, frame, hwFrame, pkt, set, name
	e.ptsMap = make(map[int64]time.Duration)
	e.curBitrate = e.Bitrate
	e.wantBitrate.Store(int64(e.Bitrate))
	e.params = media.CodecParams{
		Codec: media.CodecH264, Config: config, Bitrate: e.Bitrate,
		Width: e.Width, Height: e.Height, FPS: float64(e.FPS),
	}
	e.statsMu.Lock()
	e.stats.Encoder, e.stats.Hardware, e.stats.Bitrate = name, set.Hardware, e.Bitrate
	e.statsMu.Unlock()
	return nil
}

// avcConfigFromExtradata turns an encoder's global header (Annex-B
// SPS/PPS, possibly with SEI, or already an avcC record) into an
// AVCDecoderConfigurationRecord.
func avcConfigFromExtradata(extra []byte) ([]byte, error) {
	if len(extra) == 0 {
		return nil, fmt.Errorf("%w: encoder produced no global header", ErrCodec)
	}
	if extra[0] == 1 { // already an AVCDecoderConfigurationRecord
		var c media.AVCConfig
		if err := c.Unmarshal(extra); err != nil {
			return nil, fmt.Errorf("%w: extradata: %w", ErrCodec, err)
		}
		return c.Marshal()
	}
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(extra); err != nil {
		return nil, fmt.Errorf("%w: extradata: %w", ErrCodec, err)
	}
	cfg := media.ParamsFromNALUs(nalus)
	out, err := cfg.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: extradata: %w", ErrCodec, err)
	}
	return out, nil
}

// Encode encodes one frame, forcing an IDR keyframe when forceKey is set,
// and returns the packets the encoder has ready (possibly none).
func (e *H264) Encode(f *media.VideoFrame, forceKey bool) ([]*media.Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	defer e.addTime(start)
	if err := e.usable(); err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	if err := f.Validate(); err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	if f.Width != e.Width || f.Height != e.Height {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w: got %dx%d, want %dx%d", ErrFrameSize, f.Width, f.Height, e.Width, e.Height)
	}
	if err := e.applyBitrate(); err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	if err := makeWritable(e.frame); err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w: %w", ErrCodec, err)
	}
	copyVideoFrameIn(e.frame, f, e.set.PixFmt == astiav.PixelFormatNv12)
	return e.encode(e.frame, f.PTS, forceKey)
}

// EncodePicture is Encode without copying: a libx264 (YUV420P) encoder
// reads the picture's planes in place; others get them copied into their
// own frame first. It sets the picture's FFmpeg timestamp and picture
// type; the caller keeps ownership and may refill the picture once
// EncodePicture has returned.
func (e *H264) EncodePicture(p *Picture, forceKey bool) ([]*media.Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	defer e.addTime(start)
	if err := e.usable(); err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	if err := p.usable(); err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	if w, h := p.f.Width(), p.f.Height(); w != e.Width || h != e.Height || !isYuv420(p.f.PixelFormat()) {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w: got %dx%d %s, want %dx%d yuv420p", ErrFrameSize, w, h, p.f.PixelFormat(), e.Width, e.Height)
	}
	if err := e.applyBitrate(); err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	send := p.f
	if e.hwFrame != nil || e.set.PixFmt != astiav.PixelFormatYuv420P || p.borrowed {
		if err := makeWritable(e.frame); err != nil {
			e.skip()
			return nil, fmt.Errorf("h264 encode: %w: %w", ErrCodec, err)
		}
		copyFrame(e.frame, p.f, e.set.PixFmt == astiav.PixelFormatNv12)
		send = e.frame
	}
	return e.encode(send, p.PTS, forceKey)
}

// encode sends one software frame (e.frame or a caller's picture) with
// the given time, uploading it first for a hardware-frames encoder.
func (e *H264) encode(frame *astiav.Frame, pts time.Duration, forceKey bool) ([]*media.Packet, error) {
	tick := media.ToTicks(pts, videoTimeBase)
	retimed := false
	if e.started && (tick <= e.lastTick || pts <= e.lastPTS) {
		tick = e.lastTick + 1
		pts = e.lastPTS + media.FromTicks(1, videoTimeBase)
		retimed = true
	}
	e.started, e.lastTick, e.lastPTS = true, tick, pts
	e.ptsMap[tick] = pts
	frame.SetPts(tick)
	if forceKey {
		frame.SetPictureType(astiav.PictureTypeI)
	} else {
		frame.SetPictureType(astiav.PictureTypeNone)
	}
	send := frame
	if e.hwFrame != nil {
		if err := uploadHWFrame(e.cc, e.hwFrame, frame); err != nil {
			delete(e.ptsMap, tick)
			e.skip()
			return nil, fmt.Errorf("h264 encode: %w: %w", ErrCodec, err)
		}
		send = e.hwFrame
	}
	if err := e.cc.SendFrame(send); err != nil {
		delete(e.ptsMap, tick)
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w: avcodec_send_frame: %w", ErrCodec, err)
	}
	e.statsMu.Lock()
	e.stats.FramesIn++
	if retimed {
		e.stats.Retimed++
	}
	e.statsMu.Unlock()
	return e.receive()
}

// Flush drains the encoder's delayed packets; Encode fails afterwards.
func (e *H264) Flush() ([]*media.Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	defer e.addTime(start)
	if err := e.usable(); err != nil {
		return nil, fmt.Errorf("h264 flush: %w", err)
	}
	e.flushed = true
	if err := e.cc.SendFrame(nil); err != nil {
		return nil, fmt.Errorf("h264 flush: %w: %w", ErrCodec, err)
	}
	return e.receive()
}

// usable reports why the encoder cannot take input, if it cannot.
func (e *H264) usable() error {
	switch {
	case e.closed:
		return ErrClosed
	case e.cc == nil:
		return ErrNotInitialized
	case e.flushed:
		return fmt.Errorf("%w: flushed", ErrClosed)
	}
	return nil
}

// receive collects every packet the encoder has ready.
func (e *H264) receive() ([]*media.Packet, error) {
	var out []*media.Packet
	for {
		err := e.cc.ReceivePacket(e.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("h264 encode: %w: avcodec_receive_packet: %w", ErrCodec, err)
		}
		p, cerr := e.convert()
		e.pkt.Unref()
		if cerr != nil {
			return out, fmt.Errorf("h264 encode: %w", cerr)
		}
		out = append(out, p)
	}
}

// convert turns the received Annex-B packet into a media.Packet.
func (e *H264) convert() (*media.Packet, error) {
	data, err := media.AnnexBToAVCC(e.pkt.Data(), true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCodec, err)
	}
	tick := e.pkt.Pts()
	pts, ok := e.ptsMap[tick]
	if ok {
		delete(e.ptsMap, tick)
	} else {
		pts = media.FromTicks(tick, videoTimeBase)
	}
	if len(e.ptsMap) > 256 { // frames an encoder dropped: forget them
		for k := range e.ptsMap {
			if k < tick {
				delete(e.ptsMap, k)
			}
		}
	}
	dts := media.FromTicks(e.pkt.Dts(), videoTimeBase)
	if e.pkt.Dts() == e.pkt.Pts() {
		dts = pts
	}
	key := e.pkt.Flags().Has(astiav.PacketFlagKey)
	e.statsMu.Lock()
	e.stats.FramesOut++
	e.stats.Bytes += int64(len(data))
	if key {
		e.stats.Keyframes++
	}
	e.statsMu.Unlock()
	return &media.Packet{Codec: media.CodecH264, Data: data, PTS: pts, DTS: dts, Keyframe: key}, nil
}

// applyBitrate hands a bitrate set by SetBitrate to the encoder.
func (e *H264) applyBitrate() error {
	want := int(e.wantBitrate.Load())
	if want == e.curBitrate {
		return nil
	}
	p, err := codecContextPointer(e.cc)
	if err != nil {
		return err
	}
	setRate(p, want, want, want)
	e.log.Debug("bitrate changed", "from", e.curBitrate, "to", want)
	e.curBitrate = want
	e.statsMu.Lock()
	e.stats.Bitrate = want
	e.statsMu.Unlock()
	return nil
}

// SetBitrate asks for a new target bitrate in bits/s (with maxrate equal
// to it and a one-second buffer); it is safe from any goroutine and takes
// effect before the next frame. Values <= 0 are ignored. In FFmpeg 5.1
// libx264 (tested) and h264_nvenc reconfigure on the fly; h264_qsv,
// h264_vaapi and the others keep their opening bitrate.
func (e *H264) SetBitrate(bps int) {
	if bps > 0 {
		e.wantBitrate.Store(int64(bps))
	}
}

// Params returns the stream's parameters; Config is the
// AVCDecoderConfigurationRecord. Valid after Initialize.
func (e *H264) Params() media.CodecParams {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.params
	p.Config = append([]byte(nil), e.params.Config...)
	p.Bitrate = int(e.wantBitrate.Load())
	return p
}

// Name returns the FFmpeg encoder actually opened, e.g. "libx264".
func (e *H264) Name() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.name
}

// Hardware reports whether the opened encoder is a hardware one.
func (e *H264) Hardware() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.set.Hardware
}

// Stats returns a snapshot of the counters.
func (e *H264) Stats() H264Stats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	return e.stats
}

func (e *H264) skip() {
	e.statsMu.Lock()
	e.stats.Skipped++
	e.statsMu.Unlock()
}

func (e *H264) addTime(start time.Time) {
	d := time.Since(start)
	e.statsMu.Lock()
	e.stats.EncodeTime += d
	e.statsMu.Unlock()
}

// Close frees the encoder; it is idempotent.
func (e *H264) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	if e.pkt != nil {
		e.pkt.Free()
		e.pkt = nil
	}
	if e.hwFrame != nil {
		e.hwFrame.Free()
		e.hwFrame = nil
	}
	if e.frame != nil {
		e.frame.Free()
		e.frame = nil
	}
	if e.cc != nil {
		e.cc.Free()
		e.cc = nil
	}
}
