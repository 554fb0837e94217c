package capture

import (
	"errors"
	"fmt"
	"time"

	"golive/media"
)

// ErrNoClockStrip is returned by DecodeClockStrip when a picture holds no
// readable block clock strip (no contrast between the reference blocks, a
// wrong magic number or a bad checksum).
var ErrNoClockStrip = errors.New("capture: no readable clock strip in frame")

// The block clock strip (what the test pattern carries across its top, for
// machines to read): clockRows rows of clockCols blocks, each row
// Height/clockRowDiv tall, each block Width/clockCols wide, so that the
// geometry is the same fraction of the picture at any size. In every row
// the first block is white and the last black (the reference levels a
// reader thresholds against); the clockRows×(clockCols-2) blocks between
// them carry, MSB first, row by row: a 6-bit magic number, the capture
// time in Unix milliseconds (44 bits), the frame number modulo 2^32 (32
// bits) and a CRC-8 (polynomial 0x07, initial 0) of the 82 bits before it
// packed MSB first into 11 bytes (zero padded). White is a 1.
//
// At 426×240 a block is 13×10 pixels: it survives a bilinear downscale and
// x264 at 400 kbit/s, since readers average only each block's middle half.
// assets/web/clockstrip.js reads the same strip in a browser; keep the two
// in step.
const (
	clockRows    = 3
	clockCols    = 32
	clockRowDiv  = 24 // row height = Height/24: the strip is the top eighth
	clockMagic   = 0b101100
	clockMagicN  = 6
	clockMillisN = 44
	clockFrameN  = 32
	clockCRCN    = 8
	clockBits    = clockRows * (clockCols - 2) // 90
	clockWhite   = 235
	clockBlack   = 16
	// clockMinContrast is the least luma difference between a row's white
	// and black reference blocks for the row to be read.
	clockMinContrast = 64
)

// ClockStrip is what the block clock strip of a frame says: when it was
// captured and which frame it is.
type ClockStrip struct {
	// UnixMilli is the capture time in milliseconds since the Unix epoch
	// (0 to 2^44-1, up to the year 2527).
	UnixMilli int64
	// Frame is the frame number, modulo 2^32.
	Frame uint32
}

// Time returns the capture time.
func (c ClockStrip) Time() time.Time { return time.UnixMilli(c.UnixMilli) }

// NewClockStrip returns the strip for frame n captured at t.
func NewClockStrip(t time.Time, n int64) ClockStrip {
	return ClockStrip{UnixMilli: t.UnixMilli(), Frame: uint32(uint64(n))}
}

// clockStripHeight is the strip's height in a picture h pixels tall.
func clockStripHeight(h int) int { return clockRows * h / clockRowDiv }

// bits returns the strip's data bits, MSB first.
func (c ClockStrip) bits() [clockBits]bool {
	var b [clockBits]bool
	i := 0
	put := func(v uint64, n int) {
		for k := n - 1; k >= 0; k-- {
			b[i] = v>>k&1 == 1
			i++
		}
	}
	put(clockMagic, clockMagicN)
	put(uint64(c.UnixMilli)&(1<<clockMillisN-1), clockMillisN)
	put(uint64(c.Frame), clockFrameN)
	put(uint64(clockCRC(b[:i])), clockCRCN)
	return b
}

// clockCRC is CRC-8 (polynomial 0x07, initial 0, no reflection) of bits
// packed MSB first into bytes, the last one zero padded.
func clockCRC(bits []bool) byte {
	var crc byte
	for i := 0; i < len(bits); i += 8 {
		var by byte
		for k := range 8 {
			if i+k < len(bits) && bits[i+k] {
				by |= 0x80 >> k
			}
		}
		crc ^= by
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0x07
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// clockCell returns block (row, col)'s rectangle in a w×h picture:
// x0, y0 inclusive, x1, y1 exclusive.
func clockCell(w, h, row, col int) (int, int, int, int) {
	return col * w / clockCols, row * h / clockRowDiv, (col + 1) * w / clockCols, (row + 1) * h / clockRowDiv
}

// Encode draws the strip across the top of f (luma black or white, chroma
// neutral), over whatever was there.
func (c ClockStrip) Encode(f *media.VideoFrame) {
	bits := c.bits()
	fillRect(f, 0, 0, f.Width, clockStripHeight(f.Height), clockBlack, 128, 128)
	for row := range clockRows {
		for col := range clockCols {
			white := col == 0
			if col > 0 && col < clockCols-1 {
				white = bits[row*(clockCols-2)+col-1]
			}
			if !white {
				continue
			}
			x0, y0, x1, y1 := clockCell(f.Width, f.Height, row, col)
			fillY(f, x0, y0, x1-x0, y1-y0, clockWhite)
		}
	}
}

// DecodeClockStrip reads the block clock strip across the top of f, at any
// size (the strip scales with the picture) and after lossy coding: each
// block's middle half is averaged and compared with the midpoint of its
// row's white and black reference blocks. It returns ErrNoClockStrip when
// the picture has none or it does not check out.
func DecodeClockStrip(f *media.VideoFrame) (ClockStrip, error) {
	if err := f.Validate(); err != nil {
		return ClockStrip{}, fmt.Errorf("%w: %w", ErrNoClockStrip, err)
	}
	if f.Width < 2*clockCols || f.Height < 2*clockRowDiv {
		return ClockStrip{}, fmt.Errorf("%w: %dx%d is too small", ErrNoClockStrip, f.Width, f.Height)
	}
	var bits [clockBits]bool
	for row := range clockRows {
		white := clockMean(f, row, 0)
		black := clockMean(f, row, clockCols-1)
		if white-black < clockMinContrast {
			return ClockStrip{}, fmt.Errorf("%w: row %d: reference blocks %d/%d", ErrNoClockStrip, row, white, black)
		}
		mid := (white + black) / 2
		for col := 1; col < clockCols-1; col++ {
			bits[row*(clockCols-2)+col-1] = clockMean(f, row, col) >= mid
		}
	}
	i := 0
	get := func(n int) uint64 {
		var v uint64
		for range n {
			v <<= 1
			if bits[i] {
				v |= 1
			}
			i++
		}
		return v
	}
	if m := get(clockMagicN); m != clockMagic {
		return ClockStrip{}, fmt.Errorf("%w: magic %#b", ErrNoClockStrip, m)
	}
	c := ClockStrip{UnixMilli: int64(get(clockMillisN)), Frame: uint32(get(clockFrameN))}
	sum := byte(get(clockCRCN))
	if want := clockCRC(bits[:clockMagicN+clockMillisN+clockFrameN]); sum != want {
		return ClockStrip{}, fmt.Errorf("%w: checksum %#x, want %#x", ErrNoClockStrip, sum, want)
	}
	return c, nil
}

// clockMean is the mean luma of block (row, col)'s middle half.
func clockMean(f *media.VideoFrame, row, col int) int {
	x0, y0, x1, y1 := clockCell(f.Width, f.Height, row, col)
	dx, dy := (x1-x0)/4, (y1-y0)/4
	x0, x1, y0, y1 = x0+dx, x1-dx, y0+dy, y1-dy
	sum, n := 0, 0
	for y := y0; y < y1; y++ {
		for _, v := range f.Y[y*f.StrideY+x0 : y*f.StrideY+x1] {
			sum += int(v)
		}
		n += x1 - x0
	}
	if n == 0 {
		return 0
	}
	return sum / n
}
