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

// H264Decoder decodes AVCC H.264 packets (as media.Packet carries them)
// into YUV420P frames, with FFmpeg's h264 decoder. Frames in other pixel
// formats (4:2:2, 4:4:4, 10-bit) are converted to YUV420P. Decode and
// Close belong to one goroutine.
type H264Decoder struct {
	// Params must hold the stream's AVCDecoderConfigurationRecord in Config.
	Params media.CodecParams
	// Threads is the decoder's thread count; 0 means one per core.
	Threads int
	// Logger receives the stage's logs. Default slog.Default().
	Logger *slog.Logger

	mu     sync.Mutex
	cc     *astiav.CodecContext
	pkt    *astiav.Packet
	frame  *astiav.Frame
	conv   *Scaler // pixel-format conversion for non-4:2:0 streams
	ptsMap map[int64]time.Duration
	closed bool
	log    *slog.Logger
}

// Initialize opens the decoder with the stream's configuration record.
func (d *H264Decoder) Initialize() (err error) {
	if d.cc != nil || d.closed {
		return fmt.Errorf("h264 decoder initialize: %w: already initialized or closed", ErrBadConfig)
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.log = d.Logger.With("codec", "h264", "role", "decoder")
	if d.Params.Codec != media.CodecH264 && d.Params.Codec != media.CodecUnknown {
		return fmt.Errorf("h264 decoder initialize: %w: codec %s", ErrBadConfig, d.Params.Codec)
	}
	var cfg media.AVCConfig
	if err := cfg.Unmarshal(d.Params.Config); err != nil {
		return fmt.Errorf("h264 decoder initialize: %w: %w", ErrBadConfig, err)
	}
	if d.Threads < 0 {
		return fmt.Errorf("h264 decoder initialize: %w: threads %d", ErrBadConfig, d.Threads)
	}
	codec := astiav.FindDecoder(astiav.CodecIDH264)
	if codec == nil {
		return fmt.Errorf("h264 decoder initialize: %w: h264 decoder", ErrEncoderNotFound)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return fmt.Errorf("h264 decoder initialize: %w: avcodec_alloc_context3 failed", ErrOpen)
	}
	defer func() {
		if err != nil {
			cc.Free()
		}
	}()
	if err := cc.SetExtraData(d.Params.Config); err != nil {
		return fmt.Errorf("h264 decoder initialize: %w: extradata: %w", ErrOpen, err)
	}
	cc.SetTimeBase(astiav.NewRational(1, videoTimeBase))
	cc.SetThreadCount(d.Threads)
	if err := cc.Open(codec, nil); err != nil {
		return fmt.Errorf("h264 decoder initialize: %w: avcodec_open2: %w", ErrOpen, err)
	}
	pkt := astiav.AllocPacket()
	if pkt == nil {
		return fmt.Errorf("h264 decoder initialize: %w: av_packet_alloc failed", ErrOpen)
	}
	frame := astiav.AllocFrame()
	if frame == nil {
		pkt.Free()
		return fmt.Errorf("h264 decoder initialize: %w: av_frame_alloc failed", ErrOpen)
	}
	d.cc, d.pkt, d.frame = cc, pkt, frame
	d.ptsMap = make(map[int64]time.Duration)
	return nil
}

// Decode decodes one packet and returns the frames ready (frame threading
// delays output by a few packets). A nil packet drains the decoder,
// which takes no packet afterwards.
func (d *H264Decoder) Decode(p *media.Packet) ([]*media.VideoFrame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return nil, fmt.Errorf("h264 decode: %w", ErrClosed)
	case d.cc == nil:
		return nil, fmt.Errorf("h264 decode: %w", ErrNotInitialized)
	}
	if p == nil {
		if err := d.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
			return nil, fmt.Errorf("h264 decode: %w: drain: %w", ErrCodec, err)
		}
		return d.receive()
	}
	if len(p.Data) == 0 {
		return nil, nil
	}
	if err := d.pkt.FromData(p.Data); err != nil {
		return nil, fmt.Errorf("h264 decode: %w: %w", ErrCodec, err)
	}
	pts, dts := media.ToTicks(p.PTS, videoTimeBase), media.ToTicks(p.DTS, videoTimeBase)
	d.pkt.SetPts(pts)
	d.pkt.SetDts(dts)
	if p.Keyframe {
		d.pkt.SetFlags(d.pkt.Flags().Add(astiav.PacketFlagKey))
	}
	d.ptsMap[pts] = p.PTS
	err := d.cc.SendPacket(d.pkt)
	d.pkt.Unref()
	if err != nil {
		delete(d.ptsMap, pts)
		return nil, fmt.Errorf("h264 decode: %w: avcodec_send_packet: %w", ErrCodec, err)
	}
	return d.receive()
}

// receive collects the decoded frames.
func (d *H264Decoder) receive() ([]*media.VideoFrame, error) {
	var out []*media.VideoFrame
	for {
		err := d.cc.ReceiveFrame(d.frame)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("h264 decode: %w: avcodec_receive_frame: %w", ErrCodec, err)
		}
		vf, cerr := d.convert()
		d.frame.Unref()
		if cerr != nil {
			return out, fmt.Errorf("h264 decode: %w", cerr)
		}
		out = append(out, vf)
	}
}

// convert copies the decoded frame out, converting its pixel format if
// it is not 4:2:0 8-bit.
func (d *H264Decoder) convert() (*media.VideoFrame, error) {
	tick := d.frame.Pts()
	pts, ok := d.ptsMap[tick]
	if ok {
		delete(d.ptsMap, tick)
	} else {
		pts = media.FromTicks(tick, videoTimeBase)
	}
	if len(d.ptsMap) > 256 { // packets that never produced a frame
		for k := range d.ptsMap {
			if k < tick {
				delete(d.ptsMap, k)
			}
		}
	}
	var vf *media.VideoFrame
	switch pf := d.frame.PixelFormat(); pf {
	case astiav.PixelFormatYuv420P, astiav.PixelFormatYuvj420P:
		vf = copyVideoFrameOut(d.frame)
	default:
		if d.conv == nil {
			d.log.Info("converting decoded frames to yuv420p", "pix_fmt", pf.String())
			d.conv = &Scaler{Logger: d.Logger}
		}
		var err error
		if vf, err = d.conv.convertFrame(d.frame); err != nil {
			return nil, err
		}
	}
	vf.PTS = pts
	return vf, nil
}

// Close frees the decoder; it is idempotent.
func (d *H264Decoder) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	if d.conv != nil {
		d.conv.Close()
	}
	if d.frame != nil {
		d.frame.Free()
		d.frame = nil
	}
	if d.pkt != nil {
		d.pkt.Free()
		d.pkt = nil
	}
	if d.cc != nil {
		d.cc.Free()
		d.cc = nil
	}
}
