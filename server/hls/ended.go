package hls

import (
	"log/slog"
	"net/http"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// endedFiles are what an output keeps after its stream ended: each media
// playlist under its public name, rewritten to end with EXT-X-ENDLIST,
// and the init sections and segments they name, under the muxer's names.
type endedFiles map[string][]byte

// keepEnded reads from the muxer the media playlists in lists (public
// name -> the muxer's name) and the files their complete segments need.
// Every playlist must have content by then, or this waits for it.
func keepEnded(files muxerFiles, lists map[string]string, log *slog.Logger) endedFiles {
	kept := endedFiles{}
	for public, own := range lists {
		code, body := files.get(own, "")
		if code != http.StatusOK {
			continue
		}
		var live playlist.Media
		if err := live.Unmarshal(body); err != nil {
			log.Error("hls muxer's media playlist is unreadable: not kept", "playlist", own, "err", err)
			continue
		}
		pl := endPlaylist(&live)
		if pl == nil {
			continue
		}
		uris := make([]string, 0, len(pl.Segments)+1)
		if pl.Map != nil {
			uris = append(uris, pl.Map.URI)
		}
		for _, seg := range pl.Segments {
			uris = append(uris, seg.URI)
		}
		for _, u := range uris {
			if code, b := files.get(u, ""); code == http.StatusOK {
				kept[u] = b
			} else {
				log.Warn("hls muxer no longer has a file of its playlist", "file", u, "status", code)
			}
		}
		b, err := pl.Marshal()
		if err != nil {
			log.Error("hls ended playlist", "playlist", own, "err", err)
			continue
		}
		kept[public] = b
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

// endPlaylist turns a live LL-HLS media playlist into a finished one:
// parts, preload hints, server control and gap segments are dropped,
// complete segments kept, and EXT-X-ENDLIST set. It returns nil when no
// segment is left.
func endPlaylist(live *playlist.Media) *playlist.Media {
	pl := &playlist.Media{
		Version:             live.Version,
		IndependentSegments: live.IndependentSegments,
		TargetDuration:      live.TargetDuration,
		MediaSequence:       live.MediaSequence,
		Map:                 live.Map,
		Endlist:             true,
	}
	for _, seg := range live.Segments {
		if seg.Gap {
			if len(pl.Segments) == 0 {
				pl.MediaSequence++ // the first kept segment keeps its number
			}
			continue
		}
		s := *seg
		s.Parts = nil
		pl.Segments = append(pl.Segments, &s)
	}
	if len(pl.Segments) == 0 {
		return nil
	}
	return pl
}
