package hls

import (
	"fmt"
	"strconv"
	"strings"
)

// Variant is one rung as the multivariant playlist lists it.
type Variant struct {
	// Name is the rung's path element under /hls/.
	Name string
	// Bandwidth is the peak bitrate in bit/s, audio included.
	Bandwidth int
	// AverageBandwidth is the average bitrate in bit/s, audio included.
	AverageBandwidth int
	// Width and Height are the picture size.
	Width, Height int
	// FPS is the frame rate (0 if unknown).
	FPS float64
	// Codecs are the RFC 6381 codec strings, video first.
	Codecs []string
}

// MultivariantPlaylist writes the playlist that lists every rung, best
// first as given. When audioFrom names a rung, its audio playlist is the
// one audio rendition every variant uses (all rungs carry the same AAC
// stream on the same timeline).
func MultivariantPlaylist(variants []Variant, audioFrom string) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n\n")
	if audioFrom != "" {
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"main\",AUTOSELECT=YES,DEFAULT=YES,URI=\"%s/%s\"\n\n",
			audioFrom, AudioPlaylist)
	}
	for _, v := range variants {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d", v.Bandwidth, v.AverageBandwidth)
		if len(v.Codecs) > 0 {
			fmt.Fprintf(&b, ",CODECS=\"%s\"", strings.Join(v.Codecs, ","))
		}
		fmt.Fprintf(&b, ",RESOLUTION=%dx%d", v.Width, v.Height)
		if v.FPS > 0 {
			b.WriteString(",FRAME-RATE=" + strconv.FormatFloat(v.FPS, 'f', 3, 64))
		}
		if audioFrom != "" {
			b.WriteString(`,AUDIO="audio"`)
		}
		fmt.Fprintf(&b, "\n%s/%s\n", v.Name, VideoPlaylist)
	}
	return []byte(b.String())
}
