// Package server is GoLive's bundled streaming server: RTMP ingest with a
// stream key (server/ingest), an adaptive ladder whose top rung is the
// source passed through (server/ladder), LL-HLS per rung under a
// multivariant playlist (server/hls), and the HTTP routes that join them:
// player page, status, metrics, and mount points for chat.
package server
