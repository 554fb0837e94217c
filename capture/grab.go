package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"sort"
	"strconv"
	"sync"

	"github.com/asticode/go-astiav"

	"golive/encoder"
	"golive/media"
)

// ErrGrab is returned when FFmpeg's capture device fails to open or read;
// the message has FFmpeg's reason.
var ErrGrab = errors.New("capture: screen grab failed")

// grabInput is what FFmpeg opens for a screen or window: an input device
// (x11grab, avfoundation, gdigrab), its URL and its options.
type grabInput struct {
	format string
	url    string
	opts   map[string]string
	// what names the screen or window for logs and Stats.
	what string
}

// grabOptions are the device options every platform shares: the capture
// rate (the spec's, else fps) and whether the pointer is drawn, under the
// platform's name for it.
func grabOptions(g Grab, fps int, cursorOpt string) map[string]string {
	if g.FPS > 0 {
		fps = g.FPS
	}
	cursor := "1"
	if g.HideCursor {
		cursor = "0"
	}
	return map[string]string{"framerate": strconv.Itoa(fps), cursorOpt: cursor}
}

// grabDevice reads a screen or window through an FFmpeg input device and
// converts each picture (BGR0 and the like) to YUV420P at the output size
// with libswscale, fitted inside it with black bars when the aspect ratio
// differs. It is a FrameDevice for Camera, which owns the loss and retry
// logic. Its FFmpeg objects belong to it; ReadFrame and Close are
// serialized, so Close waits for a read in progress (a grab returns within
// one frame interval).
type grabDevice struct {
	mu      sync.Mutex
	closed  bool
	fc      *astiav.FormatContext
	cc      *astiav.CodecContext
	pkt     *astiav.Packet
	raw     *astiav.Frame // decoded device picture
	fitted  *astiav.Frame // YUV420P at the fitted size
	ssc     *astiav.SoftwareScaleContext
	stream  int
	w, h    int             // output size
	fit     image.Rectangle // where the picture goes in the output
	srcW    int
	srcH    int
	srcFmt  astiav.PixelFormat
	cleanup []func()
}

// openGrab opens in and returns a device delivering w×h frames, and the
// device's own picture size.
func openGrab(in grabInput, w, h int) (_ *grabDevice, err error) {
	astiav.RegisterAllDevices()
	g := &grabDevice{w: w, h: h}
	defer func() {
		if err != nil {
			g.free()
		}
	}()
	ifmt := astiav.FindInputFormat(in.format)
	if ifmt == nil {
		return nil, fmt.Errorf("%w: FFmpeg has no %s input device here", ErrGrab, in.format)
	}
	if g.fc = astiav.AllocFormatContext(); g.fc == nil {
		return nil, fmt.Errorf("%w: avformat_alloc_context failed", ErrGrab)
	}
	opts := astiav.NewDictionary()
	defer opts.Free()
	keys := make([]string, 0, len(in.opts))
	for k := range in.opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := opts.Set(k, in.opts[k], 0); err != nil {
			return nil, fmt.Errorf("%w: option %s: %w", ErrGrab, k, err)
		}
	}
	if err := g.fc.OpenInput(in.url, ifmt, opts); err != nil {
		g.fc.Free() // avformat_open_input frees the context on failure; Free on the Go side only drops it
		g.fc = nil
		return nil, fmt.Errorf("%w: %s %q: %w", ErrGrab, in.format, in.url, err)
	}
	fc := g.fc
	g.cleanup = append(g.cleanup, func() { fc.CloseInput(); fc.Free() })
	// No avformat_find_stream_info: the devices describe their one raw
	// video stream when they open, and probing would grab frames first.
	st, codec, err := g.fc.FindBestStream(astiav.MediaTypeVideo, -1, -1)
	if err != nil || codec == nil {
		return nil, fmt.Errorf("%w: %s: no video stream or decoder: %v", ErrGrab, in.format, err)
	}
	g.stream = st.Index()
	if g.cc = astiav.AllocCodecContext(codec); g.cc == nil {
		return nil, fmt.Errorf("%w: avcodec_alloc_context3 failed", ErrGrab)
	}
	cc := g.cc
	g.cleanup = append(g.cleanup, cc.Free)
	if err := st.CodecParameters().ToCodecContext(g.cc); err != nil {
		return nil, fmt.Errorf("%w: codec parameters: %w", ErrGrab, err)
	}
	if err := g.cc.Open(codec, nil); err != nil {
		return nil, fmt.Errorf("%w: open %s decoder: %w", ErrGrab, codec.Name(), err)
	}
	if g.pkt = astiav.AllocPacket(); g.pkt == nil {
		return nil, fmt.Errorf("%w: av_packet_alloc failed", ErrGrab)
	}
	g.cleanup = append(g.cleanup, g.pkt.Free)
	if g.raw = astiav.AllocFrame(); g.raw == nil {
		return nil, fmt.Errorf("%w: av_frame_alloc failed", ErrGrab)
	}
	g.cleanup = append(g.cleanup, g.raw.Free)
	g.srcW, g.srcH = g.cc.Width(), g.cc.Height()
	if g.srcW <= 0 || g.srcH <= 0 {
		return nil, fmt.Errorf("%w: %s reports a %dx%d picture", ErrGrab, in.format, g.srcW, g.srcH)
	}
	return g, nil
}

// fitRect is where a sw×sh picture goes inside a w×h one, keeping its
// aspect ratio (even coordinates and sizes).
func fitRect(sw, sh, w, h int) image.Rectangle {
	fw, fh := w, int(int64(w)*int64(sh)/int64(sw))
	if fh > h {
		fw, fh = int(int64(h)*int64(sw)/int64(sh)), h
	}
	fw, fh = max(fw&^1, 2), max(fh&^1, 2)
	x, y := ((w-fw)/2)&^1, ((h-fh)/2)&^1
	return image.Rect(x, y, x+fw, y+fh)
}

// setupScaler (re)makes the converter for the decoded picture's size and
// format.
func (g *grabDevice) setupScaler() error {
	w, h, pf := g.raw.Width(), g.raw.Height(), g.raw.PixelFormat()
	if g.ssc != nil && w == g.srcW && h == g.srcH && pf == g.srcFmt {
		return nil
	}
	g.freeScaler()
	g.srcW, g.srcH, g.srcFmt = w, h, pf
	g.fit = fitRect(w, h, g.w, g.h)
	ssc, err := astiav.CreateSoftwareScaleContext(w, h, pf, g.fit.Dx(), g.fit.Dy(), astiav.PixelFormatYuv420P,
		astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
	if err != nil {
		return fmt.Errorf("%w: sws_getContext %dx%d %s: %w", ErrGrab, w, h, pf, err)
	}
	g.ssc = ssc
	f := astiav.AllocFrame()
	if f == nil {
		return fmt.Errorf("%w: av_frame_alloc failed", ErrGrab)
	}
	g.fitted = f
	f.SetWidth(g.fit.Dx())
	f.SetHeight(g.fit.Dy())
	f.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := f.AllocBuffer(0); err != nil {
		return fmt.Errorf("%w: av_frame_get_buffer: %w", ErrGrab, err)
	}
	return nil
}

// Read is not used: Camera calls ReadFrame on a FrameDevice.
func (g *grabDevice) Read() (image.Image, func(), error) {
	return nil, nil, fmt.Errorf("%w: read pictures with ReadFrame", ErrGrab)
}

// ReadFrame grabs the next picture and returns it as a new w×h frame (PTS
// left for the caller). An error means the screen or window is gone.
func (g *grabDevice) ReadFrame() (*media.VideoFrame, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, io.EOF
	}
	for {
		if err := g.fc.ReadFrame(g.pkt); err != nil {
			return nil, fmt.Errorf("%w: read: %w", ErrGrab, err)
		}
		if g.pkt.StreamIndex() != g.stream {
			g.pkt.Unref()
			continue
		}
		err := g.cc.SendPacket(g.pkt)
		g.pkt.Unref()
		if err != nil {
			return nil, fmt.Errorf("%w: decode: %w", ErrGrab, err)
		}
		if err := g.cc.ReceiveFrame(g.raw); errors.Is(err, astiav.ErrEagain) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("%w: decode: %w", ErrGrab, err)
		}
		f, err := g.convert()
		g.raw.Unref()
		return f, err
	}
}

// convert scales the decoded picture into a new output frame.
func (g *grabDevice) convert() (*media.VideoFrame, error) {
	if err := g.setupScaler(); err != nil {
		return nil, err
	}
	if err := g.fitted.MakeWritable(); err != nil {
		return nil, fmt.Errorf("%w: av_frame_make_writable: %w", ErrGrab, err)
	}
	if err := g.ssc.ScaleFrame(g.raw, g.fitted); err != nil {
		return nil, fmt.Errorf("%w: sws_scale_frame: %w", ErrGrab, err)
	}
	out := media.NewVideoFrame(g.w, g.h)
	if g.fit != image.Rect(0, 0, g.w, g.h) {
		fillRect(out, 0, 0, g.w, g.h, 16, 128, 128)
	}
	fw, fh := g.fit.Dx(), g.fit.Dy()
	planes, ls := encoder.FramePlanes(g.fitted, [3]int{fh, fh / 2, fh / 2})
	dst := [3][]byte{out.Y, out.U, out.V}
	stride := [3]int{out.StrideY, out.StrideU, out.StrideV}
	for i := range 3 {
		w, h, x, y := fw, fh, g.fit.Min.X, g.fit.Min.Y
		if i > 0 {
			w, h, x, y = fw/2, fh/2, x/2, y/2
		}
		if planes[i] == nil {
			return nil, fmt.Errorf("%w: converted picture has no plane %d", ErrGrab, i)
		}
		for r := range h {
			copy(dst[i][(y+r)*stride[i]+x:(y+r)*stride[i]+x+w], planes[i][r*ls[i]:r*ls[i]+w])
		}
	}
	return out, nil
}

// Close releases the device; it waits for a ReadFrame in progress and is
// idempotent.
func (g *grabDevice) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		g.free()
	}
	return nil
}

// freeScaler releases the converter and its frame.
func (g *grabDevice) freeScaler() {
	if g.ssc != nil {
		g.ssc.Free()
		g.ssc = nil
	}
	if g.fitted != nil {
		g.fitted.Free()
		g.fitted = nil
	}
}

// free releases the FFmpeg objects, the last allocated first.
func (g *grabDevice) free() {
	g.freeScaler()
	for i := len(g.cleanup) - 1; i >= 0; i-- {
		g.cleanup[i]()
	}
	g.cleanup = nil
}
