package ladder

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"golive/media"
)

// ErrBadLadder is returned by ParseSpecs for a ladder it cannot read; it
// wraps media.ErrBadOption, like every option parser's error.
var ErrBadLadder = fmt.Errorf("%w: ladder", media.ErrBadOption)

// DefaultLadder is the --ladder default: the source's rung, then the
// standard rungs that are smaller than it.
const DefaultLadder = "720p,480p,360p,240p"

// Spec is one rung of the ladder.
type Spec struct {
	// Name is the rung's name and path element ("480p").
	Name string
	// Height is the picture's short side (its height for a landscape
	// source, its width for a portrait one); the long side follows the
	// source's aspect.
	Height int
	// Bitrate is the video bitrate in bit/s.
	Bitrate int
}

// referenceBitrate is the bitrate of a 480p rung; others scale with pixels.
const referenceBitrate = 1200_000

// BitrateFor returns the video bitrate for a picture of w x h pixels: it
// grows as pixels^0.8 from 1200 kbit/s at 854x480 (so 360p gets about
// 760k and 240p about 400k: small pictures need more bits per pixel), with
// a floor of 150k.
func BitrateFor(w, h int) int {
	br := float64(referenceBitrate) * math.Pow(float64(w*h)/float64(854*480), 0.8)
	return max(int(br)/1000*1000, 150_000)
}

// ParseSpecs reads a comma-separated ladder such as "720p,480p,360p" or
// "480p:1000k,240p" (an optional bitrate per rung).
func ParseSpecs(s string) ([]Spec, error) {
	var out []Spec
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, rate, hasRate := strings.Cut(part, ":")
		h, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(name), "p"))
		if err != nil || !strings.HasSuffix(strings.ToLower(name), "p") || h < 64 || h > 4320 || h%2 != 0 {
			return nil, fmt.Errorf("%w: rung %q (want e.g. 480p, even height 64-4320)", ErrBadLadder, part)
		}
		if seen[h] {
			return nil, fmt.Errorf("%w: rung %dp twice", ErrBadLadder, h)
		}
		seen[h] = true
		sp := Spec{Name: fmt.Sprintf("%dp", h), Height: h}
		if hasRate {
			br, err := media.ParseBitrate(rate)
			if err != nil { // the bitrate's own error would repeat "bad option"
				return nil, fmt.Errorf("%w: rung %q: want a bitrate such as 1000k, between 8k and 200M", ErrBadLadder, part)
			}
			sp.Bitrate = br
		}
		out = append(out, sp)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no rung in %q", ErrBadLadder, s)
	}
	return out, nil
}

// skipWithin is how close to the source's size (its short side) a rung
// may come before it is skipped: a rung that would cost a full encode
// for a picture within 15 % of the source's is left out.
const skipWithin = 0.15

// Plan picks the transcoded rungs for a source of srcW x srcH. A rung's
// name means the picture's short side, so a landscape source gets rungs
// of that height and a portrait one rungs of that width (720x1280 →
// 480p is 480x854). The plan holds the specs whose short side is more
// than 15 % below the source's, tallest first, each with its long side
// from the source's aspect ratio (even) and its bitrate (from the spec
// or BitrateFor). The source itself is the top rung and is not in the
// plan.
func Plan(specs []Spec, srcW, srcH int) []Rung {
	short, long := min(srcW, srcH), max(srcW, srcH)
	if short <= 0 {
		return nil
	}
	var out []Rung
	for _, sp := range specs {
		if float64(sp.Height) > float64(short)*(1-skipWithin) {
			continue
		}
		l := max(int(float64(long)*float64(sp.Height)/float64(short)+1)&^1, 2)
		r := Rung{Name: sp.Name, Width: l, Height: sp.Height, Bitrate: sp.Bitrate}
		if srcH > srcW {
			r.Width, r.Height = sp.Height, l
		}
		if r.Bitrate == 0 {
			r.Bitrate = BitrateFor(r.Width, r.Height)
		}
		out = append(out, r)
	}
	for i := 1; i < len(out); i++ { // tallest first
		for j := i; j > 0 && min(out[j].Width, out[j].Height) > min(out[j-1].Width, out[j-1].Height); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// SourceName returns the rung name of a source of w x h, after its short
// side ("720p" for 1280x720 and for 720x1280).
func SourceName(w, h int) string { return fmt.Sprintf("%dp", min(w, h)) }
