package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// WHIPClient is a WebRTC publisher written with pion, independent of
// GoLive's code: it POSTs a sendonly offer (pion's default codecs: H.264
// and Opus) to a WHIP endpoint with a bearer token and, once connected,
// sends an H.264 Annex-B file and an Ogg Opus file (ffmpeg makes them, see
// MakeWHIPSource) in real time, over and over, with pion's own
// packetizers. It can DELETE its session or vanish. Its UDP socket is on
// 127.0.0.1.
type WHIPClient struct {
	// URL is the WHIP endpoint ("http://127.0.0.1:8080/whip").
	URL string
	// Bearer, if set, is sent as Authorization: Bearer.
	Bearer string
	// Source is the media to send; with a zero Source the client only
	// connects (no tracks send).
	Source WHIPSource
	// LossEvery, if set, drops every LossEvery-th media packet the client
	// sends once connected (retransmissions included), as a lossy link.
	LossEvery int

	pc       *webrtc.PeerConnection
	conn     net.PacketConn
	lossy    *lossyConn
	location string
	deleted  bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	frames, audioPackets atomic.Int64
}

// WHIPSource is a pair of files a WHIPClient sends.
type WHIPSource struct {
	// H264 is an Annex-B stream with an access unit delimiter before
	// every frame; FPS its frame rate.
	H264 string
	FPS  int
	// Opus is an Ogg Opus file with one 20 ms packet per page ("" for no
	// audio).
	Opus string
}

// MakeWHIPSource has ffmpeg encode seconds of test pattern (640x360,
// 30 fps, constrained baseline, a keyframe every second) and of a 1 kHz
// tone (Opus, stereo) into dir, as a WHIPClient sends them.
func MakeWHIPSource(t testing.TB, dir string, seconds int) WHIPSource {
	t.Helper()
	bin := RequireTool(t, "ffmpeg")
	src := WHIPSource{H264: filepath.Join(dir, "whip.h264"), FPS: 30, Opus: filepath.Join(dir, "whip.ogg")}
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", fmt.Sprint(seconds), "-c:v", "libx264",
			"-profile:v", "baseline", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
			"-bsf:v", "h264_metadata=aud=insert", "-f", "h264", src.H264},
		{"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", fmt.Sprint(seconds), "-ac", "2",
			"-c:a", "libopus", "-b:a", "64k", "-page_duration", "20000", "-f", "ogg", src.Opus},
	} {
		out, err := exec.Command(bin, append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ffmpeg %v: %v: %s", args, err, out)
		}
	}
	return src
}

// WHIPError is a WHIP endpoint's refusal.
type WHIPError struct {
	// Status is the HTTP status; Body the response body.
	Status int
	Body   string
}

// Error returns the status and body.
func (e *WHIPError) Error() string { return fmt.Sprintf("whip: status %d: %s", e.Status, e.Body) }

// Connect posts the offer, waits until the peer connection is up and
// starts sending. A refusal is a *WHIPError.
func (c *WHIPClient) Connect(ctx context.Context) error {
	pc, conn, err := loopbackPeerConnection(func(pc net.PacketConn) net.PacketConn {
		c.lossy = &lossyConn{PacketConn: pc, every: c.LossEvery}
		return c.lossy
	})
	if err != nil {
		return err
	}
	c.pc, c.conn = pc, conn
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "whipclient")
	if err != nil {
		return err
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "whipclient")
	if err != nil {
		return err
	}
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		tx, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return err
		}
		go func() { // lets pion's interceptors answer NACKs
			buf := make([]byte, 1500)
			for {
				if _, _, err := tx.Sender().Read(buf); err != nil {
					return
				}
			}
		}()
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, err := localOffer(ctx, pc)
	if err != nil {
		return err
	}
	status, body, loc, err := request(ctx, http.MethodPost, c.URL, "application/sdp", offer, c.Bearer)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return &WHIPError{Status: status, Body: body}
	}
	if c.location, err = resolve(c.URL, loc); err != nil {
		return err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		return err
	}
	select {
	case <-connected:
	case <-ctx.Done():
		return fmt.Errorf("whip client: not connected: %w", ctx.Err())
	}
	c.lossy.on.Store(true)
	sendCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if c.Source.H264 != "" {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.sendVideo(sendCtx, video) }()
	}
	if c.Source.Opus != "" {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.sendAudio(sendCtx, audio) }()
	}
	return nil
}

// sendVideo sends the H.264 file's access units at its frame rate, over
// and over, until ctx ends.
func (c *WHIPClient) sendVideo(ctx context.Context, track *webrtc.TrackLocalStaticSample) {
	frame := time.Second / time.Duration(c.Source.FPS)
	tick := time.NewTicker(frame)
	defer tick.Stop()
	for ctx.Err() == nil {
		b, err := os.ReadFile(c.Source.H264)
		if err != nil {
			return
		}
		r, err := h264reader.NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		var au []byte
		for {
			nal, err := r.NextNAL()
			if err != nil || nal.UnitType == h264reader.NalUnitTypeAUD {
				if len(au) > 0 {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					if track.WriteSample(media.Sample{Data: au, Duration: frame}) != nil {
						return
					}
					c.frames.Add(1)
				}
				au = nil
				if err != nil {
					break // the end: again from the start
				}
				continue
			}
			au = append(append(au, 0, 0, 0, 1), nal.Data...)
		}
	}
}

// sendAudio sends the Ogg file's Opus packets every 20 ms, over and over,
// until ctx ends.
func (c *WHIPClient) sendAudio(ctx context.Context, track *webrtc.TrackLocalStaticSample) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(c.Source.Opus)
		if err != nil {
			return
		}
		ogg, _, err := oggreader.NewWith(f)
		if err != nil {
			f.Close()
			return
		}
		for {
			page, _, err := ogg.ParseNextPage()
			if err != nil {
				break
			}
			if bytes.HasPrefix(page, []byte("OpusTags")) || len(page) == 0 {
				continue
			}
			select {
			case <-ctx.Done():
				f.Close()
				return
			case <-tick.C:
			}
			if track.WriteSample(media.Sample{Data: page, Duration: 20 * time.Millisecond}) != nil {
				f.Close()
				return
			}
			c.audioPackets.Add(1)
		}
		f.Close()
	}
}

// Sent returns how many video frames and Opus packets went out.
func (c *WHIPClient) Sent() (frames, audioPackets int64) {
	return c.frames.Load(), c.audioPackets.Load()
}

// Location returns the session's URL.
func (c *WHIPClient) Location() string { return c.location }

// stop ends the senders.
func (c *WHIPClient) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

// Close stops sending, DELETEs the session and closes the peer
// connection; it returns the DELETE's status (0 if none was sent).
func (c *WHIPClient) Close() int {
	c.stop()
	status := 0
	if c.location != "" && !c.deleted {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		status, _, _, _ = request(ctx, http.MethodDelete, c.location, "", "", c.Bearer)
		cancel()
		c.deleted = true
	}
	c.Vanish()
	return status
}

// Vanish drops the client without a DELETE or a DTLS goodbye: its socket
// closes first, as when a publisher's network goes away.
func (c *WHIPClient) Vanish() {
	c.stop()
	if c.conn != nil {
		_ = c.conn.Close()
	}
	if c.pc != nil {
		_ = c.pc.Close()
	}
}

// lossyConn drops every every-th packet larger than a STUN check once on.
type lossyConn struct {
	net.PacketConn
	every   int
	on      atomic.Bool
	n       atomic.Int64
	dropped atomic.Int64
}

func (l *lossyConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if l.every > 0 && l.on.Load() && len(b) > 200 && l.n.Add(1)%int64(l.every) == 0 {
		l.dropped.Add(1)
		return len(b), nil
	}
	return l.PacketConn.WriteTo(b, addr)
}

// Dropped returns how many packets LossEvery dropped.
func (c *WHIPClient) Dropped() int64 {
	if c.lossy == nil {
		return 0
	}
	return c.lossy.dropped.Load()
}

// IsWHIPStatus reports whether err is a WHIP refusal with that status.
func IsWHIPStatus(err error, status int) bool {
	var we *WHIPError
	return errors.As(err, &we) && we.Status == status
}
