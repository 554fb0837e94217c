package capture

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golive/media"
)

// ErrNoStamp is returned by ReadStamp when the frame holds no readable
// burned-in time and frame counter.
var ErrNoStamp = errors.New("capture: no readable stamp in frame")

// glyphs is a 5x7 bitmap font: each glyph is 7 rows of 5 bits, MSB left.
var glyphs = map[rune][7]uint8{
	'0': {0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110},
	'1': {0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110},
	'2': {0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111},
	'3': {0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110},
	'4': {0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010},
	'5': {0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110},
	'6': {0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110},
	'7': {0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000},
	'8': {0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110},
	'9': {0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100},
	':': {0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000},
	'.': {0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100},
	'#': {0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010},
	'-': {0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000},
	' ': {},
	'A': {0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001},
	'B': {0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110},
	'C': {0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110},
	'D': {0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100},
	'E': {0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111},
	'F': {0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000},
	'G': {0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111},
	'H': {0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001},
	'I': {0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110},
	'K': {0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001},
	'L': {0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111},
	'M': {0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001},
	'N': {0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001},
	'O': {0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110},
	'P': {0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000},
	'R': {0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001},
	'S': {0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110},
	'T': {0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100},
	'U': {0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110},
	'V': {0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100},
	'W': {0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010},
	'Y': {0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100},
}

const (
	glyphW, glyphH = 5, 7
	cellW, cellH   = 6, 9 // glyph plus spacing, in font pixels
	stampChars     = 12   // "HH:MM:SS.mmm" and "#NNNNNNNNNN" fit in 12 cells
	textY, backY   = 235, 16
)

// stampLayout is where the stamp's two lines go in a picture of a size.
type stampLayout struct {
	x, y, scale int // top-left of the first line's first cell; font pixel size
}

// layoutFor returns the stamp layout for a w×h picture: two lines of 12
// cells, centred in the bottom third, font pixels about h/60 tall (12 px at
// 720p, so still 4 px after a downscale to 240p).
func layoutFor(w, h int) stampLayout {
	scale := min(h/60, w/(cellW*(stampChars+1)))
	scale = max(scale, 1)
	x := (w - stampChars*cellW*scale) / 2
	y := h - 2*cellH*scale - scale
	return stampLayout{x: max(x, 0), y: max(y, 0), scale: scale}
}

// box returns the background rectangle behind the stamp (x0,y0,x1,y1).
func (l stampLayout) box(w, h int) (int, int, int, int) {
	return max(l.x-l.scale, 0), max(l.y-l.scale, 0),
		min(l.x+stampChars*cellW*l.scale+l.scale, w), min(l.y+2*cellH*l.scale, h)
}

// stampText returns the two lines burned into frame n at wall time t.
func stampText(t time.Time, n int64) (string, string) {
	return t.UTC().Format("15:04:05.000"), fmt.Sprintf("#%010d", n%10_000_000_000)
}

// drawText writes s into the Y plane at (x, y) with font pixels of
// scale×scale, setting lit pixels to val; anything off the picture is
// clipped. Unlit pixels are left alone.
func drawText(f *media.VideoFrame, x, y, scale int, s string, val byte) {
	for i, r := range s {
		g := glyphs[r]
		for gy := 0; gy < glyphH; gy++ {
			bitsRow := g[gy]
			if bitsRow == 0 {
				continue
			}
			for gx := 0; gx < glyphW; gx++ {
				if bitsRow&(1<<(glyphW-1-gx)) == 0 {
					continue
				}
				fillY(f, x+(i*cellW+gx)*scale, y+gy*scale, scale, scale, val)
			}
		}
	}
}

// fillY sets a clipped rectangle of the Y plane to val.
func fillY(f *media.VideoFrame, x, y, w, h int, val byte) {
	x0, y0 := max(x, 0), max(y, 0)
	x1, y1 := min(x+w, f.Width), min(y+h, f.Height)
	if x0 >= x1 {
		return
	}
	for row := y0; row < y1; row++ {
		line := f.Y[row*f.StrideY+x0 : row*f.StrideY+x1]
		for i := range line {
			line[i] = val
		}
	}
}

// fillRect sets a clipped rectangle of all three planes (chroma at half
// resolution, covering every chroma sample the rectangle touches).
func fillRect(f *media.VideoFrame, x, y, w, h int, yv, uv, vv byte) {
	fillY(f, x, y, w, h, yv)
	cw, ch := f.ChromaSize()
	x0, y0 := max(x, 0)/2, max(y, 0)/2
	x1, y1 := min((x+w+1)/2, cw), min((y+h+1)/2, ch)
	if x0 >= x1 {
		return
	}
	for row := y0; row < y1; row++ {
		u := f.U[row*f.StrideU+x0 : row*f.StrideU+x1]
		v := f.V[row*f.StrideV+x0 : row*f.StrideV+x1]
		for i := range u {
			u[i], v[i] = uv, vv
		}
	}
}

// Stamp is what ReadStamp found burned into a test-pattern frame.
type Stamp struct {
	// Wall is the wall-clock time of day (UTC) the frame was due, with
	// millisecond precision, as HH:MM:SS.mmm.
	Wall string
	// Frame is the frame's index on the capture clock (PTS × FPS).
	Frame int64
}

// TimeOfDay returns Wall as a duration since midnight UTC.
func (s Stamp) TimeOfDay() (time.Duration, error) {
	t, err := time.Parse("15:04:05.000", s.Wall)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoStamp, err)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond()), nil
}

// ReadStamp reads the wall-clock time and frame counter that TestPattern
// burned into f, which must be at the size it was made at (it survives
// lossy encoding: each font pixel is sampled at its centre and every cell
// matched to the nearest glyph). Use it to measure latency off a decoded
// picture.
func ReadStamp(f *media.VideoFrame) (Stamp, error) {
	if err := f.Validate(); err != nil {
		return Stamp{}, fmt.Errorf("%w: %w", ErrNoStamp, err)
	}
	l := layoutFor(f.Width, f.Height)
	if l.x+stampChars*cellW*l.scale > f.Width || l.y+2*cellH*l.scale > f.Height {
		return Stamp{}, fmt.Errorf("%w: %dx%d is too small for a stamp", ErrNoStamp, f.Width, f.Height)
	}
	line1 := readLine(f, l, l.y, "0123456789:.")
	line2 := readLine(f, l, l.y+cellH*l.scale, "0123456789# ")
	if len(line1) != 12 || line1[2] != ':' || line1[5] != ':' || line1[8] != '.' || !strings.HasPrefix(line2, "#") {
		return Stamp{}, fmt.Errorf("%w: read %q / %q", ErrNoStamp, line1, line2)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(line2[1:]), 10, 64)
	if err != nil {
		return Stamp{}, fmt.Errorf("%w: counter %q", ErrNoStamp, line2)
	}
	s := Stamp{Wall: line1, Frame: n}
	if _, err := s.TimeOfDay(); err != nil {
		return Stamp{}, err
	}
	return s, nil
}

// readLine matches each of the 12 cells of a text line against the
// allowed glyphs and returns the best matches.
func readLine(f *media.VideoFrame, l stampLayout, y int, allowed string) string {
	var b strings.Builder
	for c := 0; c < stampChars; c++ {
		var cell [7]uint8
		for gy := 0; gy < glyphH; gy++ {
			for gx := 0; gx < glyphW; gx++ {
				px := l.x + (c*cellW+gx)*l.scale + l.scale/2
				py := y + gy*l.scale + l.scale/2
				if f.Y[py*f.StrideY+px] >= (textY+backY)/2 {
					cell[gy] |= 1 << (glyphW - 1 - gx)
				}
			}
		}
		best, bestDist := ' ', 1<<30
		for _, r := range allowed {
			g := glyphs[r]
			d := 0
			for i := range cell {
				d += popcount(cell[i] ^ g[i])
			}
			if d < bestDist {
				best, bestDist = r, d
			}
		}
		if bestDist > 4 {
			best = '?'
		}
		b.WriteRune(best)
	}
	return b.String()
}

func popcount(x uint8) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
