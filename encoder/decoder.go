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

	mu      sync.Mutex
	cc      *astiav.CodecContext
	pkt     *astiav.Packet
	frame   *astiav.Frame
	conv    *Scaler  // pixel-format conversion for non-4:2:0 streams
	convPic *Picture // DecodePictures' converted picture
	lent    Picture  // the picture DecodePictures lends
	ptsMap  map[int64]time.Duration
	closed  bool
	log     *slog.Logger
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
	if err := d.send(p); err != nil {
		return nil, err
	}
	return d.receive()
}

// DecodePictures is Decode without copying: it decodes one packet (nil
// drains) and calls fn with each picture ready, in FFmpeg memory. The
// picture is lent: valid only during the call, not to be kept or freed.
// Pictures that are not 4:2:0 8-bit are converted first.
func (d *H264Decoder) DecodePictures(p *media.Packet, fn func(*Picture)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.send(p); err != nil {
		return err
	}
	lend := func() (struct{}, error) {
		pic, err := d.picture()
		if err == nil {
			fn(pic)
		}
		return struct{}{}, err
	}
	if _, err := drain(d.receiveFrame, "avcodec_receive_frame", lend, d.frame.Unref); err != nil {
		return fmt.Errorf("h264 decode: %w", err)
	}
	return nil
}

// picture lends the decoded frame as a Picture (converted to YUV420P
// into d.convPic when it is not 4:2:0 8-bit).
func (d *H264Decoder) picture() (*Picture, error) {
	pts := d.framePTS()
	if isYuv420(d.frame.PixelFormat()) {
		d.lent = Picture{PTS: pts, f: d.frame, borrowed: true}
		return &d.lent, nil
	}
	if d.conv == nil {
		d.log.Info("converting decoded frames to yuv420p", "pix_fmt", d.frame.PixelFormat().String())
		d.conv = &Scaler{Logger: d.Logger}
	}
	w, h := d.frame.Width()&^1, d.frame.Height()&^1
	if d.convPic == nil || d.convPic.Width() != w || d.convPic.Height() != h {
		d.convPic.Free()
		d.convPic = nil
		pic, err := NewPicture(w, h)
		if err != nil {
			return nil, err
		}
		d.convPic = pic
	}
	if err := d.conv.frameInto(d.frame, d.convPic.f); err != nil {
		return nil, err
	}
	d.lent = Picture{PTS: pts, f: d.convPic.f, borrowed: true}
	return &d.lent, nil
}

// send hands one packet (nil: drain) to the decoder.
func (d *H264Decoder) send(p *media.Packet) error {
	switch {
	case d.closed:
		return fmt.Errorf("h264 decode: %w", ErrClosed)
	case d.cc == nil:
		return fmt.Errorf("h264 decode: %w", ErrNotInitialized)
	}
	if p == nil {
		if err := d.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
			return fmt.Errorf("h264 decode: %w: drain: %w", ErrCodec, err)
		}
		return nil
	}
	if len(p.Data) == 0 {
		return nil
	}
	if err := d.pkt.FromData(p.Data); err != nil {
		return fmt.Errorf("h264 decode: %w: %w", ErrCodec, err)
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
		return fmt.Errorf("h264 decode: %w: avcodec_send_packet: %w", ErrCodec, err)
	}
	return nil
}

// receive collects the decoded frames.
func (d *H264Decoder) receive() ([]*media.VideoFrame, error) {
	out, err := drain(d.receiveFrame, "avcodec_receive_frame", d.convert, d.frame.Unref)
	if err != nil {
		return out, fmt.Errorf("h264 decode: %w", err)
	}
	return out, nil
}

// receiveFrame fills d.frame with the next decoded frame.
func (d *H264Decoder) receiveFrame() error { return d.cc.ReceiveFrame(d.frame) }

// convert copies the decoded frame out, converting its pixel format if
// it is not 4:2:0 8-bit.
func (d *H264Decoder) convert() (*media.VideoFrame, error) {
	pts := d.framePTS()
	var vf *media.VideoFrame
	var err error
	switch pf := d.frame.PixelFormat(); pf {
	case astiav.PixelFormatYuv420P, astiav.PixelFormatYuvj420P:
		vf, err = videoFrameOut(d.frame)
	default:
		if d.conv == nil {
			d.log.Info("converting decoded frames to yuv420p", "pix_fmt", pf.String())
			d.conv = &Scaler{Logger: d.Logger}
		}
		vf, err = d.conv.convertFrame(d.frame)
	}
	if err != nil {
		return nil, err
	}
	vf.PTS = pts
	return vf, nil
}

// framePTS maps the decoded frame's timestamp back to the packet's
// time.Duration.
func (d *H264Decoder) framePTS() time.Duration {
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
	return pts
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
	d.convPic.Free()
	d.convPic = nil
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
