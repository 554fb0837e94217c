package hls

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// follower follows one of the muxer's media playlists with blocking
// reloads, as a player would, and measures every segment it sees
// complete by the bytes the muxer serves for it. It ends when the muxer
// closes.
type follower struct {
	files muxerFiles
	name  string // the muxer's name of the media playlist
	log   *slog.Logger

	mu     sync.Mutex
	window bandwidthWindow
}

// run follows the playlist until the muxer closes.
func (f *follower) run() {
	next := -1 // media sequence number of the segment whose first part to wait for; -1: no wait
	last := -1 // media sequence number of the last segment measured
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
		var pl playlist.Media
		if err := pl.Unmarshal(body); err != nil {
			f.log.Error("hls muxer's media playlist is unreadable: no more measurements", "playlist", f.name, "err", err)
			return
		}
		for i, seg := range pl.Segments {
			seq := pl.MediaSequence + i
			if seg.Gap || seq <= last {
				continue
			}
			last = seq
			if n, ok := f.files.size(seg.URI); ok {
				f.mu.Lock()
				f.window.add(n, seg.Duration)
				f.mu.Unlock()
			}
		}
		next = pl.MediaSequence + len(pl.Segments) + 1
	}
}

// bandwidth returns the bitrate measured over the last segments.
func (f *follower) bandwidth() Bandwidth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.window.bandwidth()
}
