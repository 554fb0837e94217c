package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// File audio is delivered as 48 kHz interleaved stereo, like the tone.
const (
	fileAudioRate     = 48000
	fileAudioChannels = 2
)

// fileReader owns a media file's FFmpeg objects: the demuxer, the video
// decoder and scaler, and the audio decoder and resampler. It is opened on
// the caller's goroutine and then used only by the goroutine that runs it.
type fileReader struct {
	path          string
	log           *slog.Logger
	clock         Clock
	width, height int // the picture it delivers

	fc        *astiav.FormatContext
	pkt       *astiav.Packet
	frame     *astiav.Frame // decoded, reused with Unref
	vs, as    *astiav.Stream
	vdec      *astiav.CodecContext
	adec      *astiav.CodecContext // nil without audio
	sws       *astiav.SoftwareScaleContext
	swsKey    [3]int // source width, height, pixel format of sws
	scaled    *astiav.Frame
	swr       *astiav.SoftwareResampleContext
	resampled *astiav.Frame

	hasAudio bool
	period   time.Duration // nominal frame duration
	start    time.Duration // the container's start time: media time 0
	base     time.Duration // the capture time media time 0 is due at
	based    bool          // base is set: the epoch's first picture is decoded
	held     []fileSamples // audio decoded before that, due times still to add
	epoch    int64         // the File's restart epoch being decoded

	// Per pass over the file.
	offset     time.Duration // media time of the pass's start (loops before it)
	passEnd    time.Duration // end of what the pass decoded, from the pass's start
	audioStart time.Duration // media time of the pass's first audio sample; -1 before it
	audioN     int64         // audio samples delivered in this pass
	audioOff   bool          // the audio consumer is gone

	errs     int
	lastWarn time.Time
}

// openFileReader opens path and its decoders; wantAudio also opens its
// first audio track, if it has one. Errors wrap ErrFile.
func openFileReader(path string, clock Clock, width, height int, wantAudio bool, log *slog.Logger) (_ *fileReader, err error) {
	if path == "" {
		return nil, fileError(path, "no file named")
	}
	if st, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fileError(path, "no such file")
		}
		return nil, fileError(path, "%v", err)
	} else if st.IsDir() {
		return nil, fileError(path, "is a directory")
	}
	r := &fileReader{path: path, log: log, clock: clock, width: width, height: height, audioStart: -1}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.fc = astiav.AllocFormatContext(); r.fc == nil {
		return nil, fileError(path, "avformat_alloc_context failed")
	}
	if err := r.fc.OpenInput(path, nil, nil); err != nil {
		return nil, fileError(path, "not a media file FFmpeg can read (%v)", err)
	}
	if err := r.fc.FindStreamInfo(nil); err != nil {
		return nil, fileError(path, "reading its streams: %v", err)
	}
	for _, s := range r.fc.Streams() {
		switch s.CodecParameters().MediaType() {
		case astiav.MediaTypeVideo:
			if r.vs == nil && !s.DispositionFlags().Has(astiav.DispositionFlagAttachedPic) {
				r.vs = s
			}
		case astiav.MediaTypeAudio:
			if r.as == nil && wantAudio {
				r.as = s
			}
		}
	}
	if r.vs == nil {
		return nil, fileError(path, "no video track")
	}
	if r.vdec, err = openFileDecoder(path, r.vs); err != nil {
		return nil, err
	}
	if r.as != nil {
		if r.adec, err = openFileDecoder(path, r.as); err != nil {
			return nil, err
		}
		r.hasAudio = true
	}
	r.period = time.Second / 30
	for _, fr := range []astiav.Rational{r.vs.AvgFrameRate(), r.vs.RFrameRate()} {
		if fr.Num() > 0 && fr.Den() > 0 && fr.Float64() <= 240 {
			r.period = time.Duration(float64(time.Second) / fr.Float64())
			break
		}
	}
	if st := r.fc.StartTime(); st != astiav.NoPtsValue {
		r.start = time.Duration(st) * time.Microsecond
	}
	if r.pkt = astiav.AllocPacket(); r.pkt == nil {
		return nil, fileError(path, "av_packet_alloc failed")
	}
	if r.frame = astiav.AllocFrame(); r.frame == nil {
		return nil, fileError(path, "av_frame_alloc failed")
	}
	if r.scaled = astiav.AllocFrame(); r.scaled == nil {
		return nil, fileError(path, "av_frame_alloc failed")
	}
	if r.resampled = astiav.AllocFrame(); r.resampled == nil {
		return nil, fileError(path, "av_frame_alloc failed")
	}
	return r, nil
}

// openFileDecoder opens a decoder for stream s (FFmpeg picks the thread
// count, as the ffmpeg command line does).
func openFileDecoder(path string, s *astiav.Stream) (*astiav.CodecContext, error) {
	cp := s.CodecParameters()
	c := astiav.FindDecoder(cp.CodecID())
	if c == nil {
		return nil, fileError(path, "no decoder here for its %s %s track", cp.CodecID(), cp.MediaType())
	}
	cc := astiav.AllocCodecContext(c)
	if cc == nil {
		return nil, fileError(path, "avcodec_alloc_context3 failed")
	}
	if err := cp.ToCodecContext(cc); err != nil {
		cc.Free()
		return nil, fileError(path, "%s decoder parameters: %v", cp.MediaType(), err)
	}
	cc.SetThreadCount(0)
	if err := cc.Open(c, nil); err != nil {
		cc.Free()
		return nil, fileError(path, "opening its %s decoder: %v", cp.MediaType(), err)
	}
	return cc, nil
}

// close frees every FFmpeg object; it is idempotent.
func (r *fileReader) close() {
	for _, f := range []**astiav.Frame{&r.frame, &r.scaled, &r.resampled} {
		if *f != nil {
			(*f).Free()
			*f = nil
		}
	}
	for _, cc := range []**astiav.CodecContext{&r.vdec, &r.adec} {
		if *cc != nil {
			(*cc).Free()
			*cc = nil
		}
	}
	if r.sws != nil {
		r.sws.Free()
		r.sws = nil
	}
	if r.swr != nil {
		r.swr.Free()
		r.swr = nil
	}
	if r.pkt != nil {
		r.pkt.Free()
		r.pkt = nil
	}
	if r.fc != nil {
		r.fc.CloseInput()
		r.fc.Free()
		r.fc = nil
	}
}

// fileRun is what a reader's run works with: where to send what it
// decodes, and the restarts.
type fileRun struct {
	once bool
	// epoch is the File's restart count; restart wakes the reader for one.
	epoch   *atomic.Int64
	restart <-chan struct{}
	video   chan<- fileFrame
	// audio is nil without audio; audioDone closes when its consumer is
	// gone.
	audio     chan<- fileSamples
	audioDone <-chan struct{}
}

// passResult says whether a pass over the file goes on, and how it ended.
type passResult int

const (
	passGoOn    passResult = iota // not ended: decode what comes next
	passAtEnd                     // the end of the file
	passStop                      // ctx ended
	passRestart                   // a restart was asked for
)

// run decodes the file pass after pass (once with run.once), sending
// pictures and audio blocks, each with the capture time it is due at; it
// closes both channels and frees the reader when it returns: at the end of
// a file played once, when ctx ends, or when the file cannot be read any
// more. A restart starts it from the beginning, due now.
func (r *fileReader) run(ctx context.Context, run fileRun) {
	defer r.close()
	defer close(run.video)
	if run.audio != nil {
		defer close(run.audio)
	}
	r.epoch = run.epoch.Load()
	for {
		res := r.pass(ctx, run)
		switch {
		case res == passStop, res == passAtEnd && run.once:
			return
		case res == passRestart:
			r.epoch, r.based, r.held, r.offset = run.epoch.Load(), false, nil, 0
		case r.passEnd <= 0:
			r.log.Error("media file: nothing decoded in a whole pass; stopping")
			return
		default:
			r.offset += r.passEnd
		}
		r.passEnd, r.audioStart, r.audioN = 0, -1, 0
		if err := r.rewind(); err != nil {
			r.log.Error("media file: cannot start it again", "err", err)
			return
		}
	}
}

// pass reads the file to its end.
func (r *fileReader) pass(ctx context.Context, run fileRun) passResult {
	for {
		select {
		case <-run.restart:
			return passRestart
		default:
		}
		if err := r.fc.ReadFrame(r.pkt); err != nil {
			if !errors.Is(err, astiav.ErrEof) {
				r.log.Warn("media file: read error; taking it as the end", "err", err)
			}
			break
		}
		res := passGoOn
		switch idx := r.pkt.StreamIndex(); {
		case idx == r.vs.Index():
			res = r.decode(ctx, run, r.vdec, r.pkt)
		case r.adec != nil && !r.audioOff && idx == r.as.Index():
			res = r.decode(ctx, run, r.adec, r.pkt)
		}
		r.pkt.Unref()
		if res != passGoOn {
			return res
		}
	}
	if res := r.decode(ctx, run, r.vdec, nil); res != passGoOn { // drain
		return res
	}
	if r.adec != nil && !r.audioOff {
		if res := r.decode(ctx, run, r.adec, nil); res != passGoOn {
			return res
		}
	}
	return passAtEnd
}

// rewind seeks back to the start and reopens the decoders (drained at the
// end of a pass, they take no more packets).
func (r *fileReader) rewind() error {
	if err := r.fc.SeekFrame(-1, r.fc.StartTime(), astiav.NewSeekFlags(astiav.SeekFlagBackward)); err != nil {
		if err := r.fc.SeekFrame(-1, 0, astiav.NewSeekFlags(astiav.SeekFlagBackward)); err != nil {
			return fmt.Errorf("seek: %w", err)
		}
	}
	vdec, err := openFileDecoder(r.path, r.vs)
	if err != nil {
		return err
	}
	r.vdec.Free()
	r.vdec = vdec
	if r.adec != nil {
		adec, err := openFileDecoder(r.path, r.as)
		if err != nil {
			return err
		}
		r.adec.Free()
		r.adec = adec
	}
	return nil
}

// decode sends pkt (nil drains) to dec and hands on every frame it gives;
// passGoOn means it went on as usual.
func (r *fileReader) decode(ctx context.Context, run fileRun, dec *astiav.CodecContext, pkt *astiav.Packet) passResult {
	if err := dec.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEof) {
		r.fail("decode", err)
		return passGoOn
	}
	for {
		if err := dec.ReceiveFrame(r.frame); err != nil {
			if !errors.Is(err, astiav.ErrEagain) && !errors.Is(err, astiav.ErrEof) {
				r.fail("decode", err)
			}
			return passGoOn
		}
		var res passResult
		if dec == r.vdec {
			res = r.picture(ctx, run)
		} else {
			res = r.samples(ctx, run)
		}
		r.frame.Unref()
		if res != passGoOn {
			return res
		}
	}
}

// mediaTime is a decoded frame's time from the file's start, loops
// included; ok is false without a timestamp.
func (r *fileReader) mediaTime(s *astiav.Stream) (time.Duration, bool) {
	ts := r.frame.Pts()
	if ts == astiav.NoPtsValue {
		ts = r.frame.PktDts()
	}
	if ts == astiav.NoPtsValue {
		return 0, false
	}
	tb := s.TimeBase()
	return time.Duration(astiav.RescaleQ(ts, tb, astiav.NewRational(1, int(time.Second)))) - r.start + r.offset, true
}

// picture converts the decoded picture to Width×Height YUV420P (fitted,
// black around) and sends it.
func (r *fileReader) picture(ctx context.Context, run fileRun) passResult {
	t, ok := r.mediaTime(r.vs)
	if !ok {
		t = r.offset + r.passEnd // no timestamp: right after the last one
	}
	r.passEnd = max(r.passEnd, t-r.offset+r.period)
	f, err := r.convert()
	if err != nil {
		r.fail("convert", err)
		return passGoOn
	}
	if !r.based {
		if res := r.setBase(ctx, run, t); res != passGoOn {
			return res
		}
	}
	select {
	case run.video <- fileFrame{f: f, due: r.base + t, epoch: r.epoch}:
		return passGoOn
	case <-run.restart:
		return passRestart
	case <-ctx.Done():
		return passStop
	}
}

// convert scales r.frame into a new media.VideoFrame.
func (r *fileReader) convert() (*media.VideoFrame, error) {
	sw, sh, pf := r.frame.Width(), r.frame.Height(), r.frame.PixelFormat()
	if sw <= 0 || sh <= 0 {
		return nil, fmt.Errorf("decoded picture of %dx%d", sw, sh)
	}
	fw, fh := fitInside(sw, sh, r.width, r.height)
	if sw == r.width && sh == r.height && pf == astiav.PixelFormatYuv420P {
		return frameOut(r.frame) // what the encoder wants already: one copy, no scaler
	}
	if key := [3]int{sw, sh, int(pf)}; r.sws == nil || key != r.swsKey {
		if r.sws != nil {
			r.sws.Free()
			r.sws = nil
		}
		sws, err := astiav.CreateSoftwareScaleContext(sw, sh, pf, fw, fh, astiav.PixelFormatYuv420P,
			astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
		if err != nil {
			return nil, fmt.Errorf("sws_getContext %dx%d %s → %dx%d: %w", sw, sh, pf, fw, fh, err)
		}
		r.sws, r.swsKey = sws, key
		r.scaled.Unref()
		r.scaled.SetWidth(fw)
		r.scaled.SetHeight(fh)
		r.scaled.SetPixelFormat(astiav.PixelFormatYuv420P)
		if err := r.scaled.AllocBuffer(0); err != nil {
			return nil, fmt.Errorf("av_frame_get_buffer: %w", err)
		}
	}
	if err := r.sws.ScaleFrame(r.frame, r.scaled); err != nil {
		return nil, fmt.Errorf("sws_scale_frame: %w", err)
	}
	pic, err := frameOut(r.scaled)
	if err != nil || fw == r.width && fh == r.height {
		return pic, err
	}
	out := media.NewVideoFrame(r.width, r.height)
	fillRect(out, 0, 0, r.width, r.height, 16, 128, 128)
	ox, oy := (r.width-fw)/2&^1, (r.height-fh)/2&^1
	copyPlane(out.Y[oy*out.StrideY+ox:], out.StrideY, pic.Y, pic.StrideY, fw, fh)
	copyPlane(out.U[oy/2*out.StrideU+ox/2:], out.StrideU, pic.U, pic.StrideU, fw/2, fh/2)
	copyPlane(out.V[oy/2*out.StrideV+ox/2:], out.StrideV, pic.V, pic.StrideV, fw/2, fh/2)
	return out, nil
}

// frameOut copies a YUV420P frame into a new, tightly packed VideoFrame.
func frameOut(f *astiav.Frame) (*media.VideoFrame, error) {
	var img image.YCbCr
	if err := f.Data().ToImage(&img); err != nil {
		return nil, err
	}
	return &media.VideoFrame{Width: f.Width(), Height: f.Height(), Y: img.Y, U: img.Cb, V: img.Cr,
		StrideY: img.YStride, StrideU: img.CStride, StrideV: img.CStride}, nil
}

// fitInside returns the largest even size with the aspect of sw×sh that
// fits in w×h.
func fitInside(sw, sh, w, h int) (int, int) {
	fw, fh := w, w*sh/sw
	if fh > h {
		fw, fh = h*sw/sh, h
	}
	return max(fw&^1, 2), max(fh&^1, 2)
}

// samples resamples the decoded audio to 48 kHz stereo s16 and sends it.
func (r *fileReader) samples(ctx context.Context, run fileRun) passResult {
	if r.audioStart < 0 {
		t, ok := r.mediaTime(r.as)
		if !ok {
			t = r.offset
		}
		r.audioStart = t
	}
	a, err := r.resample()
	if err != nil {
		r.fail("resample", err)
		return passGoOn
	}
	if a == nil {
		return passGoOn
	}
	t := r.audioStart + time.Duration(r.audioN)*time.Second/fileAudioRate
	r.audioN += int64(a.NumSamples())
	r.passEnd = max(r.passEnd, t-r.offset+a.Duration())
	if !r.based {
		r.held = append(r.held, fileSamples{a: a, due: t, epoch: r.epoch})
		if len(r.held) < maxHeldAudio {
			return passGoOn
		}
		return r.setBase(ctx, run, r.held[0].due) // a file whose pictures are far behind its sound
	}
	return r.sendAudio(ctx, run, fileSamples{a: a, due: r.base + t, epoch: r.epoch})
}

// maxHeldAudio is how many audio blocks (about 20 ms each) wait for the
// first picture of a pass to set the clock.
const maxHeldAudio = 250

// setBase makes media time t due now (the first picture after a start or
// a restart: decoding it may have taken a while, and what it starts must
// not be late already), then sends the audio held until then.
func (r *fileReader) setBase(ctx context.Context, run fileRun, t time.Duration) passResult {
	r.base, r.based = r.clock.Now()-t, true
	held := r.held
	r.held = nil
	for _, s := range held {
		s.due += r.base
		if res := r.sendAudio(ctx, run, s); res != passGoOn {
			return res
		}
	}
	return passGoOn
}

// sendAudio hands on one audio block unless its consumer is gone.
func (r *fileReader) sendAudio(ctx context.Context, run fileRun, s fileSamples) passResult {
	if r.audioOff {
		return passGoOn
	}
	select {
	case run.audio <- s:
	case <-run.audioDone:
		r.audioOff = true // nobody listens: stop decoding audio
	case <-run.restart:
		return passRestart
	case <-ctx.Done():
		return passStop
	}
	return passGoOn
}

// resample converts r.frame into a new AudioFrame (nil while the
// resampler holds everything back).
func (r *fileReader) resample() (*media.AudioFrame, error) {
	for attempt := 0; ; attempt++ {
		if r.swr == nil {
			if r.swr = astiav.AllocSoftwareResampleContext(); r.swr == nil {
				return nil, errors.New("swr_alloc failed")
			}
		}
		r.resampled.Unref()
		r.resampled.SetChannelLayout(astiav.ChannelLayoutStereo)
		r.resampled.SetSampleFormat(astiav.SampleFormatS16)
		r.resampled.SetSampleRate(fileAudioRate)
		err := r.swr.ConvertFrame(r.frame, r.resampled)
		if err == nil {
			break
		}
		// The input format changed (or the converter broke): start a new one.
		r.swr.Free()
		r.swr = nil
		if attempt > 0 {
			return nil, fmt.Errorf("swr_convert_frame: %w", err)
		}
	}
	n := r.resampled.NbSamples()
	if n <= 0 {
		return nil, nil
	}
	b, err := r.resampled.Data().Bytes(1)
	if err != nil {
		return nil, err
	}
	s := make([]int16, n*fileAudioChannels)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return &media.AudioFrame{SampleRate: fileAudioRate, Channels: fileAudioChannels, Samples: s}, nil
}

// fail counts a per-frame error and logs at most one a second.
func (r *fileReader) fail(what string, err error) {
	r.errs++
	if now := time.Now(); now.Sub(r.lastWarn) >= time.Second {
		r.log.Warn("media file: "+what+" errors", "count", r.errs, "last", err)
		r.lastWarn, r.errs = now, 0
	}
}
