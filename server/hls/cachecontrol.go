package hls

import (
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"
)

// ImmutableCacheControl is the Cache-Control of parts, segments and init
// sections: their names carry the muxer's random prefix and a sequence
// number, so a name is never reused for other bytes.
const ImmutableCacheControl = "public, max-age=31536000, immutable"

// MissingCacheControl is the Cache-Control of a 404 for an object not
// made yet: a cache may hold the answer for a second at most.
const MissingCacheControl = "public, max-age=1"

// PlaylistCacheControl returns the Cache-Control of a media playlist
// (plain or a blocking reload, which a cache keys on the whole URL, query
// included): about one part target, rounded up to the whole second
// Cache-Control can express.
func PlaylistCacheControl(partTarget time.Duration) string {
	s := max(int(math.Ceil(partTarget.Seconds())), 1)
	return "public, max-age=" + strconv.Itoa(s)
}

// cacheControl returns the Cache-Control for a file of a variant.
func cacheControl(name string, partTarget time.Duration) string {
	if strings.HasSuffix(name, ".m3u8") {
		return PlaylistCacheControl(partTarget)
	}
	return ImmutableCacheControl
}

// ETag returns a strong entity tag for body (64-bit FNV-1a, quoted).
func ETag(body []byte) string {
	h := fnv.New64a()
	_, _ = h.Write(body)
	return `"` + strconv.FormatUint(h.Sum64(), 16) + `"`
}

// contentType returns the Content-Type of a variant's file.
func contentType(name string) string {
	if strings.HasSuffix(name, ".m3u8") {
		return "application/vnd.apple.mpegurl"
	}
	return "video/mp4"
}
