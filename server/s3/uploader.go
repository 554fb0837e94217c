package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"golive/server/dash"
	"golive/server/hls"
)

// ErrNoLocation is returned by Uploader.Initialize without a bucket.
var ErrNoLocation = errors.New("s3 uploader has no bucket")

// Storage states reported by Stats.
const (
	// StateConnecting: nothing uploaded yet.
	StateConnecting = "connecting"
	// StateUp: the last request succeeded.
	StateUp = "up"
	// StateDown: the last request failed; uploads wait and retry with
	// backoff.
	StateDown = "down"
)

// Uploader is the stage that pushes the stream to a bucket. It is an
// hls.SegmentSink: SegmentDone and StreamEnded never block, and its own
// goroutine and workers do the uploads. Set the fields, call Initialize,
// then Close.
type Uploader struct {
	// Location is the bucket and key prefix.
	Location Location
	// Endpoint is the S3 endpoint URL ("" for AWS); with one, requests use
	// path-style addressing.
	Endpoint string
	// Config is the AWS configuration (LoadConfig).
	Config aws.Config
	// Keep keeps every segment of the stream (no deletes) and finishes
	// the playlists as VOD (EXT-X-ENDLIST, a static MPD) when the
	// publisher stops.
	Keep bool
	// SegmentCount is how many segments live playlists list (default 7);
	// segments are deleted once that many newer ones follow the window.
	SegmentCount int
	// QueueBytes bounds the segment bytes waiting for upload (default 64
	// MiB); past it the oldest waiting segment is given up as a gap.
	QueueBytes int
	// Workers is how many uploads run at once (default 4).
	Workers int
	// DrainTimeout is how long Close waits for the queue to empty
	// (default 10 s).
	DrainTimeout time.Duration
	// Multivariant returns the multivariant playlist to upload (nil:
	// none yet), and Rungs the current rungs, best first, for the MPD.
	Multivariant func() []byte
	Rungs        func() []string
	// Logger receives the uploader's logs (default slog.Default()).
	Logger *slog.Logger
	// Clock gives the time of uploads and backoff (default time.Now).
	Clock func() time.Time

	client *awss3.Client
	ctx    context.Context
	cancel context.CancelFunc
	segCh  chan hls.Segment
	endCh  chan streamEnd
	drain  chan struct{}
	work   chan *job
	done   chan result
	wg     sync.WaitGroup
	closed sync.Once

	mu    sync.Mutex
	stats Stats
}

// Stats is a snapshot of an Uploader.
type Stats struct {
	// Location is s3://BUCKET/PREFIX.
	Location string
	// State is StateConnecting, StateUp or StateDown.
	State string
	// LastError is the last failure ("" if none).
	LastError string
	// Queue and QueueBytes are the uploads and deletes waiting, and the
	// segment bytes among them.
	Queue, QueueBytes int
	// Uploaded counts objects written; Segments the segments among them.
	Uploaded, Segments uint64
	// Failures counts failed requests (each retried).
	Failures uint64
	// Lost counts segments given up (queue full while storage was down):
	// the playlists mark them as gaps.
	Lost uint64
	// Deleted counts objects deleted as they left the live window.
	Deleted uint64
	// LastLag is the last segment's time from complete at the origin to
	// readable in the bucket; MedianLag the median of the last 64.
	LastLag, MedianLag time.Duration
}

type streamEnd struct {
	rung   string
	stream uint64
}

// job is one request: a put of body under key, or a delete.
type job struct {
	key    string
	body   []byte
	ctype  string
	cache  string
	del    bool
	seg    *entry // the segment a put uploads, nil for other objects
	merged bool   // a playlist or manifest put that a newer body may replace while queued
}

type result struct {
	j   *job
	err error
}

// Initialize checks the bucket (a missing bucket or refused credentials
// fail here) and starts the uploader.
func (u *Uploader) Initialize() error {
	if u.Location.Bucket == "" {
		return fmt.Errorf("s3: initialize: %w", ErrNoLocation)
	}
	if u.SegmentCount <= 0 {
		u.SegmentCount = 7
	}
	if u.QueueBytes <= 0 {
		u.QueueBytes = 64 << 20
	}
	if u.Workers <= 0 {
		u.Workers = 4
	}
	if u.DrainTimeout <= 0 {
		u.DrainTimeout = 10 * time.Second
	}
	if u.Logger == nil {
		u.Logger = slog.Default()
	}
	if u.Clock == nil {
		u.Clock = time.Now
	}
	if u.Multivariant == nil {
		u.Multivariant = func() []byte { return nil }
	}
	if u.Rungs == nil {
		u.Rungs = func() []string { return nil }
	}
	u.client = newClient(u.Config, u.Endpoint)
	if err := checkBucket(context.Background(), u.client, u.Location); err != nil {
		return err
	}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.segCh = make(chan hls.Segment, 1024)
	u.endCh = make(chan streamEnd, 256)
	u.drain = make(chan struct{})
	u.work = make(chan *job)
	u.done = make(chan result, u.Workers)
	u.stats = Stats{Location: u.Location.String(), State: StateConnecting}
	st := newState(u)
	u.wg.Add(1 + u.Workers)
	go func() {
		defer u.wg.Done()
		st.run()
	}()
	for i := 0; i < u.Workers; i++ {
		go func() {
			defer u.wg.Done()
			u.worker()
		}()
	}
	u.Logger.Info("s3 uploads", "to", u.Location.String(), "endpoint", u.Endpoint, "keep", u.Keep)
	return nil
}

// SegmentDone queues a complete segment for upload. It never blocks: if
// the uploader cannot take it, the segment is counted lost.
func (u *Uploader) SegmentDone(s hls.Segment) {
	select {
	case u.segCh <- s:
	default:
		u.mu.Lock()
		u.stats.Lost++
		u.mu.Unlock()
	}
}

// StreamEnded finishes the playlists of the rung's stream.
func (u *Uploader) StreamEnded(rung string, stream uint64) {
	select {
	case u.endCh <- streamEnd{rung, stream}:
	case <-u.ctx.Done():
	}
}

// Stats returns a snapshot.
func (u *Uploader) Stats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.stats
}

// Close waits up to DrainTimeout for the queued uploads (the ended
// playlists among them), then stops. It is idempotent.
func (u *Uploader) Close() {
	if u.cancel == nil {
		return
	}
	u.closed.Do(func() {
		close(u.drain)
		u.wg.Wait()
	})
}

// worker runs requests until the uploader stops.
func (u *Uploader) worker() {
	for {
		select {
		case <-u.ctx.Done():
			return
		case j := <-u.work:
			err := u.do(j)
			select {
			case u.done <- result{j, err}:
			case <-u.ctx.Done():
				return
			}
		}
	}
}

// do runs one request.
func (u *Uploader) do(j *job) error {
	ctx, cancel := context.WithTimeout(u.ctx, 20*time.Second)
	defer cancel()
	bucket, key := aws.String(u.Location.Bucket), aws.String(j.key)
	if j.del {
		_, err := u.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: bucket, Key: key})
		return err
	}
	_, err := u.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: bucket, Key: key, Body: bytes.NewReader(j.body),
		ContentLength: aws.Int64(int64(len(j.body))),
		ContentType:   aws.String(j.ctype), CacheControl: aws.String(j.cache),
	})
	return err
}

// update changes the shared stats under the lock.
func (u *Uploader) update(f func(*Stats)) {
	u.mu.Lock()
	f(&u.stats)
	u.mu.Unlock()
}

// median returns the median of ds (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// manifestFor is the dash.Manifest the bucket's MPD is made from.
func manifestFor(u *Uploader) *dash.Manifest {
	m := &dash.Manifest{Window: u.SegmentCount, KeepAll: u.Keep, Logger: u.Logger, Clock: u.Clock}
	_ = m.Initialize()
	return m
}
