package s3

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
	"golive/server/hls"
)

// An SPS and PPS gohlslib parses (its own tests' SPS, 1920x1080), and an
// AudioSpecificConfig (AAC LC, 48 kHz, stereo).
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03,
		0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	testPPS = []byte{0x08}
	testASC = []byte{0x11, 0x90}
)

func testLogger() *slog.Logger {
	if os.Getenv("S3_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testVariant is a variant whose segments go to sink.
func testVariant(t *testing.T, name string, sink hls.SegmentSink) *hls.Variant {
	t.Helper()
	v := &hls.Variant{Name: name, Sink: sink, Logger: testLogger()}
	require.NoError(t, v.Initialize())
	t.Cleanup(v.Close)
	cfg, err := media.AVCConfig{SPS: [][]byte{testSPS}, PPS: [][]byte{testPPS}}.Marshal()
	require.NoError(t, err)
	require.NoError(t, v.Start(&media.CodecParams{Codec: media.CodecH264, Config: cfg, Width: 1920, Height: 1080, FPS: 30},
		&media.CodecParams{Codec: media.CodecAAC, Config: testASC, SampleRate: 48000, Channels: 2}))
	return v
}

// feed writes media from one time to another (30 fps, a keyframe a
// second, AAC), pacing it at speed times real time (0: at once).
func feed(t *testing.T, v *hls.Variant, from, to time.Duration, speed float64) {
	t.Helper()
	const frame = time.Second / 30
	aac := media.FromTicks(1024, 48000)
	next := from
	start := time.Now()
	for pts := from; pts < to; pts += frame {
		if speed > 0 {
			if d := time.Duration(float64(pts-from)/speed) - time.Since(start); d > 0 {
				time.Sleep(d) // paces a live source: the test's stand-in for a camera
			}
		}
		for next <= pts {
			require.NoError(t, v.WriteAudio(&media.Packet{Codec: media.CodecAAC, Data: make([]byte, 100), PTS: next, DTS: next}))
			next += aac
		}
		key := (pts/frame)%30 == 0
		nalu := make([]byte, 800)
		nalu[0] = 1
		if key {
			nalu[0] = 5
		}
		data := append(binary.BigEndian.AppendUint32(nil, uint32(len(nalu))), nalu...)
		require.NoError(t, v.WriteVideo(&media.Packet{Codec: media.CodecH264, Data: data, PTS: pts, DTS: pts, Keyframe: key}))
	}
}

func staticConfig(g *peers.VersityGW, access, secret string) aws.Config {
	return aws.Config{Region: g.Region(), Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")}
}

func newUploader(t *testing.T, g *peers.VersityGW, loc Location, opts ...func(*Uploader)) *Uploader {
	t.Helper()
	u := &Uploader{Location: loc, Endpoint: g.Endpoint(), Config: staticConfig(g, g.AccessKey, g.SecretKey),
		Logger: testLogger(), Rungs: func() []string { return []string{"720p"} },
		Multivariant: func() []byte { return []byte("#EXTM3U\n") }}
	for _, o := range opts {
		o(u)
	}
	require.NoError(t, u.Initialize())
	t.Cleanup(u.Close)
	return u
}

func exists(g *peers.VersityGW, bucket, key string) bool {
	_, err := os.Stat(g.ObjectPath(bucket, key))
	return err == nil
}

func read(t *testing.T, g *peers.VersityGW, bucket, key string) string {
	t.Helper()
	b, err := os.ReadFile(g.ObjectPath(bucket, key))
	require.NoError(t, err, key)
	return string(b)
}

func TestUploaderRefusesAtStart(t *testing.T) {
	g := peers.StartVersityGW(t, "live")
	u := &Uploader{Location: Location{"nope", ""}, Endpoint: g.Endpoint(), Config: staticConfig(g, g.AccessKey, g.SecretKey)}
	err := u.Initialize()
	require.ErrorIs(t, err, ErrBucket)
	require.Contains(t, err.Error(), "no such bucket")
	u = &Uploader{Location: Location{"live", ""}, Endpoint: g.Endpoint(), Config: staticConfig(g, g.AccessKey, "wrong-secret")}
	err = u.Initialize()
	require.ErrorIs(t, err, ErrBucket)
	require.Contains(t, err.Error(), "access denied")
	u.Close() // never started: a no-op
}

func TestLoadConfigWithoutCredentials(t *testing.T) {
	for _, kv := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(kv, "")
		os.Unsetenv(kv)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // never ask the instance metadata address
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	_, err := LoadConfig(context.Background(), "")
	require.ErrorIs(t, err, ErrNoCredentials)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIA")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg, err := LoadConfig(context.Background(), "")
	require.NoError(t, err)
	require.Equal(t, "us-east-1", cfg.Region)
}

// TestUploaderLiveWindow streams 20 s of 1 s segments: the bucket gets
// the init sections, every segment, playlists without parts, the
// multivariant playlist and the MPD; segments that left the window are
// deleted.
func TestUploaderLiveWindow(t *testing.T) {
	g := peers.StartVersityGW(t, "live")
	loc := Location{"live", "show"}
	u := newUploader(t, g, loc)
	v := testVariant(t, "720p", u)
	feed(t, v, 0, 20*time.Second, 0)
	require.Eventually(t, func() bool { return u.Stats().Segments >= 2*17 }, 20*time.Second, 20*time.Millisecond, "%+v", u.Stats())
	require.Eventually(t, func() bool { return u.Stats().Queue == 0 }, 20*time.Second, 20*time.Millisecond)
	st := u.Stats()
	require.Equal(t, StateUp, st.State)
	require.Zero(t, st.Lost)
	require.Positive(t, st.Deleted, "segments that left the window are deleted")
	require.Positive(t, st.MedianLag)

	pl := read(t, g, "live", "show/hls/720p/"+hls.VideoPlaylist)
	require.NotContains(t, pl, "#EXT-X-PART")
	require.NotContains(t, pl, "#EXT-X-PRELOAD-HINT")
	require.NotContains(t, pl, "#EXT-X-ENDLIST")
	require.Contains(t, pl, "#EXT-X-MAP:URI=")
	require.Equal(t, 7, strings.Count(pl, "#EXTINF"), pl)
	for _, line := range strings.Split(pl, "\n") {
		if strings.HasSuffix(line, ".mp4") {
			require.True(t, exists(g, "live", "show/hls/720p/"+line), line)
		}
	}
	require.Contains(t, read(t, g, "live", "show/hls/720p/"+hls.AudioPlaylist), "audio2")
	require.Equal(t, "#EXTM3U\n", read(t, g, "live", "show/hls/index.m3u8"))
	mpd := read(t, g, "live", "show/dash/manifest.mpd")
	require.Contains(t, mpd, `type="dynamic"`)
	require.Contains(t, mpd, `media="../hls/720p/`)

	// The bucket's objects carry their types and cache headers.
	for key, want := range map[string][2]string{
		"show/hls/720p/" + hls.VideoPlaylist: {"application/vnd.apple.mpegurl", "public, max-age=1"},
		"show/dash/manifest.mpd":             {"application/dash+xml", "public, max-age=1"},
	} {
		h, err := u.client.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: aws.String("live"), Key: aws.String(key)})
		require.NoError(t, err, key)
		require.Equal(t, want[0], aws.ToString(h.ContentType), key)
		require.Equal(t, want[1], aws.ToString(h.CacheControl), key)
	}
}

// TestUploaderStorageDown stops the storage mid-stream: the variant
// never waits for it, uploads queue and retry, segments past the queue's
// bound are given up and marked as gaps, and the bucket catches up when
// the storage returns.
func TestUploaderStorageDown(t *testing.T) {
	g := peers.StartVersityGW(t, "live")
	u := newUploader(t, g, Location{"live", ""}, func(u *Uploader) { u.QueueBytes = 40_000 })
	v := testVariant(t, "720p", u)
	feed(t, v, 0, 3*time.Second, 0)
	require.Eventually(t, func() bool { return u.Stats().Segments >= 2 && u.Stats().Queue == 0 }, 20*time.Second, 20*time.Millisecond)

	g.Stop()
	start := time.Now()
	feed(t, v, 3*time.Second, 13*time.Second, 0)
	require.Less(t, time.Since(start), 5*time.Second, "the variant never waits for the storage")
	require.Eventually(t, func() bool { return u.Stats().State == StateDown }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return u.Stats().Lost > 0 }, 10*time.Second, 20*time.Millisecond,
		"segments past the queue's bound are given up: %+v", u.Stats())
	down := u.Stats()
	require.Positive(t, down.Failures)
	require.NotEmpty(t, down.LastError)
	require.LessOrEqual(t, down.QueueBytes, 40_000)

	g.Start()
	require.Eventually(t, func() bool { st := u.Stats(); return st.State == StateUp && st.Queue == 0 }, 30*time.Second, 20*time.Millisecond,
		"the bucket catches up: %+v", u.Stats())
	// Queue counts what waits, not what is in flight: the last playlists
	// may still be on their way.
	var pl string
	require.Eventually(t, func() bool {
		v, verr := os.ReadFile(g.ObjectPath("live", "hls/720p/"+hls.VideoPlaylist))
		a, aerr := os.ReadFile(g.ObjectPath("live", "hls/720p/"+hls.AudioPlaylist))
		pl = string(v)
		return verr == nil && aerr == nil && strings.Contains(string(v)+string(a), "#EXT-X-GAP")
	}, 20*time.Second, 20*time.Millisecond, "a given-up segment is marked as a gap")
	gap := false
	for _, line := range strings.Split(pl, "\n") {
		switch {
		case line == "#EXT-X-GAP":
			gap = true
		case strings.HasSuffix(line, ".mp4"):
			require.Equal(t, !gap, exists(g, "live", "hls/720p/"+line), "%s: a segment is in the bucket unless marked as a gap", line)
			gap = false
		}
	}
}

// TestUploaderKeep keeps the whole event and finishes it as VOD.
func TestUploaderKeep(t *testing.T) {
	g := peers.StartVersityGW(t, "live")
	u := newUploader(t, g, Location{"live", "event"}, func(u *Uploader) { u.Keep = true })
	v := testVariant(t, "720p", u)
	feed(t, v, 0, 20*time.Second, 0)
	v.Stop()
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(g.ObjectPath("live", "event/hls/720p/"+hls.VideoPlaylist)) // not there until the first upload
		return err == nil && strings.Contains(string(b), "#EXT-X-ENDLIST")
	}, 20*time.Second, 20*time.Millisecond)
	u.Close()
	st := u.Stats()
	require.Zero(t, st.Deleted)
	require.Zero(t, st.Lost)
	pl := read(t, g, "live", "event/hls/720p/"+hls.VideoPlaylist)
	require.Contains(t, pl, "#EXT-X-PLAYLIST-TYPE:VOD")
	require.GreaterOrEqual(t, strings.Count(pl, "#EXTINF"), 18, pl)
	require.Equal(t, strings.Count(pl, "#EXTINF"), int(st.Segments)/2, "every segment listed")
	mpd := read(t, g, "live", "event/dash/manifest.mpd")
	require.Contains(t, mpd, `type="static"`)
	require.Contains(t, mpd, `mediaPresentationDuration=`)
}
