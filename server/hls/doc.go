// Package hls is the bundled server's LL-HLS stage: one gohlslib muxer per
// rung (fMP4, low-latency parts, blocking playlist reload), the ended
// playlists kept after the publisher leaves, and the hand-written
// multivariant playlist that joins the rungs.
package hls
