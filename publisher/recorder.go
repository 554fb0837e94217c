package publisher

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// ErrRecorder is returned by Recorder.Initialize and Recorder.Err when the
// file cannot be opened or written.
var ErrRecorder = errors.New("recording failed")

// RecorderStats is a snapshot of a Recorder.
type RecorderStats struct {
	// Packets and Bytes count what reached the muxer.
	Packets int64
	Bytes   int64
	// Dropped counts packets lost because the disk could not keep up.
	Dropped int64
	// Duration is the media time written so far.
	Duration time.Duration
}

// Recorder writes the encoded packets (no second encode) to a file through
// FFmpeg's muxer: fragmented MP4 (frag_keyframe+empty_moov+default_base_moof,
// a fragment at least every FragmentDuration) or Matroska by the file's
// extension (.mkv), so that a file cut off by a crash or kill -9 plays up
// to its last fragment. WritePacket never blocks; one goroutine owns the
// muxer.
type Recorder struct {
	// Path is the output file; ".mkv" selects Matroska, anything else
	// fragmented MP4.
	Path string
	// Video describes the H.264 stream (Config is the avcC record).
	Video media.CodecParams
	// Audio describes the AAC stream; nil for none.
	Audio *media.CodecParams
	// FragmentDuration bounds how much media a crash can lose [1 s].
	FragmentDuration time.Duration
	// QueueLength is how many packets may wait for the disk [4096].
	QueueLength int
	// Logger receives the stage's logs [slog.Default()].
	Logger *slog.Logger

	log     *slog.Logger
	in      chan *media.Packet
	done    chan struct{}
	once    sync.Once
	fc      *astiav.FormatContext
	pb      *astiav.IOContext
	pkt     *astiav.Packet
	vs, as  *astiav.Stream
	started bool
	base    time.Duration

	mu     sync.Mutex
	stats  RecorderStats
	err    error
	closed bool
}

// Initialize creates the file and writes the header.
func (r *Recorder) Initialize() (err error) {
	if r.Video.Codec != media.CodecH264 || len(r.Video.Config) == 0 {
		return fmt.Errorf("%w: video must be H.264 with its avcC record", ErrRecorder)
	}
	if r.FragmentDuration <= 0 {
		r.FragmentDuration = time.Second
	}
	if r.QueueLength <= 0 {
		r.QueueLength = 4096
	}
	r.log = r.Logger
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("stage", "recorder", "path", r.Path)
	defer func() {
		if err != nil {
			r.free()
		}
	}()
	format := "mp4"
	if strings.EqualFold(filepath.Ext(r.Path), ".mkv") {
		format = "matroska"
	}
	if r.fc, err = astiav.AllocOutputFormatContext(nil, format, r.Path); err != nil {
		return fmt.Errorf("%w: %s muxer: %w", ErrRecorder, format, err)
	}
	if r.fc == nil {
		return fmt.Errorf("%w: %s muxer: allocation failed", ErrRecorder, format)
	}
	if r.vs = r.fc.NewStream(nil); r.vs == nil {
		return fmt.Errorf("%w: new video stream", ErrRecorder)
	}
	cp := r.vs.CodecParameters()
	cp.SetMediaType(astiav.MediaTypeVideo)
	cp.SetCodecID(astiav.CodecIDH264)
	cp.SetWidth(r.Video.Width)
	cp.SetHeight(r.Video.Height)
	if err := cp.SetExtraData(r.Video.Config); err != nil {
		return fmt.Errorf("%w: video extradata: %w", ErrRecorder, err)
	}
	r.vs.SetTimeBase(astiav.NewRational(1, 90000))
	if r.Video.FPS > 0 {
		fps := astiav.NewRational(int(r.Video.FPS*1000+0.5), 1000)
		r.vs.SetAvgFrameRate(fps)
		r.vs.SetRFrameRate(fps)
	}
	if r.Audio != nil {
		if r.as = r.fc.NewStream(nil); r.as == nil {
			return fmt.Errorf("%w: new audio stream", ErrRecorder)
		}
		ap := r.as.CodecParameters()
		ap.SetMediaType(astiav.MediaTypeAudio)
		ap.SetCodecID(astiav.CodecIDAac)
		ap.SetSampleRate(r.Audio.SampleRate)
		layout := astiav.ChannelLayoutStereo
		if r.Audio.Channels == 1 {
			layout = astiav.ChannelLayoutMono
		}
		ap.SetChannelLayout(layout)
		ap.SetFrameSize(1024)
		if err := ap.SetExtraData(r.Audio.Config); err != nil {
			return fmt.Errorf("%w: audio extradata: %w", ErrRecorder, err)
		}
		r.as.SetTimeBase(astiav.NewRational(1, r.Audio.SampleRate))
	}
	if r.pb, err = astiav.OpenIOContext(r.Path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite), nil, nil); err != nil {
		return fmt.Errorf("%w: open %s: %w", ErrRecorder, r.Path, err)
	}
	r.fc.SetPb(r.pb)
	opts := astiav.NewDictionary()
	defer opts.Free()
	frag := strconv.FormatInt(r.FragmentDuration.Microseconds(), 10)
	if format == "mp4" {
		_ = opts.Set("movflags", "frag_keyframe+empty_moov+default_base_moof", 0)
		_ = opts.Set("frag_duration", frag, 0)
	} else {
		_ = opts.Set("cluster_time_limit", strconv.FormatInt(r.FragmentDuration.Milliseconds(), 10), 0)
	}
	if err := r.fc.WriteHeader(opts); err != nil {
		return fmt.Errorf("%w: write header: %w", ErrRecorder, err)
	}
	r.pb.Flush()
	if r.pkt = astiav.AllocPacket(); r.pkt == nil {
		return fmt.Errorf("%w: packet allocation failed", ErrRecorder)
	}
	r.in = make(chan *media.Packet, r.QueueLength)
	r.done = make(chan struct{})
	go r.run()
	return nil
}

// WritePacket queues pkt for the file; it never blocks (a full queue
// drops the packet and counts it). pkt must not change afterwards.
// Packets written after Close are ignored.
func (r *Recorder) WritePacket(pkt *media.Packet) {
	if r.in == nil || (pkt.Codec == media.CodecAAC && r.as == nil) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	select {
	case r.in <- pkt:
	default:
		r.stats.Dropped++
	}
}

// Stats returns a snapshot.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Err returns the first write error (nil if none).
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close writes what is queued and the trailer, closes the file and frees
// the muxer. It is idempotent.
func (r *Recorder) Close() {
	r.once.Do(func() {
		if r.in == nil {
			return
		}
		r.mu.Lock()
		r.closed = true
		close(r.in)
		r.mu.Unlock()
		<-r.done
	})
}

// run owns the muxer.
func (r *Recorder) run() {
	defer close(r.done)
	defer r.free()
	failed := false
	for p := range r.in {
		if failed {
			continue
		}
		if err := r.write(p); err != nil {
			r.log.Error("write", "err", err)
			r.mu.Lock()
			r.err = fmt.Errorf("%w: %w", ErrRecorder, err)
			r.mu.Unlock()
			failed = true
		}
	}
	if err := r.fc.WriteTrailer(); err != nil && !failed {
		r.mu.Lock()
		r.err = fmt.Errorf("%w: trailer: %w", ErrRecorder, err)
		r.mu.Unlock()
	}
	r.log.Info("closed", "packets", r.Stats().Packets)
}

// write muxes one packet; the file starts at the first video keyframe.
func (r *Recorder) write(p *media.Packet) error {
	video := p.Codec.IsVideo()
	if !r.started {
		if !video || !p.Keyframe {
			return nil
		}
		r.started, r.base = true, p.DTS
	}
	if p.DTS < r.base {
		return nil // audio from before the first keyframe
	}
	st := r.vs
	if !video {
		st = r.as
	}
	r.pkt.Unref()
	if err := r.pkt.FromData(p.Data); err != nil {
		return err
	}
	tb := st.TimeBase()
	r.pkt.SetDts(ticks(p.DTS-r.base, tb))
	r.pkt.SetPts(ticks(p.PTS-r.base, tb))
	r.pkt.SetStreamIndex(st.Index())
	if p.Keyframe {
		r.pkt.SetFlags(astiav.NewPacketFlags(astiav.PacketFlagKey))
	}
	if err := r.fc.WriteInterleavedFrame(r.pkt); err != nil {
		return err
	}
	// Fragments reach the OS as soon as the muxer emits them.
	r.pb.Flush()
	r.mu.Lock()
	r.stats.Packets++
	r.stats.Bytes += int64(len(p.Data))
	if d := p.PTS - r.base; d > r.stats.Duration {
		r.stats.Duration = d
	}
	r.mu.Unlock()
	return nil
}

// ticks converts d to the stream's time base.
func ticks(d time.Duration, tb astiav.Rational) int64 {
	if tb.Num() <= 0 || tb.Den() <= 0 {
		return 0
	}
	return media.ToTicks(d, int64(tb.Den())) / int64(tb.Num())
}

// free releases every FFmpeg object.
func (r *Recorder) free() {
	if r.pkt != nil {
		r.pkt.Free()
		r.pkt = nil
	}
	if r.pb != nil {
		_ = r.pb.Close()
		r.pb = nil
	}
	if r.fc != nil {
		r.fc.Free()
		r.fc = nil
	}
}
