package peers

import (
	"encoding/binary"
	"os"
	"time"
)

// FLVProgress is how far a growing FLV file (nginx-rtmp's recording of a
// stream still being published) has got.
type FLVProgress struct {
	// Frames counts the video frames (not sequence headers) in the
	// complete tags so far.
	Frames int
	// Last is the timestamp of the last of them.
	Last time.Duration
}

// ReadFLVProgress reads the complete tags of an FLV file that may still
// be written to: a tag cut off at the end is left for the next read. A
// missing file is zero progress.
func ReadFLVProgress(path string) (FLVProgress, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return FLVProgress{}, nil
	}
	if err != nil {
		return FLVProgress{}, err
	}
	var p FLVProgress
	if len(b) < 13 {
		return p, nil
	}
	pos := int(binary.BigEndian.Uint32(b[5:9])) + 4 // header, then the first PreviousTagSize
	for pos+11 <= len(b) {
		typ := b[pos] & 0x1f
		size := int(b[pos+1])<<16 | int(b[pos+2])<<8 | int(b[pos+3])
		ts := uint32(b[pos+4])<<16 | uint32(b[pos+5])<<8 | uint32(b[pos+6]) | uint32(b[pos+7])<<24
		end := pos + 11 + size + 4
		if end > len(b) {
			break
		}
		body := b[pos+11 : pos+11+size]
		// A video tag of AVC NALUs (AVCPacketType 1); not the sequence
		// header (0) or the end of sequence (2).
		if typ == 9 && len(body) >= 2 && body[0]&0x0f == 7 && body[1] == 1 {
			p.Frames++
			p.Last = time.Duration(ts) * time.Millisecond
		}
		pos = end
	}
	return p, nil
}
