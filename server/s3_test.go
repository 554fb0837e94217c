package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/stretchr/testify/require"

	"golive/assets"
	"golive/internal/peers"
	"golive/server/s3"
)

// bucketPage is a page served from the bucket itself (same origin as the
// stream, so no CORS is needed) that plays PREFIX/hls/index.m3u8 with
// hls.js and mirrors its state into #player-state as the player page does.
const bucketPage = `<!doctype html><html><body>
<video id="video" muted autoplay playsinline></video><pre id="player-state"></pre>
<script src="hls.min.js"></script>
<script>
var video = document.getElementById('video'), errors = [];
var hls = new Hls({ manifestLoadingMaxRetry: 6, levelLoadingMaxRetry: 6 });
hls.on(Hls.Events.ERROR, function (_, d) { if (d.fatal) { errors.push(d.type + ': ' + d.details); } });
hls.on(Hls.Events.MANIFEST_PARSED, function () { video.play().catch(function () {}); });
hls.loadSource('../show/hls/index.m3u8');
hls.attachMedia(video);
setInterval(function () {
  document.getElementById('player-state').textContent = JSON.stringify({ live: true, attached: true,
    currentTime: video.currentTime, paused: video.paused, latency: hls.latency || null,
    levels: hls.levels.map(function (l) { return l.height; }), errors: errors, mode: 'hls', starts: 1 });
}, 250);
</script></body></html>`

// bucketClient is an S3 client for the test's own calls to versitygw.
func bucketClient(g *peers.VersityGW) *awss3.Client {
	cfg := aws.Config{Region: g.Region(), Credentials: credentials.NewStaticCredentialsProvider(g.AccessKey, g.SecretKey, "")}
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(g.Endpoint())
		o.UsePathStyle = true
	})
}

// publicBucket lets anyone read the bucket's objects (as a bucket behind
// a CDN is set up) and puts the player page into it.
func publicBucket(t *testing.T, g *peers.VersityGW, bucket string) {
	t.Helper()
	ctx := context.Background()
	c := bucketClient(g)
	_, err := c.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(fmt.Sprintf(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, bucket))})
	require.NoError(t, err, "public-read policy: %s", g.Log())
	hlsJS, err := io.ReadAll(must(assets.Web().Open("vendor/hls.js/hls.min.js")))
	require.NoError(t, err)
	for key, obj := range map[string][2]string{
		"page/index.html": {bucketPage, "text/html; charset=utf-8"},
		"page/hls.min.js": {string(hlsJS), "text/javascript"},
	} {
		_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: strings.NewReader(obj[0]), ContentType: aws.String(obj[1])})
		require.NoError(t, err, key)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// publicGet fetches a bucket object anonymously, as a viewer does.
func publicGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeToS3 pushes a live stream to a real S3 server (versitygw):
// hls.js in Chromium plays it from the bucket's HTTP URL; the storage is
// stopped for 10 s mid-stream while the origin keeps serving LAN viewers,
// and the bucket catches up; with --s3-keep the event ends as VOD that
// ffprobe reads whole, over HLS and over DASH.
func TestServeToS3(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	g := peers.StartVersityGW(t, "live")
	publicBucket(t, g, "live")
	file := peers.MakeTestFile(t, peers.TestSource{Width: 640, Height: 360, Duration: 30 * time.Second, GOP: 30})
	cfg := aws.Config{Region: g.Region(), Credentials: credentials.NewStaticCredentialsProvider(g.AccessKey, g.SecretKey, "")}
	up := &s3.Uploader{Location: s3.Location{Bucket: "live", Prefix: "show"}, Endpoint: g.Endpoint(), Config: cfg, Keep: true}
	s := testServer(t, "360p,240p", func(s *Server) { s.Storage = up })
	pub := startPublisher(t, file, s.publishURL(testKey))
	waitVariants(t, s, 2)

	bucketURL := g.URL("live", "show/hls/index.m3u8")
	require.Eventually(t, func() bool {
		code, body := publicGet(t, g.URL("live", "show/hls/360p/video1_stream.m3u8"))
		return code == 200 && strings.Count(body, "#EXTINF") >= 2
	}, 20*time.Second, 100*time.Millisecond, "the bucket has the stream: %+v", up.Stats())
	code, mv := publicGet(t, bucketURL)
	require.Equal(t, 200, code)
	require.Contains(t, mv, "RESOLUTION=640x360")

	watch := openInChromium(t, g.URL("live", "page/index.html"))
	ps, problems := watch.wait(2)
	require.Empty(t, ps.Errors, "hls.js plays from the bucket")
	for _, p := range problems {
		require.NotContains(t, p, "exception")
	}

	// The storage goes away for 10 s: the origin goes on serving a LAN
	// viewer that follows the stream segment by segment with blocking
	// reloads; none of its waits comes near the outage's length.
	follow := func(msn int) (*playlist.Media, time.Duration) {
		start := time.Now()
		q := ""
		if msn >= 0 {
			q = fmt.Sprintf("?_HLS_msn=%d&_HLS_part=0", msn)
		}
		_, body := get(t, s.testURL("/hls/360p/video1_stream.m3u8"+q))
		pl, err := playlist.Unmarshal([]byte(body))
		require.NoError(t, err, body)
		return pl.(*playlist.Media), time.Since(start)
	}
	g.Stop()
	outage := time.Now()
	pl, _ := follow(-1)
	first := pl.MediaSequence + len(pl.Segments)
	next, longest := first, time.Duration(0)
	for time.Since(outage) < 10*time.Second { // the outage: real time, as a viewer lives it
		pl, wait := follow(next + 1)
		longest = max(longest, wait)
		next = pl.MediaSequence + len(pl.Segments)
	}
	t.Logf("during the outage the origin made %d segments; a LAN viewer's longest wait: %v", next-first, longest)
	require.GreaterOrEqual(t, next-first, 4, "the origin made segments all along")
	require.Less(t, longest, 5*time.Second, "the origin never held a viewer for the storage")
	require.Eventually(t, func() bool { return s.Status().Storage.State == s3.StateDown }, 10*time.Second, 50*time.Millisecond)
	st := s.Status()
	require.True(t, st.Live)
	require.Equal(t, s3.StateDown, st.Storage.State)
	require.Positive(t, st.Storage.Queue, "uploads wait in the queue")
	require.Positive(t, st.Storage.Failures)
	code, metrics := get(t, s.testURL("/metrics"))
	require.Equal(t, 200, code)
	require.Contains(t, metrics, "golive_s3_up 0")

	g.Start()
	require.Eventually(t, func() bool {
		st := s.Status().Storage
		return st.State == s3.StateUp && st.Queue == 0
	}, 30*time.Second, 100*time.Millisecond, "the bucket catches up: %+v", s.Status().Storage)
	require.Zero(t, s.Status().Storage.LostSegments)

	require.NoError(t, pub.wait(t, 60*time.Second), pub.stderr.String())
	require.Eventually(t, func() bool {
		_, body := publicGet(t, g.URL("live", "show/hls/360p/video1_stream.m3u8"))
		return strings.Contains(body, "#EXT-X-ENDLIST")
	}, 20*time.Second, 100*time.Millisecond, "the event ends as VOD")
	_, vod := publicGet(t, g.URL("live", "show/hls/360p/video1_stream.m3u8"))
	require.Contains(t, vod, "#EXT-X-PLAYLIST-TYPE:VOD")
	require.NotContains(t, vod, "#EXT-X-GAP")

	// ffmpeg's ffprobe reads the whole event from the bucket: every
	// rung over HLS, and the MPD (static now) over DASH.
	for _, url := range []string{bucketURL, g.URL("live", "show/dash/manifest.mpd")} {
		info := probe(t, url)
		videos := 0
		for _, st := range info.Streams {
			if st.CodecType == "video" {
				videos++
				require.GreaterOrEqual(t, st.Frames(), 25*30, "%s: %dx%d: the whole event, the outage included", url, st.Width, st.Height)
			}
		}
		require.Equal(t, 2, videos, url)
		_, ok := info.Audio()
		require.True(t, ok, url)
	}
	var out bytes.Buffer
	cmd := exec.Command(peers.RequireTool(t, "ffmpeg"), "-v", "error", "-i", bucketURL, "-map", "0:v:0", "-f", "null", "-")
	cmd.Stderr = &out
	require.NoError(t, cmd.Run(), out.String())
	require.Empty(t, strings.TrimSpace(out.String()), "ffmpeg decodes the bucket's stream without errors")
}
