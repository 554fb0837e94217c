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
func openFileReader(path string, width, height int, wantAudio bool, log *slog.Logger) (_ *fileReader, err error) {
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
	r := &fileReader{path: path, log: log, width: width, height: height, audioStart: -1}
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

// run decodes the file pass after pass (once with once), sending pictures
// on video and, when audio is not nil, audio blocks on it; it closes both
// and frees the reader when it returns: at the end of the file played
// once, when ctx ends, or when the file cannot be read any more.
// audioDone closes when the audio consumer is gone.
func (r *fileReader) run(ctx context.Context, once bool, video chan<- fileFrame, audio chan<- fileSamples, audioDone <-chan struct{}) {
	defer r.close()
	defer close(video)
	if audio != nil {
		defer close(audio)
	}
	for {
		if !r.pass(ctx, video, audio, audioDone) || once {
			return
		}
		if r.passEnd <= 0 {
			r.log.Error("media file: nothing decoded in a whole pass; stopping")
			return
		}
		r.offset += r.passEnd
		r.passEnd, r.audioStart, r.audioN = 0, -1, 0
		if err := r.rewind(); err != nil {
			r.log.Error("media file: cannot start it again", "err", err)
			return
		}
	}
}

// pass reads the file to its end; false when ctx ended.
func (r *fileReader) pass(ctx context.Context, video chan<- fileFrame, audio chan<- fileSamples, audioDone <-chan struct{}) bool {
	for {
		if err := r.fc.ReadFrame(r.pkt); err != nil {
			if !errors.Is(err, astiav.ErrEof) {
				r.log.Warn("media file: read error; taking it as the end", "err", err)
			}
			break
		}
		ok := true
		switch idx := r.pkt.StreamIndex(); {
		case idx == r.vs.Index():
			ok = r.decode(ctx, r.vdec, r.pkt, video, audio, audioDone)
		case r.adec != nil && !r.audioOff && idx == r.as.Index():
			ok = r.decode(ctx, r.adec, r.pkt, video, audio, audioDone)
		}
		r.pkt.Unref()
		if !ok {
			return false
		}
	}
	if !r.decode(ctx, r.vdec, nil, video, audio, audioDone) { // drain
		return false
	}
	if r.adec != nil && !r.audioOff {
		return r.decode(ctx, r.adec, nil, video, audio, audioDone)
	}
	return true
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
// false when ctx ended.
func (r *fileReader) decode(ctx context.Context, dec *astiav.CodecContext, pkt *astiav.Packet,
	video chan<- fileFrame, audio chan<- fileSamples, audioDone <-chan struct{}) bool {
	if err := dec.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEof) {
		r.fail("decode", err)
		return true
	}
	for {
		if err := dec.ReceiveFrame(r.frame); err != nil {
			if !errors.Is(err, astiav.ErrEagain) && !errors.Is(err, astiav.ErrEof) {
				r.fail("decode", err)
			}
			return true
		}
		ok := true
		if dec == r.vdec {
			ok = r.picture(ctx, video)
		} else {
			ok = r.samples(ctx, audio, audioDone)
		}
		r.frame.Unref()
		if !ok {
			return false
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
// black around) and sends it; false when ctx ended.
func (r *fileReader) picture(ctx context.Context, video chan<- fileFrame) bool {
	t, ok := r.mediaTime(r.vs)
	if !ok {
		t = r.offset + r.passEnd // no timestamp: right after the last one
	}
	r.passEnd = max(r.passEnd, t-r.offset+r.period)
	f, err := r.convert()
	if err != nil {
		r.fail("convert", err)
		return true
	}
	select {
	case video <- fileFrame{f: f, t: t}:
		return true
	case <-ctx.Done():
		return false
	}
}

// convert scales r.frame into a new media.VideoFrame.
func (r *fileReader) convert() (*media.VideoFrame, error) {
	sw, sh, pf := r.frame.Width(), r.frame.Height(), r.frame.PixelFormat()
	if sw <= 0 || sh <= 0 {
		return nil, fmt.Errorf("decoded picture of %dx%d", sw, sh)
	}
	fw, fh := fitInside(sw, sh, r.width, r.height)
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
	var img image.YCbCr
	if err := r.scaled.Data().ToImage(&img); err != nil { // a new Go copy, tightly packed
		return nil, err
	}
	pic := &media.VideoFrame{Width: fw, Height: fh, Y: img.Y, U: img.Cb, V: img.Cr,
		StrideY: img.YStride, StrideU: img.CStride, StrideV: img.CStride}
	if fw == r.width && fh == r.height {
		return pic, nil
	}
	out := media.NewVideoFrame(r.width, r.height)
	fillRect(out, 0, 0, r.width, r.height, 16, 128, 128)
	ox, oy := (r.width-fw)/2&^1, (r.height-fh)/2&^1
	copyPlane(out.Y[oy*out.StrideY+ox:], out.StrideY, pic.Y, pic.StrideY, fw, fh)
	copyPlane(out.U[oy/2*out.StrideU+ox/2:], out.StrideU, pic.U, pic.StrideU, fw/2, fh/2)
	copyPlane(out.V[oy/2*out.StrideV+ox/2:], out.StrideV, pic.V, pic.StrideV, fw/2, fh/2)
	return out, nil
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

// samples resamples the decoded audio to 48 kHz stereo s16 and sends it;
// false when ctx ended.
func (r *fileReader) samples(ctx context.Context, audio chan<- fileSamples, audioDone <-chan struct{}) bool {
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
		return true
	}
	if a == nil {
		return true
	}
	t := r.audioStart + time.Duration(r.audioN)*time.Second/fileAudioRate
	r.audioN += int64(a.NumSamples())
	r.passEnd = max(r.passEnd, t-r.offset+a.Duration())
	select {
	case audio <- fileSamples{a: a, t: t}:
	case <-audioDone:
		r.audioOff = true // nobody listens: stop decoding audio
	case <-ctx.Done():
		return false
	}
	return true
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
