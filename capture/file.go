package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golive/media"
)

// ErrFile is returned by File.Initialize (and FileAudio.Initialize) when
// the media file cannot be used: missing, unreadable, not a media file FFmpeg
// reads, without a video track, or (for its audio) without an audio track.
// The message names the file and the reason.
var ErrFile = errors.New("capture: media file unusable")

// File is a VideoSource that plays a media file — any container and codecs
// the linked FFmpeg reads — decoded with go-astiav, paced at the file's own
// frame rate on the capture clock, scaled to fit Width×Height (aspect kept,
// black around). It loops by default; with Once it plays the file once and
// then closes Frames, which ends the stream. Its audio track is a separate
// AudioSource, Audio(), fed from the same decoding so the two stay in step
// across loops.
//
// One goroutine reads and decodes the file ahead of the clock (a fraction
// of a second); one paces the video frames out, and one the audio when
// Audio was asked for. A frame more than a second late (the machine cannot
// decode in real time) is skipped and counted when a newer one waits;
// frames the consumer is not ready for are dropped and counted, as with
// every source.
type File struct {
	// Path is the media file.
	Path string
	// Once plays the file once instead of looping.
	Once bool
	// Width and Height are the picture size; default 1280×720. Both must
	// be even.
	Width, Height int
	// Clock is the capture clock; default NewClock(). Share it with the
	// audio source.
	Clock Clock
	// Ticker makes the timer that wakes the video pacer; default NewTicker.
	Ticker func(d time.Duration) Ticker
	// Buffer is the capacity of the Frames channel; default 2.
	Buffer int
	// Logger receives the source's log; default slog.Default().
	Logger *slog.Logger

	audio *FileAudio // set by Audio before Initialize

	initOnce sync.Once
	initErr  error
	reader   *fileReader
	video    chan fileFrame // decoded frames, ahead of the clock
	out      chan *media.VideoFrame
	stats    counters
	ctx      context.Context
	period   time.Duration // the file's nominal frame duration
	// epoch counts restarts; what was decoded before the last one is
	// stale. outMu makes "still current? then hand it on" one step against
	// Restart.
	epoch   atomic.Int64
	outMu   sync.Mutex
	restart chan struct{} // wakes the reader for a restart
	wake    chan struct{} // wakes the pacer for a restart
	lifecycle
}

// fileFrame is a decoded picture, when it is due on the capture clock,
// and the restart epoch it belongs to.
type fileFrame struct {
	f     *media.VideoFrame
	due   time.Duration
	epoch int64
}

// fileSamples is a decoded audio block, when it is due, and its epoch.
type fileSamples struct {
	a     *media.AudioFrame
	due   time.Duration
	epoch int64
}

// Restarter is implemented by sources that can start again from their
// beginning (a media file); broadcast restarts them when it goes live.
type Restarter interface {
	Restart()
}

// Audio returns the file's audio track as an AudioSource, decoded with the
// video (48 kHz stereo blocks on the same clock). Call it before
// Initialize; its Initialize fails with ErrFile when the file has no audio
// track. Closing it stops the audio; closing the File stops both.
func (f *File) Audio() *FileAudio {
	if f.audio == nil {
		f.audio = &FileAudio{file: f}
	}
	return f.audio
}

// Initialize opens the file (errors wrap ErrFile), checks the
// configuration and starts decoding and pacing.
func (f *File) Initialize() error {
	f.initOnce.Do(func() { f.initErr = f.initialize() })
	return f.initErr
}

func (f *File) initialize() error {
	fps := 30 // only checked here: the file's own rate paces it
	if err := videoDefaults("media file", &f.Width, &f.Height, &fps, &f.Clock, &f.Ticker); err != nil {
		return err
	}
	if f.Buffer <= 0 {
		f.Buffer = 2
	}
	if f.Logger == nil {
		f.Logger = slog.Default().With("stage", "capture")
	}
	f.Logger = f.Logger.With("source", "file", "path", f.Path)
	r, err := openFileReader(f.Path, f.Clock, f.Width, f.Height, f.audio != nil, f.Logger)
	if err != nil {
		return err
	}
	f.reader, f.period = r, r.period
	// Decoded frames wait here for their time: half a second of video,
	// two of audio, so a file whose tracks are interleaved coarsely never
	// starves one while the other's queue is full.
	f.video = make(chan fileFrame, max(2, int(time.Second/2/r.period)))
	f.out = make(chan *media.VideoFrame, f.Buffer)
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.restart, f.wake = make(chan struct{}, 1), make(chan struct{}, 1)
	f.stats.setState(StateRunning)
	var audio chan fileSamples
	var audioDone chan struct{}
	if f.audio != nil && r.hasAudio {
		audio = make(chan fileSamples, 100)
		f.audio.start(audio)
		audioDone = f.audio.done
	}
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		r.run(f.ctx, fileRun{once: f.Once, epoch: &f.epoch, restart: f.restart,
			video: f.video, audio: audio, audioDone: audioDone})
	}()
	go f.pace()
	return nil
}

// Restart plays the file again from its beginning, starting now: what was
// decoded or queued before is dropped, and once Restart returns no frame or
// audio block from before it is handed on. Going live calls it, so that a
// file starts on air from its first frame. It does nothing before
// Initialize or after a file played Once has ended.
func (f *File) Restart() {
	if f.out == nil {
		return
	}
	f.outMu.Lock()
	defer f.outMu.Unlock()
	var a *FileAudio
	if f.audio != nil && f.audio.out != nil {
		a = f.audio
		a.outMu.Lock()
		defer a.outMu.Unlock()
	}
	f.epoch.Add(1)
	drain(f.out)
	if a != nil {
		drain(a.out)
	}
	wake := []chan struct{}{f.restart, f.wake}
	if a != nil {
		wake = append(wake, a.wake)
	}
	for _, ch := range wake {
		select {
		case ch <- struct{}{}:
		default: // one is pending already
		}
	}
}

// drain empties a channel its receivers have not taken yet.
func drain[T any](ch chan T) {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// Frames returns the channel of frames; it is closed after Close, or when
// a file played Once has ended. It is nil before Initialize.
func (f *File) Frames() <-chan *media.VideoFrame { return f.out }

// Close stops decoding and pacing (the audio too) and waits for the
// goroutines; it is idempotent.
func (f *File) Close() {
	f.lifecycle.close(&f.stats)
	if f.audio != nil {
		f.audio.Close()
	}
}

// Stats returns a snapshot of the source's counters.
func (f *File) Stats() SourceStats { return f.stats.snapshot(filepath.Base(f.Path)) }

// pace sends each decoded frame when it is due on the capture clock.
func (f *File) pace() {
	defer f.wg.Done()
	defer close(f.out)
	for {
		var fr fileFrame
		var ok bool
		select {
		case <-f.ctx.Done():
			return
		case fr, ok = <-f.video:
		}
		if !ok {
			f.stats.setState(StateClosed) // played once: the end
			return
		}
		if fr.epoch != f.epoch.Load() {
			continue // decoded before a restart
		}
		if f.Clock.Now() > fr.due+maxFileLate(f.period) && len(f.video) > 0 {
			f.stats.skipped.Add(1) // far behind, and a later frame is due already
			continue
		}
		if !waitUntil(f.ctx, f.Clock, f.Ticker, fr.due, f.wake, func() bool { return fr.epoch != f.epoch.Load() }) {
			return
		}
		f.outMu.Lock()
		sent := true
		if fr.epoch == f.epoch.Load() {
			fr.f.PTS = fr.due
			sent = offer(&f.stats, f.ctx.Done(), f.out, fr.f, fr.due, false)
		}
		f.outMu.Unlock()
		if !sent && f.ctx.Err() != nil {
			return
		}
	}
}

// maxFileLate is how late a decoded frame may be and still be handed on
// (with its due time as PTS, so the stream's timing is unchanged): a busy
// machine stalls the decoder now and then, and it catches up. Later than
// that, while a newer frame waits, it is skipped so that lateness never
// grows: thirty frames, at least a second.
func maxFileLate(period time.Duration) time.Duration { return max(30*period, time.Second) }

// waitUntil waits on tickers from newTicker until clock reaches due, or
// until stale says the wait is pointless (checked again whenever wake
// fires); it reports false when ctx ended first.
func waitUntil(ctx context.Context, clock Clock, newTicker func(time.Duration) Ticker, due time.Duration,
	wake <-chan struct{}, stale func() bool) bool {
	for !stale() {
		d := due - clock.Now()
		if d <= 0 {
			return true
		}
		t := newTicker(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C():
		case <-wake:
		}
		t.Stop()
	}
	return true
}

// fileError wraps ErrFile with the file and the reason.
func fileError(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrFile, path, fmt.Sprintf(format, args...))
}
