// Package hls is the bundled server's LL-HLS stage: one Variant per rung,
// each a gohlslib muxer (fMP4, low-latency parts, blocking playlist
// reload) followed by a reader that measures the segments it produces;
// the ended playlists kept after the publisher leaves; and the
// multivariant playlist that lists every variant with its measured
// bandwidth. Playlists are read and written with gohlslib's typed
// playlists (pkg/playlist).
package hls
