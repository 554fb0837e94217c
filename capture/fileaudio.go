package capture

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"golive/media"
)

// FileAudio is the audio track of a File as an AudioSource (File.Audio
// makes it): 48 kHz stereo blocks decoded with the file's video and paced
// on the same capture clock, looping with it. Set its fields before the
// File is initialized.
type FileAudio struct {
	// Ticker makes the timer that wakes the audio pacer; default NewTicker.
	Ticker func(d time.Duration) Ticker
	// Buffer is the capacity of the Samples channel; default 16.
	Buffer int

	file *File
	in   chan fileSamples
	out  chan *media.AudioFrame
	done chan struct{} // closed by Close: the reader stops feeding it
	// closeDone closes done once.
	closeDone sync.Once
	// outMu makes "still current? then hand it on" one step against
	// File.Restart.
	outMu sync.Mutex
	wake  chan struct{} // wakes the pacer for a restart
	stats counters
	ctx   context.Context
	lifecycle
}

// start starts the pacer on the decoded blocks; the File calls it from its
// Initialize when the file has an audio track.
func (a *FileAudio) start(in chan fileSamples) {
	if a.Ticker == nil {
		a.Ticker = NewTicker
	}
	if a.Buffer <= 0 {
		a.Buffer = 16
	}
	a.in, a.done, a.wake = in, make(chan struct{}), make(chan struct{}, 1)
	a.out = make(chan *media.AudioFrame, a.Buffer)
	a.ctx, a.cancel = context.WithCancel(a.file.ctx)
	a.stats.setState(StateRunning)
	a.wg.Add(1)
	go a.pace()
}

// Initialize initializes the File if it was not yet, and fails with
// ErrFile when the file has no audio track.
func (a *FileAudio) Initialize() error {
	if err := a.file.Initialize(); err != nil {
		return err
	}
	if a.out == nil {
		return fileError(a.file.Path, "no audio track")
	}
	return nil
}

// Samples returns the channel of audio blocks; it is closed after Close,
// or when a file played Once has ended.
func (a *FileAudio) Samples() <-chan *media.AudioFrame { return a.out }

// Close stops the audio (the File's video goes on) and waits for its
// goroutine; it is idempotent.
func (a *FileAudio) Close() {
	a.lifecycle.close(&a.stats)
	if a.done != nil {
		a.closeDone.Do(func() { close(a.done) })
	}
}

// Stats returns a snapshot of the source's counters.
func (a *FileAudio) Stats() SourceStats { return a.stats.snapshot(filepath.Base(a.file.Path)) }

// pace sends each decoded block when it is due on the capture clock.
func (a *FileAudio) pace() {
	defer a.wg.Done()
	defer close(a.out)
	for {
		var s fileSamples
		var ok bool
		select {
		case <-a.ctx.Done():
			return
		case s, ok = <-a.in:
		}
		if !ok {
			return
		}
		if s.epoch != a.file.epoch.Load() {
			continue // decoded before a restart
		}
		if !waitUntil(a.ctx, a.file.Clock, a.Ticker, s.due, a.wake, func() bool { return s.epoch != a.file.epoch.Load() }) {
			return
		}
		a.outMu.Lock()
		sent := true
		if s.epoch == a.file.epoch.Load() {
			s.a.PTS = s.due
			sent = offer(&a.stats, a.ctx.Done(), a.out, s.a, s.due, false)
		}
		a.outMu.Unlock()
		if !sent && a.ctx.Err() != nil {
			return
		}
	}
}
