package capture

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"golive/internal/peers"
)

// fakeTime is a capture clock with timers that fire when the clock
// reaches their deadline (at once when it already has): sources that wait
// on it run exactly as far as the test moves it.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	at time.Duration
	ch chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }
func (t *fakeTimer) Stop()               {}

// Now returns the fake time.
func (f *fakeTime) Now() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Ticker is a ticker factory whose tickers fire once, at now+d.
func (f *fakeTime) Ticker(d time.Duration) Ticker {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{at: f.now + d, ch: make(chan time.Time, 1)}
	if t.at <= f.now {
		t.ch <- time.Time{}
	} else {
		f.timers = append(f.timers, t)
	}
	return t
}

// Set moves the clock to d and fires the timers due by then.
func (f *fakeTime) Set(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = d
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.at <= d {
			t.ch <- time.Time{}
		} else {
			kept = append(kept, t)
		}
	}
	f.timers = kept
}

// makeMedia has the ffmpeg command line write a test file: args are its
// input and encoding options, name the file's name (its extension picks
// the container).
func makeMedia(t *testing.T, name string, args ...string) string {
	t.Helper()
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), name)
	b, err := exec.Command(ffmpeg, append(append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, args...), "-y", out)...).CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", b)
	return out
}

// clip10fps is one second of 160x120 testsrc2 at 10 fps with a tone.
func clip10fps(t *testing.T) string {
	return makeMedia(t, "clip.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "1", "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1")
}

func TestFilePacedAndLooping(t *testing.T) {
	leakCheck(t)
	path := clip10fps(t)
	ft := &fakeTime{}
	ft.Set(5 * time.Second) // the capture clock started earlier
	f := &File{Path: path, Width: 160, Height: 120, Clock: ft, Ticker: ft.Ticker, Buffer: 1, Logger: quietLog}
	require.NoError(t, f.Initialize())
	t.Cleanup(f.Close)
	base := 5 * time.Second
	var first [][]byte
	for n := range 25 { // 2.5 passes of 10 frames
		due := base + time.Duration(n)*100*time.Millisecond
		ft.Set(due)
		fr := recvFrame(t, f.Frames())
		require.Equal(t, due, fr.PTS, "frame %d", n)
		require.Equal(t, 160, fr.Width)
		if n < 10 {
			first = append(first, append([]byte(nil), fr.Y...))
		} else {
			require.Equal(t, first[n%10], fr.Y, "frame %d of pass %d is the file's frame %d again", n, n/10, n%10)
		}
		// Nothing comes before its time.
		select {
		case early := <-f.Frames():
			t.Fatalf("frame at %v handed on at %v", early.PTS, due)
		default:
		}
	}
	require.NotEqual(t, first[0], first[5], "the pictures move")
	st := f.Stats()
	require.Equal(t, StateRunning, st.State)
	require.Equal(t, uint64(25), st.Sent)
	require.Equal(t, "clip.mp4", st.Device)
	f.Close()
	f.Close()
	require.Equal(t, StateClosed, f.Stats().State)
}

func TestFileOnceEnds(t *testing.T) {
	leakCheck(t)
	ft := &fakeTime{}
	f := &File{Path: clip10fps(t), Once: true, Width: 160, Height: 120, Clock: ft, Ticker: ft.Ticker, Logger: quietLog}
	a := f.Audio()
	a.Ticker, a.Buffer = ft.Ticker, 100 // the reader below never falls behind
	require.NoError(t, f.Initialize())
	require.NoError(t, a.Initialize())
	t.Cleanup(f.Close)
	samples := make(chan int)
	go func() {
		n := 0
		for b := range a.Samples() {
			n += b.NumSamples()
		}
		samples <- n
	}()
	n := 0
	for ; ; n++ {
		ft.Set(time.Duration(n) * 100 * time.Millisecond)
		fr, ok := <-f.Frames()
		if !ok {
			break
		}
		require.Equal(t, time.Duration(n)*100*time.Millisecond, fr.PTS)
	}
	require.Equal(t, 10, n, "one pass, then Frames closes")
	ft.Set(time.Hour)
	require.InDelta(t, fileAudioRate, <-samples, fileAudioRate/10, "a second of audio, then Samples closes")
}

func TestFileAudioFollowsTheVideo(t *testing.T) {
	leakCheck(t)
	ft := &fakeTime{}
	f := &File{Path: clip10fps(t), Width: 160, Height: 120, Clock: ft, Ticker: ft.Ticker, Logger: quietLog}
	a := f.Audio()
	a.Ticker = ft.Ticker
	require.NoError(t, f.Initialize())
	require.NoError(t, a.Initialize())
	t.Cleanup(f.Close)
	go func() { // the video is not the test's business here
		for range f.Frames() {
		}
	}()
	next := time.Duration(0)
	var got time.Duration
	for got < 2500*time.Millisecond { // past two loop boundaries
		ft.Set(next)
		select {
		case b := <-a.Samples():
			require.Equal(t, fileAudioRate, b.SampleRate)
			require.Equal(t, fileAudioChannels, b.Channels)
			require.LessOrEqual(t, b.PTS, ft.Now(), "a block before its time")
			// Blocks follow each other without a gap or an overlap,
			// except where the file starts again (its audio may end a
			// little before or after its video).
			if got > 0 && (b.PTS-got < -25*time.Millisecond || b.PTS-got > 25*time.Millisecond) {
				t.Fatalf("block at %v after audio up to %v", b.PTS, got)
			}
			got = b.PTS + b.Duration()
			next = got + time.Millisecond // the next block is due at got, give or take a nanosecond of rounding
		case <-time.After(20 * time.Second):
			t.Fatalf("no audio block at %v", next)
		}
	}
	a.Close() // the video goes on without it
	ft.Set(time.Hour)
	recvFrame(t, f.Frames())
}

func TestFileFitsThePicture(t *testing.T) {
	leakCheck(t)
	// A 4:3 white picture into 16:9: black bars left and right.
	path := makeMedia(t, "white.mkv", "-f", "lavfi", "-i", "color=white:size=320x240:rate=5", "-t", "1", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p")
	ft := &fakeTime{}
	f := &File{Path: path, Width: 640, Height: 360, Clock: ft, Ticker: ft.Ticker, Logger: quietLog}
	require.NoError(t, f.Initialize())
	t.Cleanup(f.Close)
	fr := recvFrame(t, f.Frames())
	require.Equal(t, 640, fr.Width)
	require.Equal(t, 360, fr.Height)
	row := fr.Y[180*fr.StrideY : 180*fr.StrideY+640]
	require.Equal(t, byte(16), row[10], "black bar on the left")
	require.Equal(t, byte(16), row[630], "black bar on the right")
	require.Greater(t, row[320], byte(200), "the white picture in the middle")
	require.Greater(t, fr.Y[5*fr.StrideY+320], byte(200), "it fills the height")
}

func TestFileRefusesWhatItCannotPlay(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	require.NoError(t, os.WriteFile(text, []byte("these are not the frames you are looking for"), 0o644))
	audioOnly := makeMedia(t, "tone.m4a", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-c:a", "aac")
	videoOnly := makeMedia(t, "silent.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5", "-t", "1", "-c:v", "libx264")
	for _, c := range []struct{ path, why string }{
		{filepath.Join(dir, "missing.mp4"), "no such file"},
		{dir, "is a directory"},
		{text, "not a media file"},
		{audioOnly, "no video track"},
		{"", "no file named"},
	} {
		f := &File{Path: c.path, Width: 64, Height: 48, Logger: quietLog}
		err := f.Initialize()
		require.ErrorIs(t, err, ErrFile, c.path)
		require.ErrorContains(t, err, c.why)
		f.Close()
	}
	f := &File{Path: videoOnly, Width: 64, Height: 48, Logger: quietLog}
	a := f.Audio()
	require.NoError(t, f.Initialize())
	err := a.Initialize()
	require.ErrorIs(t, err, ErrFile)
	require.ErrorContains(t, err, "no audio track")
	f.Close()
	a.Close()
	var zero File
	zero.Close() // Close without Initialize is fine
}

func TestFileRealTime(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := NewClock()
	f := &File{Path: clip10fps(t), Width: 160, Height: 120, Clock: clock, Logger: quietLog}
	require.NoError(t, f.Initialize())
	defer f.Close()
	first := recvFrame(t, f.Frames())
	for n := 1; n <= 4; n++ {
		fr := recvFrame(t, f.Frames())
		require.Equal(t, first.PTS+time.Duration(n)*100*time.Millisecond, fr.PTS)
		require.LessOrEqual(t, fr.PTS, clock.Now(), "frame handed on before it was due")
	}
}

func TestFileRestart(t *testing.T) {
	leakCheck(t)
	ft := &fakeTime{}
	f := &File{Path: clip10fps(t), Width: 160, Height: 120, Clock: ft, Ticker: ft.Ticker, Buffer: 2, Logger: quietLog}
	a := f.Audio()
	a.Ticker = ft.Ticker
	require.NoError(t, f.Initialize())
	require.NoError(t, a.Initialize())
	t.Cleanup(f.Close)
	var first []byte
	for n := range 5 {
		ft.Set(time.Duration(n) * 100 * time.Millisecond)
		fr := recvFrame(t, f.Frames())
		if n == 0 {
			first = fr.Y
		}
	}
	// Frames 5 and 6 fill the channel, unread; audio piles up too.
	ft.Set(650 * time.Millisecond)
	require.Eventually(t, func() bool { return len(f.Frames()) == 2 }, 20*time.Second, time.Millisecond)
	f.Restart()
	require.Empty(t, f.Frames(), "nothing from before the restart is handed on")
	require.Empty(t, a.Samples())
	fr := recvFrame(t, f.Frames())
	require.Equal(t, 650*time.Millisecond, fr.PTS, "the file starts again now")
	require.Equal(t, first, fr.Y, "from its first frame")
	ft.Set(750 * time.Millisecond)
	require.Equal(t, 750*time.Millisecond, recvFrame(t, f.Frames()).PTS)
	select {
	case b := <-a.Samples():
		require.GreaterOrEqual(t, b.PTS, 650*time.Millisecond, "the audio restarted with it")
	case <-time.After(20 * time.Second):
		t.Fatal("no audio after the restart")
	}
}
