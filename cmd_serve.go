package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"golive/chat"
	"golive/encoder"
	"golive/server"
	"golive/server/ladder"
	"golive/server/s3"
	"golive/server/webrtc"
)

// runServe runs the bundled server until ctx is cancelled: `golive serve`.
// It prints "rtmp listening on ADDR", "http listening on ADDR" and
// "stream key: KEY" on stdout once ready; bad flags give one line on
// stderr and exit code 2. A --chat-nats it cannot use or reach gives one
// line on stderr, and the server runs with its own chat (retrying NATS
// when it was unreachable).
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rtmpAddr := fs.String("rtmp-addr", ":1935", "RTMP listen address")
	httpAddr := fs.String("http-addr", ":8080", "HTTP listen address")
	key := fs.String("stream-key", "", "stream key (default: generated and kept in the data dir)")
	ladderSpec := fs.String("ladder", ladder.DefaultLadder, "rungs, e.g. 720p,480p,360p,240p")
	segment := fs.Duration("segment", time.Second, "LL-HLS segment duration")
	part := fs.Duration("part", 200*time.Millisecond, "LL-HLS part duration")
	dataDir := fs.String("data-dir", "", "data directory (default: the user config dir + /golive)")
	encoderName := fs.String("encoder", "auto", "ladder H.264 encoder")
	natsURL := fs.String("chat-nats", "", "NATS server that joins this instance's chat to the others' (nats://HOST:PORT)")
	natsCreds := fs.String("chat-nats-creds", "", "NATS credentials file for --chat-nats")
	var proxies chat.TrustedProxies
	fs.Func("trusted-proxy", "CIDR of a reverse proxy whose X-Forwarded-For/Forwarded headers give the client address (repeatable)",
		func(v string) error {
			p, err := chat.ParseTrustedProxy(v)
			if err == nil {
				proxies = append(proxies, p)
			}
			return err
		})
	s3URL := fs.String("s3", "", "also push the stream to S3-compatible storage at s3://BUCKET/PREFIX")
	s3Endpoint := fs.String("s3-endpoint", "", "S3 endpoint URL (MinIO, Ceph, R2, ...; path-style addressing)")
	s3Region := fs.String("s3-region", "", "S3 region (default: from the AWS configuration, else us-east-1)")
	s3Keep := fs.Bool("s3-keep", false, "keep every segment in the bucket and finish as VOD when the publisher stops")
	webrtcAddr := fs.String("webrtc-addr", webrtc.DefaultAddr, "UDP address of all WebRTC media (one port)")
	maxViewers := fs.Int("webrtc-max-viewers", server.DefaultWebRTCMaxViewers, "most WebRTC viewers at once (503 beyond)")
	var iceServers []webrtc.ICEServer
	fs.Func("ice-server", "STUN or TURN server for WebRTC, repeatable: stun:HOST[:PORT] or turn:USER:PASS@HOST[:PORT]",
		func(v string) error {
			s, err := webrtc.ParseICEServer(v)
			iceServers = append(iceServers, s)
			return err
		})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "usage: golive serve [flags]")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "golive serve: %v\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "golive serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	specs, err := ladder.ParseSpecs(*ladderSpec)
	if err != nil {
		fmt.Fprintf(stderr, "golive serve: --ladder: %v\n", err)
		return exitUsage
	}
	switch {
	case *natsCreds != "" && *natsURL == "":
		fmt.Fprintln(stderr, "golive serve: --chat-nats-creds needs --chat-nats")
		return exitUsage
	case *segment < 100*time.Millisecond || *segment > time.Minute:
		fmt.Fprintf(stderr, "golive serve: --segment %v out of range (100ms-1m)\n", *segment)
		return exitUsage
	case *part < 20*time.Millisecond || *part > *segment:
		fmt.Fprintf(stderr, "golive serve: --part %v out of range (20ms up to --segment)\n", *part)
		return exitUsage
	}
	rtcAddr := "" // the default: when its port is taken, serve runs without WebRTC
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "webrtc-addr" {
			rtcAddr = *webrtcAddr
		}
	})
	if _, err := net.ResolveUDPAddr("udp", *webrtcAddr); err != nil {
		fmt.Fprintf(stderr, "golive serve: --webrtc-addr %q: %v\n", *webrtcAddr, err)
		return exitUsage
	}
	if *maxViewers < 1 {
		fmt.Fprintf(stderr, "golive serve: --webrtc-max-viewers %d: want at least 1\n", *maxViewers)
		return exitUsage
	}
	storage, err := storageFlags(ctx, *s3URL, *s3Endpoint, *s3Region, *s3Keep)
	if err != nil {
		fmt.Fprintf(stderr, "golive serve: %v\n", err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	encoder.RouteFFmpegLog(logger)
	if *dataDir == "" {
		*dataDir = server.DefaultDataDir() // the stream key and moderator tokens live there
	}
	link := chatNATS(ctx, *natsURL, *natsCreds, logger, stderr)
	if link != nil {
		defer link.Close() // after the server's chat has left the room
	}
	srv := &server.Server{
		RTMPAddr: *rtmpAddr, HTTPAddr: *httpAddr, StreamKey: *key, DataDir: *dataDir,
		Ladder: specs, Segment: *segment, Part: *part, Encoder: *encoderName,
		WebRTCAddr: rtcAddr, ICEServers: iceServers, WebRTCMaxViewers: *maxViewers,
		ChatNATS: link, TrustedProxies: proxies, Storage: storage, Logger: logger,
	}
	if err := srv.Initialize(); err != nil {
		fmt.Fprintf(stderr, "golive serve: %v\n", err)
		return 1
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "rtmp listening on %s\n", srv.RTMPAddress())
	fmt.Fprintf(stdout, "http listening on %s\n", srv.HTTPAddress())
	fmt.Fprintf(stdout, "stream key: %s\n", srv.Key())
	if a := srv.WebRTCAddress(); a != nil {
		fmt.Fprintf(stdout, "webrtc listening on %s\n", a)
	}
	<-ctx.Done()
	return 0
}

// natsWait is how long serve waits for --chat-nats before it says it is not reachable.
const natsWait = 3 * time.Second

// chatNATS starts the NATS link of --chat-nats, or returns nil without one. A
// URL or credentials file it cannot use, or a server it cannot reach within
// natsWait, is told in one line on stderr; an unreachable server is retried in
// the background, and the chat runs on this instance alone meanwhile.
func chatNATS(ctx context.Context, url, creds string, logger *slog.Logger, stderr io.Writer) *chat.NATSLink {
	if url == "" {
		return nil
	}
	link := &chat.NATSLink{URL: url, CredsFile: creds, Logger: logger.With("stage", "chat-nats")}
	if err := link.Initialize(); err != nil {
		fmt.Fprintf(stderr, "golive serve: --chat-nats: %v; the chat runs on this instance alone\n", err)
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, natsWait)
	defer cancel()
	if err := link.WaitConnected(wctx); err != nil {
		fmt.Fprintf(stderr, "golive serve: --chat-nats: %v; the chat runs on this instance alone until it answers (retrying)\n", err)
	}
	return link
}

// storageFlags reads --s3, --s3-endpoint, --s3-region and --s3-keep into
// an uploader (nil without --s3): a malformed URL or endpoint, or no
// credentials in the AWS default chain, is an error.
func storageFlags(ctx context.Context, rawURL, endpoint, region string, keep bool) (*s3.Uploader, error) {
	if rawURL == "" {
		if endpoint != "" || region != "" || keep {
			return nil, errors.New("--s3-endpoint, --s3-region and --s3-keep need --s3 s3://BUCKET/PREFIX")
		}
		return nil, nil
	}
	loc, err := s3.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--s3: %w", err)
	}
	if endpoint != "" {
		if endpoint, err = s3.ParseEndpoint(endpoint); err != nil {
			return nil, fmt.Errorf("--s3-endpoint: %w", err)
		}
	}
	cfg, err := s3.LoadConfig(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("--s3: %w", err)
	}
	return &s3.Uploader{Location: loc, Endpoint: endpoint, Config: cfg, Keep: keep}, nil
}
