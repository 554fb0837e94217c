package hls

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// follower follows one of the muxer's media playlists with blocking
// reloads, as a player would, and measures every segment it sees
// complete by the bytes the muxer serves for it. It ends when the muxer
// closes.
type follower struct {
	files  muxerFiles
	name   string // the muxer's name of the media playlist
	public string // its public name
	rung   string
	stream uint64
	sink   SegmentSink // nil: measure only
	clock  func() time.Time
	log    *slog.Logger

	reportMu sync.Mutex // serialises report between run and finish
	last     int        // media sequence number of the last segment reported
	initName string     // the init section last read, and its bytes
	init     []byte

	mu     sync.Mutex
	window bandwidthWindow
}

// run follows the playlist until the muxer closes.
func (f *follower) run() {
	next := -1 // media sequence number of the segment whose first part to wait for; -1: no wait
	for {
		query := ""
		if next >= 0 {
			// The muxer answers once segment next has its first part, so
			// segment next-1 is complete by then.
			query = "_HLS_msn=" + strconv.Itoa(next) + "&_HLS_part=0"
		}
		code, body := f.files.get(f.name, query)
		switch {
		case code == http.StatusBadRequest && next >= 0:
			next = -1 // fell out of the muxer's window: ask for the playlist as it is
			continue
		case code != http.StatusOK:
			return // the muxer closed
		}
		pl, ok := f.parse(body)
		if !ok {
			return
		}
		f.report(pl)
		next = pl.MediaSequence + len(pl.Segments) + 1
	}
}

// finish reports the segments completed since the last blocking reload
// returned: the stream is ending and no further part will wake it. The
// muxer must still be open.
func (f *follower) finish() {
	if code, body := f.files.get(f.name, ""); code == http.StatusOK {
		if pl, ok := f.parse(body); ok {
			f.report(pl)
		}
	}
}

func (f *follower) parse(body []byte) (*playlist.Media, bool) {
	var pl playlist.Media
	if err := pl.Unmarshal(body); err != nil {
		f.log.Error("hls muxer's media playlist is unreadable: no more measurements", "playlist", f.name, "err", err)
		return nil, false
	}
	return &pl, true
}

// report measures and reports the complete segments of pl not seen yet.
func (f *follower) report(pl *playlist.Media) {
	f.reportMu.Lock()
	defer f.reportMu.Unlock()
	for i, seg := range pl.Segments {
		seq := pl.MediaSequence + i
		if seg.Gap || seq <= f.last {
			continue
		}
		f.last = seq
		f.saw(pl, seq, seg)
	}
}

// saw measures a segment seen complete and reports it to the sink.
func (f *follower) saw(pl *playlist.Media, seq int, seg *playlist.MediaSegment) {
	if f.sink == nil {
		if n, ok := f.files.size(seg.URI); ok {
			f.measure(n, seg.Duration)
		}
		return
	}
	code, data := f.files.get(seg.URI, "")
	if code != http.StatusOK {
		return // already out of the muxer's window
	}
	f.measure(uint64(len(data)), seg.Duration)
	if pl.Map != nil && pl.Map.URI != f.initName {
		if code, b := f.files.get(pl.Map.URI, ""); code == http.StatusOK {
			f.initName, f.init = pl.Map.URI, b
		}
	}
	ev := Segment{Rung: f.rung, Playlist: f.public, Stream: f.stream, Seq: seq, Name: seg.URI,
		Duration: seg.Duration, Data: data, InitName: f.initName, Init: f.init, Completed: f.clock()}
	if seg.DateTime != nil {
		ev.Time = *seg.DateTime
	}
	f.sink.SegmentDone(ev)
}

func (f *follower) measure(n uint64, d time.Duration) {
	f.mu.Lock()
	f.window.add(n, d)
	f.mu.Unlock()
}

// bandwidth returns the bitrate measured over the last segments.
func (f *follower) bandwidth() Bandwidth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.window.bandwidth()
}
