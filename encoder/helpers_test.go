package encoder

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"golive/media"
)

// patternFrame draws a moving test pattern (gradient, a bouncing box and,
// with noise, a deterministic grain that makes frames expensive to code).
func patternFrame(w, h, i, fps int, noise bool) *media.VideoFrame {
	f := media.NewVideoFrame(w, h)
	seed := uint32(i*2654435761 + 1)
	bx, by := (i*7)%max(w-32, 1), (i*5)%max(h-32, 1)
	for y := range h {
		row := f.Y[y*f.StrideY:]
		for x := range w {
			v := byte(x + y + i*3)
			if x >= bx && x < bx+32 && y >= by && y < by+32 {
				v = 235
			}
			if noise {
				seed = seed*1664525 + 1013904223
				v += byte(seed>>24) & 0x3F
			}
			row[x] = v
		}
	}
	cw, ch := f.ChromaSize()
	for y := range ch {
		for x := range cw {
			f.U[y*f.StrideU+x] = byte(128 + x - i)
			f.V[y*f.StrideV+x] = byte(128 + y + i)
		}
	}
	f.PTS = time.Duration(i) * time.Second / time.Duration(fps)
	return f
}

// tone returns n interleaved samples per channel of a 1 kHz sine.
func tone(rate, channels, n, offset int) []int16 {
	out := make([]int16, n*channels)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*1000*float64(i+offset)/float64(rate)))
		for c := range channels {
			out[i*channels+c] = v
		}
	}
	return out
}

// logBuffer is a slog handler target safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger returns a logger writing text records at debug level to buf.
func testLogger(buf *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// quietLogger discards records below warning.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// runTool runs a command with a generous timeout and returns stdout.
func runTool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\nstderr: %s", name, args, err, stderr.String())
	}
	return out
}
