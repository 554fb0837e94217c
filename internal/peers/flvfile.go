package peers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	flv "github.com/yutopp/go-flv"
	flvtag "github.com/yutopp/go-flv/tag"

	"golive/media"
)

// FLVFile is an FLV file's content as GoLive packets: the parameters from
// its sequence headers and onMetaData, and every audio and video packet in
// file order (timestamps relative to the file, PTS = DTS + composition
// time).
type FLVFile struct {
	Video   media.CodecParams
	Audio   *media.CodecParams
	Packets []*media.Packet
}

// ReadFLV parses an FLV file (H.264 + AAC) with go-flv and fails the test
// on any error.
func ReadFLV(t testing.TB, file string) FLVFile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("read FLV: %v", err)
	}
	defer f.Close()
	out, err := DecodeFLV(bufio.NewReader(f))
	if err != nil {
		t.Fatalf("read FLV %s: %v", file, err)
	}
	return out
}

// DecodeFLV parses an FLV stream into packets.
func DecodeFLV(r io.Reader) (FLVFile, error) {
	var out FLVFile
	// go-flv reads tag headers with io.ReadAtLeast(r, buf, 1): a short
	// read (bufio boundary) would corrupt the tag, so every Read is
	// made to fill its buffer.
	dec, err := flv.NewDecoder(fullReader{r})
	if err != nil {
		return out, fmt.Errorf("header: %w", err)
	}
	for {
		var tag flvtag.FlvTag
		if err := dec.Decode(&tag); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return out, err
		}
		ts := time.Duration(tag.Timestamp) * time.Millisecond
		switch d := tag.Data.(type) {
		case *flvtag.ScriptData:
			if m, ok := d.Objects["onMetaData"]; ok {
				out.Video.Width = int(num(m["width"]))
				out.Video.Height = int(num(m["height"]))
				out.Video.FPS = num(m["framerate"])
				out.Video.Bitrate = int(num(m["videodatarate"]) * 1000)
			}
		case *flvtag.VideoData:
			data, err := io.ReadAll(d.Data)
			if err != nil {
				return out, err
			}
			if d.CodecID != flvtag.CodecIDAVC {
				return out, fmt.Errorf("video codec %d is not H.264", d.CodecID)
			}
			switch d.AVCPacketType {
			case flvtag.AVCPacketTypeSequenceHeader:
				out.Video.Codec, out.Video.Config = media.CodecH264, data
			case flvtag.AVCPacketTypeNALU:
				ct := time.Duration(d.CompositionTime) * time.Millisecond
				out.Packets = append(out.Packets, &media.Packet{
					Codec: media.CodecH264, Data: data, DTS: ts, PTS: ts + ct,
					Keyframe: d.FrameType == flvtag.FrameTypeKeyFrame,
				})
			}
		case *flvtag.AudioData:
			data, err := io.ReadAll(d.Data)
			if err != nil {
				return out, err
			}
			if d.SoundFormat != flvtag.SoundFormatAAC {
				return out, fmt.Errorf("audio format %d is not AAC", d.SoundFormat)
			}
			if d.AACPacketType == flvtag.AACPacketTypeSequenceHeader {
				a := &media.CodecParams{Codec: media.CodecAAC, Config: data}
				a.SampleRate, a.Channels = ascRate(data)
				out.Audio = a
				continue
			}
			out.Packets = append(out.Packets, &media.Packet{Codec: media.CodecAAC, Data: data, DTS: ts, PTS: ts, Keyframe: true})
		}
	}
}

func num(v interface{}) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

// ascRate reads the sample rate and channel count of a plain
// AudioSpecificConfig (no explicit frequency, no extensions).
func ascRate(asc []byte) (int, int) {
	rates := []int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}
	if len(asc) < 2 {
		return 0, 0
	}
	idx := int(asc[0]&7)<<1 | int(asc[1]>>7)
	ch := int(asc[1]>>3) & 0xF
	if idx >= len(rates) {
		return 0, ch
	}
	return rates[idx], ch
}

// fullReader fills the whole buffer on each Read unless the stream ends.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) {
	n, err := io.ReadFull(f.r, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	if n > 0 && err == io.EOF {
		return n, nil
	}
	return n, err
}
