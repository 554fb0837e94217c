package scene

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // image layers may be JPEG
	_ "image/png"  // or PNG (with alpha)
	"os"
	"path/filepath"
	"sync"
	"time"

	xdraw "golang.org/x/image/draw"
)

// Images keeps image layers decoded and scaled to the size they are drawn
// at, so a huge PNG is read and scaled once per size, not per frame nor per
// change of the scene; a file changed on disk is read again. It is safe
// for concurrent use. The zero value is ready.
type Images struct {
	mu      sync.Mutex
	entries map[imageKey]*image.RGBA
	scaled  int
}

type imageKey struct {
	path    string
	modTime time.Time
	size    int64
	w       int
	opacity float64
}

// maxEntries bounds the cache; it is emptied when full.
const maxEntries = 32

// get returns layer l's image scaled to its width on a w×h picture, alpha
// premultiplied and scaled by its opacity.
func (c *Images) get(dir string, l Layer, w, h int) (*image.RGBA, error) {
	path := l.Path
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w", unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PNG or JPEG image: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("%s: %dx%d pixels (at most %d Mpixels)", path, cfg.Width, cfg.Height, MaxImagePixels>>20)
	}
	// The drawn size: Size of the picture's width, or the image's own,
	// fitted inside the picture's margins.
	dw := cfg.Width
	if l.Size > 0 {
		dw = int(l.Size * float64(w))
	}
	dh := int(int64(dw) * int64(cfg.Height) / int64(cfg.Width))
	if dw > w || dh > h {
		if l.Size > 0 {
			return nil, fmt.Errorf("size %g makes it %dx%d, larger than the %dx%d picture", l.Size, dw, dh, w, h)
		}
	}
	if fw, fh := w-2*margin(h), h-2*margin(h); dw > fw || dh > fh {
		dw, dh = fw, int(int64(fw)*int64(cfg.Height)/int64(cfg.Width))
		if dh > fh {
			dw, dh = int(int64(fh)*int64(cfg.Width)/int64(cfg.Height)), fh
		}
	}
	dw, dh = max(dw, 1), max(dh, 1)
	opacity := l.Opacity
	if opacity == 0 {
		opacity = 1
	}
	key := imageKey{path: path, modTime: st.ModTime(), size: st.Size(), w: dw, opacity: opacity}
	c.mu.Lock()
	img := c.entries[key]
	c.mu.Unlock()
	if img != nil {
		return img, nil
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	src, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	img = image.NewRGBA(image.Rect(0, 0, dw, dh))
	if dw == cfg.Width && dh == cfg.Height {
		draw.Draw(img, img.Bounds(), src, src.Bounds().Min, draw.Src)
	} else {
		// Catmull-Rom's kernel widens with the reduction, so a big one
		// costs seconds: average k×k blocks first, down to no more than
		// twice the size, then filter.
		if k := min(cfg.Width/(2*dw), cfg.Height/(2*dh)); k >= 2 {
			src = shrink(src, k)
		}
		xdraw.CatmullRom.Scale(img, img.Bounds(), src, src.Bounds(), draw.Src, nil)
	}
	if opacity < 1 {
		a := uint32(opacity*256 + 0.5)
		for i, v := range img.Pix {
			img.Pix[i] = uint8(uint32(v) * a >> 8)
		}
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxEntries {
		c.entries = map[imageKey]*image.RGBA{}
	}
	c.entries[key] = img
	c.scaled++
	c.mu.Unlock()
	return img, nil
}

// shrink returns src reduced k times in each direction by averaging k×k
// blocks of premultiplied pixels (the edge's partial blocks dropped).
func shrink(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	rgba, ok := src.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
	}
	w, h := b.Dx()/k, b.Dy()/k
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	sum := make([]uint32, 4*w)
	n := uint32(k * k)
	for y := range h {
		clear(sum)
		for dy := range k {
			row := rgba.Pix[(y*k+dy)*rgba.Stride:]
			for x := range w {
				px := row[4*x*k : 4*(x+1)*k]
				for i := 0; i < len(px); i += 4 {
					sum[4*x] += uint32(px[i])
					sum[4*x+1] += uint32(px[i+1])
					sum[4*x+2] += uint32(px[i+2])
					sum[4*x+3] += uint32(px[i+3])
				}
			}
		}
		dst := out.Pix[y*out.Stride:]
		for i, v := range sum {
			dst[i] = uint8((v + n/2) / n)
		}
	}
	return out
}

// Scaled returns how many times an image was decoded and scaled.
func (c *Images) Scaled() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scaled
}

// unwrapPath keeps os errors short: "open x.png: no such file or directory".
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
