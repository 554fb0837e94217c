package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"golive/encoder"
	"golive/internal/peers"
	"golive/server"
	"golive/server/ladder"
	"golive/server/s3"
)

// s3ChildEnv makes this test binary the origin of TestS3OriginCPU: its
// value is the S3 endpoint ("" for no --s3).
const s3ChildEnv = "GOLIVE_S3_BENCH_CHILD"

// s3BenchConfig sizes the S3 benchmarks.
type s3BenchConfig struct {
	clip   time.Duration // published clip, in real time
	rounds int           // CPU rounds per side, interleaved
}

var (
	s3BenchFull  = s3BenchConfig{clip: 30 * time.Second, rounds: 3}
	s3BenchSmoke = s3BenchConfig{clip: 4 * time.Second, rounds: 1}
)

func s3Config() s3BenchConfig {
	if benchFull() {
		return s3BenchFull
	}
	return s3BenchSmoke
}

func benchS3AWSConfig(g *peers.VersityGW) aws.Config {
	return aws.Config{Region: g.Region(), Credentials: credentials.NewStaticCredentialsProvider(g.AccessKey, g.SecretKey, "")}
}

// TestS3BenchChild is the origin process of TestS3OriginCPU (it does
// nothing unless started by it): `golive serve` as a server.Server with
// the 360p,240p ladder and, when the endpoint is given, --s3 to bucket
// "live" there. It prints its addresses and stops when stdin closes,
// printing its final status.
func TestS3BenchChild(t *testing.T) {
	endpoint, ok := os.LookupEnv(s3ChildEnv)
	if !ok {
		t.Skip("the origin child of TestS3OriginCPU")
	}
	encoder.RouteFFmpegLog(slog.New(slog.NewTextHandler(io.Discard, nil)))
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	specs, err := ladder.ParseSpecs("360p,240p")
	require.NoError(t, err)
	srv := &server.Server{RTMPListener: rl, HTTPListener: hl, StreamKey: "s3-bench-key", Ladder: specs,
		Encoder: "libx264", LadderMaxLag: 1 << 20, // never shed the rung: both sides do the same work on a loaded machine
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if endpoint != "" {
		cfg, err := s3.LoadConfig(context.Background(), "us-east-1")
		require.NoError(t, err)
		srv.Storage = &s3.Uploader{Location: s3.Location{Bucket: "live", Prefix: "cpu"}, Endpoint: endpoint, Config: cfg}
	}
	require.NoError(t, srv.Initialize())
	fmt.Printf("ADDR %s %s\n", rl.Addr(), hl.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
	b, _ := json.Marshal(srv.Status())
	fmt.Printf("STATUS %s\n", b)
}

// originRun is one round of the origin child.
type originRun struct {
	cpu    time.Duration
	status server.Status
}

// runOrigin starts the origin child (with --s3 to g when g is not nil),
// publishes file to it in real time, stops it and returns its CPU time.
func runOrigin(t *testing.T, file string, g *peers.VersityGW) originRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestS3BenchChild$", "-test.count=1")
	endpoint := ""
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true")
	if g != nil {
		endpoint = g.Endpoint()
		cmd.Env = append(cmd.Env, g.Env()...)
	}
	cmd.Env = append(cmd.Env, s3ChildEnv+"="+endpoint)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rtmpAddr string
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			rtmpAddr, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	require.NotEmpty(t, rtmpAddr, "the origin child printed no address")
	peers.PublishFile(t, file, "rtmp://"+rtmpAddr+"/live/s3-bench-key")
	require.NoError(t, stdin.Close())
	var run originRun
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "STATUS "); ok {
			require.NoError(t, json.Unmarshal([]byte(rest), &run.status))
		}
	}
	require.NoError(t, cmd.Wait())
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	run.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return run
}

// TestS3OriginCPU measures the origin's CPU time over the same live clip
// with and without --s3 (versitygw on loopback), rounds interleaved, each
// origin in its own child process: s3-origin-cpu. Both sides must have
// made the same rungs and the same media bytes, and the --s3 side must
// have uploaded every segment.
func TestS3OriginCPU(t *testing.T) {
	cfg := s3Config()
	g := peers.StartVersityGW(t, "live")
	file := peers.MakeTestFile(t, peers.TestSource{Width: 640, Height: 360, Duration: cfg.clip, GOP: 30, Bitrate: "800k"})
	var with, without []time.Duration
	var bytesWith, bytesWithout uint64
	for round := 0; round < cfg.rounds; round++ {
		for _, s3on := range []bool{false, true} {
			var gw *peers.VersityGW
			if s3on {
				gw = g
			}
			run := runOrigin(t, file, gw)
			var bytes uint64 // of the source rung: the same stream copied on both sides
			for _, r := range run.status.Rungs {
				if r.Source {
					bytes = r.Bytes
				}
			}
			require.Len(t, run.status.Rungs, 2, "both rungs on both sides")
			if s3on {
				with = append(with, run.cpu)
				bytesWith = bytes
				st := run.status.Storage
				require.NotNil(t, st)
				require.Zero(t, st.LostSegments)
				require.Zero(t, st.Queue, "every upload done before the origin stopped")
				require.GreaterOrEqual(t, int(st.Segments), 3*(int(cfg.clip/time.Second)-3), "every segment of both rungs and the audio uploaded")
			} else {
				without = append(without, run.cpu)
				bytesWithout = bytes
				require.Nil(t, run.status.Storage)
			}
			t.Logf("round %d, --s3 %v: origin CPU %v, %d source bytes, rungs %+v", round, s3on, run.cpu.Round(time.Millisecond), bytes, run.status.Rungs)
		}
		// The same clip on both sides; the last frames of a round may not
		// reach the muxer before the origin stops (a loaded machine).
		require.InEpsilon(t, float64(bytesWithout), float64(bytesWith), 0.01, "both sides muxed the same source media")
	}
	slices.Sort(with)
	slices.Sort(without)
	verdict(t, "s3-origin-cpu", with[len(with)/2].Seconds(), without[len(without)/2].Seconds(),
		fmt.Sprintf("median origin CPU over %d interleaved rounds of a %v 360p30 clip (ladder 360p,240p, libx264), with --s3 to versitygw on loopback vs without", cfg.rounds, cfg.clip))
}

// TestS3UploadLag measures, as a viewer would, how long after a segment
// is complete at the origin (its blocking reload lists it) the object is
// readable in the bucket: s3-upload-lag.
func TestS3UploadLag(t *testing.T) {
	cfg := s3Config()
	g := peers.StartVersityGW(t, "live")
	file := peers.MakeTestFile(t, peers.TestSource{Width: 640, Height: 360, Duration: cfg.clip, GOP: 30, Bitrate: "800k"})
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	specs, err := ladder.ParseSpecs("360p")
	require.NoError(t, err)
	up := &s3.Uploader{Location: s3.Location{Bucket: "live", Prefix: "lag"}, Endpoint: g.Endpoint(), Config: benchS3AWSConfig(g)}
	srv := &server.Server{RTMPListener: rl, HTTPListener: hl, StreamKey: "s3-lag-key", Ladder: specs, Storage: up,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.NoError(t, srv.Initialize())
	t.Cleanup(srv.Close)
	client := awss3.NewFromConfig(benchS3AWSConfig(g), func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(g.Endpoint())
		o.UsePathStyle = true
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		peers.PublishFile(t, file, "rtmp://"+rl.Addr().String()+"/live/s3-lag-key")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.clip+30*time.Second)
	defer cancel()
	origin := "http://" + hl.Addr().String() + "/hls/360p/"
	v := &llViewer{client: http.DefaultClient, base: origin}
	require.Eventually(t, func() bool {
		_, err := v.playlist(ctx, "")
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "the origin serves the stream")
	var lags []time.Duration
	next := -1
	for {
		q := ""
		if next >= 0 {
			q = fmt.Sprintf("_HLS_msn=%d&_HLS_part=0", next)
		}
		pl, err := v.playlist(ctx, q)
		if err != nil || pl.Endlist {
			t.Logf("follow ends: %v", err)
			break
		}
		if next >= 0 && next-1 >= pl.MediaSequence {
			seg := pl.Segments[next-1-pl.MediaSequence]
			complete := time.Now()
			key := "lag/hls/360p/" + seg.URI
			for ctx.Err() == nil {
				if _, err := client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("live"), Key: aws.String(key)}); err == nil {
					lags = append(lags, time.Since(complete))
					break
				}
				time.Sleep(5 * time.Millisecond) // polling the bucket as a reader would: the measurement's resolution
			}
		}
		next = pl.MediaSequence + len(pl.Segments) + 1
	}
	<-done
	require.GreaterOrEqual(t, len(lags), max(int(cfg.clip/time.Second)-4, 1), "segments measured")
	slices.Sort(lags)
	med := lags[len(lags)/2]
	st := up.Stats()
	t.Logf("segment complete → readable in the bucket: median %v, p90 %v over %d segments (the uploader's own: median %v)",
		med.Round(time.Millisecond), lags[len(lags)*9/10].Round(time.Millisecond), len(lags), st.MedianLag.Round(time.Millisecond))
	verdict(t, "s3-upload-lag", med.Seconds(), 0, fmt.Sprintf("%d 1 s segments of a live 360p clip, versitygw on loopback, complete = listed by the origin's blocking reload, readable = HeadObject 200 (5 ms polling)", len(lags)))
}
