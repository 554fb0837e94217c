package encoder

import (
	"fmt"
	"time"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// Encode encodes one frame, forcing an IDR keyframe when forceKey is set,
// and returns the packets the encoder has ready (possibly none).
func (e *H264) Encode(f *media.VideoFrame, forceKey bool) ([]*media.Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.addTime(time.Now())
	err := e.accept(func() error {
		if err := f.Validate(); err != nil {
			return err
		}
		if f.Width != e.Width || f.Height != e.Height {
			return fmt.Errorf("%w: got %dx%d, want %dx%d", ErrFrameSize, f.Width, f.Height, e.Width, e.Height)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if e.staging == nil {
		err = fillFrame(e.frame, f)
	} else if err = fillFrame(e.staging, f); err == nil {
		err = e.convertInto(e.staging)
	}
	if err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	return e.encode(e.frame, f.PTS, forceKey)
}

// EncodePicture is Encode without copying: a libx264 (YUV420P) encoder
// reads the picture's planes in place; others get them copied into their
// own frame first, as does a lent picture. It sets the picture's FFmpeg
// timestamp and picture type; the caller keeps ownership and may refill
// the picture once EncodePicture has returned.
func (e *H264) EncodePicture(p *Picture, forceKey bool) ([]*media.Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.addTime(time.Now())
	err := e.accept(func() error {
		if err := p.usable(); err != nil {
			return err
		}
		if w, h := p.f.Width(), p.f.Height(); w != e.Width || h != e.Height || !isYuv420(p.f.PixelFormat()) {
			return fmt.Errorf("%w: got %dx%d %s, want %dx%d yuv420p", ErrFrameSize, w, h, p.f.PixelFormat(), e.Width, e.Height)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if e.set.PixFmt == astiav.PixelFormatYuv420P && !p.borrowed {
		return e.encode(p.f, p.PTS, forceKey) // in place
	}
	if err := e.convertInto(p.f); err != nil {
		e.skip()
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	return e.encode(e.frame, p.PTS, forceKey)
}

// accept is the prologue Encode and EncodePicture share: the encoder must
// be usable and the input must pass check; a bitrate asked for by
// SetBitrate is then applied. A refused input counts as skipped.
func (e *H264) accept(check func() error) error {
	err := e.usable()
	if err == nil {
		err = check()
	}
	if err != nil {
		e.skip()
		return fmt.Errorf("h264 encode: %w", err)
	}
	e.applyBitrate()
	return nil
}

// convertInto copies the 4:2:0 8-bit frame src into the encoder's own
// frame in the encoder's pixel format (libswscale at the same size: an
// exact copy, or YUV420P → NV12).
func (e *H264) convertInto(src *astiav.Frame) error {
	if e.conv == nil {
		e.conv = &Scaler{Logger: e.Logger}
	}
	return e.conv.frameInto(src, e.frame)
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
		if err := e.upload(frame); err != nil {
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

// upload copies the software frame sw into a surface from the encoder's
// hardware frames context (VAAPI), with its timestamp and picture type.
func (e *H264) upload(sw *astiav.Frame) error {
	e.hwFrame.Unref()
	if err := e.hwFrame.AllocHardwareBuffer(e.hwFrames); err != nil {
		return fmt.Errorf("av_hwframe_get_buffer: %w", err)
	}
	if err := sw.TransferHardwareData(e.hwFrame); err != nil {
		e.hwFrame.Unref()
		return fmt.Errorf("av_hwframe_transfer_data: %w", err)
	}
	e.hwFrame.SetPts(sw.Pts())
	e.hwFrame.SetPictureType(sw.PictureType())
	return nil
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
	receive := func() error { return e.cc.ReceivePacket(e.pkt) }
	out, err := drain(receive, "avcodec_receive_packet", e.convert, e.pkt.Unref)
	if err != nil {
		return out, fmt.Errorf("h264 encode: %w", err)
	}
	return out, nil
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

// applyBitrate hands a bitrate set by SetBitrate to the encoder (as
// bitrate, maxrate and a one-second VBV buffer); libx264 reconfigures
// itself when they change between frames.
func (e *H264) applyBitrate() {
	want := int(e.wantBitrate.Load())
	if want == e.curBitrate {
		return
	}
	e.cc.SetBitRate(int64(want))
	e.cc.SetRateControlMaxRate(int64(want))
	e.cc.SetRateControlBufferSize(want)
	e.log.Debug("bitrate changed", "from", e.curBitrate, "to", want)
	e.curBitrate = want
	e.statsMu.Lock()
	e.stats.Bitrate = want
	e.statsMu.Unlock()
}
