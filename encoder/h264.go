package encoder

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

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
	frame    *astiav.Frame                 // software frame handed to (or uploaded for) the encoder
	staging  *astiav.Frame                 // YUV420P input of a non-YUV420P encoder, nil otherwise
	conv     *Scaler                       // YUV420P → the encoder's format (or a lent picture's copy)
	hwFrames *astiav.HardwareFramesContext // VAAPI surfaces' pool, nil otherwise
	hwFrame  *astiav.Frame                 // VAAPI surface, nil otherwise
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
	if err := e.openFirst(e.candidates()); err != nil {
		return fmt.Errorf("h264 initialize: %w", err)
	}
	return nil
}

// SetBitrate asks for a new target bitrate in bits/s (with maxrate equal
// to it and a one-second buffer); it is safe from any goroutine and takes
// effect before the next frame. Values <= 0 are ignored. In FFmpeg 8.1
// libx264 (tested), h264_nvenc (on GPUs that can) and h264_qsv
// reconfigure on the fly (the last two per FFmpeg's source, untested
// here); h264_vaapi and the others keep their opening bitrate.
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
	e.closed = true
	e.free()
}

// free releases every FFmpeg object the encoder holds (all of them, or
// what a failed open had allocated); it is idempotent.
func (e *H264) free() {
	if e.pkt != nil {
		e.pkt.Free()
		e.pkt = nil
	}
	for _, f := range []**astiav.Frame{&e.hwFrame, &e.staging, &e.frame} {
		if *f != nil {
			(*f).Free()
			*f = nil
		}
	}
	if e.conv != nil {
		e.conv.Close()
		e.conv = nil
	}
	if e.hwFrames != nil {
		e.hwFrames.Free()
		e.hwFrames = nil
	}
	if e.cc != nil {
		e.cc.Free()
		e.cc = nil
	}
}
