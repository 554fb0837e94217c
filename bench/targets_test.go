package bench

// target is one row of DESIGN.md's performance table as a benchmark checks
// it. Each benchmark reports its figures through verdict with the row's
// name; the table is the one place a target's threshold is written.
type target struct {
	// name is the short id printed in the verdict line.
	name string
	// text is the target in DESIGN.md's words.
	text string
	// unit is printed after the figures ("fps", "s", "cores", "ms", …).
	unit string
	// met decides the verdict from our figure and the peer's (peer is 0
	// for a target without a peer figure).
	met func(figure, peer float64) bool
}

func atMost(limit float64) func(float64, float64) bool {
	return func(f, _ float64) bool { return f <= limit }
}

func atLeast(limit float64) func(float64, float64) bool {
	return func(f, _ float64) bool { return f >= limit }
}

func ratioAtMost(limit float64) func(float64, float64) bool {
	return func(f, p float64) bool { return p > 0 && f/p <= limit }
}

func ratioAtLeast(limit float64) func(float64, float64) bool {
	return func(f, p float64) bool { return p > 0 && f/p >= limit }
}

// within is met when the figure is no more than d above the peer's.
func within(d float64) func(float64, float64) bool {
	return func(f, p float64) bool { return f-p <= d }
}

// targets mirrors DESIGN.md's "Targets" table (and the issues' own
// performance sections), one row per verdict line.
var targets = []target{
	{"encode-720p30", "H.264 encode 720p30, same settings: ≥ 0.95× the ffmpeg CLI's speed", "fps", ratioAtLeast(0.95)},
	{"stream-cpu-720p30", "golive stream 720p30 from the same media file: ≤ 1.05× the ffmpeg CLI's CPU", "cores", ratioAtMost(1.05)},
	{"stream-cores-720p30", "golive stream 720p30: < 1 core", "cores", func(f, _ float64) bool { return f < 1 }},
	{"ladder-cpu", "ladder 720p → 480p/360p/240p (+720p passed through): ≤ 1.0× the ffmpeg CLI's CPU time", "cpu-s", ratioAtMost(1.0)},
	{"ladder-realtime", "ladder: real time on 2 cores (media seconds per wall second)", "x", atLeast(1.0)},
	{"llhls-part-top", "publish → LL-HLS part fetchable, top rung, as a viewer: ≤ 0.3 s median", "s", atMost(0.3)},
	{"llhls-part-lowest", "publish → LL-HLS part fetchable, lowest rung, as a viewer: ≤ 0.3 s median", "s", atMost(0.3)},
	{"g2g-llhls-top", "glass-to-glass in headless Chromium over LL-HLS, top rung: ≤ 1.5 s median", "s", atMost(1.5)},
	{"g2g-llhls-lowest", "glass-to-glass in headless Chromium over LL-HLS, lowest rung: ≤ 1.5 s median", "s", atMost(1.5)},
	{"g2g-whep", "glass-to-glass in headless Chromium over WebRTC (WHEP): ≤ 0.4 s median", "s", atMost(0.4)},
	{"whep-first-frame", "page open → first WebRTC frame: ≤ 1 s", "s", atMost(1.0)},
	{"webrtc-100-viewers", "100 WebRTC viewers at 720p 3 Mb/s, Opus transcode included: ≤ 1 core", "cores", atMost(1.0)},
	{"cdn-origin-load", "origin behind a caching proxy, 10 → 500 LL-HLS viewers: origin requests/s within 1.2× of 10 viewers", "req/s", ratioAtMost(1.2)},
	{"cdn-viewer-latency", "viewer latency through the cache: within 100 ms of a direct viewer", "s", within(0.1)},
	{"s3-upload-lag", "S3 upload, segment complete → readable: ≤ 0.3 s median on loopback", "s", atMost(0.3)},
	{"s3-origin-cpu", "origin CPU with --s3: within 5 % of without", "cpu-s", ratioAtMost(1.05)},
	{"chat-fanout-2000", "chat fan-out, one instance, 2,000 viewers: p99 ≤ 100 ms", "ms", atMost(100)},
	{"chat-fanout-10000", "chat fan-out, one instance, 10,000 viewers: p99 ≤ 100 ms", "ms", atMost(100)},
	{"chat-idle-viewer", "memory per idle chat viewer: ≤ 16 KiB", "KiB", atMost(16)},
	{"chat-nats-2x5000", "chat, two instances over NATS, 2×5,000 viewers: p99 ≤ 150 ms", "ms", atMost(150)},
	{"screen-1080p30-cpu", "screen 1080p30 capture + encode: ≤ 1.1× ffmpeg x11grab + libx264 CPU", "cores", ratioAtMost(1.1)},
	{"scene-composite-1080p", "compositing a four-layer scene at 1080p: ≤ 2 ms per frame", "ms", atMost(2)},
	{"golive-first-packet", "Go Live → first video packet at the server, measured alike on both sides: ≤ 1 s", "s", atMost(1.0)},
	{"broadcaster-rss", "broadcaster memory, 720p30 for 10 min: flat (last minute ≤ 1.1× the first) and ≤ 200 MB", "MB", atMost(200)},
	{"broadcaster-rss-flat", "broadcaster memory, 720p30 for 10 min: last minute ≤ 1.1× the first minute", "MB", ratioAtMost(1.1)},
	{"link-lag", "through a link at 60 % of the content's bitrate for 60 s: the stream at the server lags real time by ≤ 1 s at the end", "s", atMost(1.0)},
	{"link-adapt", "through a link at 60 %: the target falls below the link rate within 5 s", "s", atMost(5.0)},
	{"link-stall", "a stalled link is reported as reconnecting within 6 s", "s", atMost(6.0)},
}
