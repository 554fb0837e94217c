package ingest

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"golive/internal/peers"
	"golive/media"
	"golive/publisher"
)

// TestServerTakeover: a second publisher with the right key is refused
// while the live one sends media, and takes over once it has sent nothing
// for TakeoverAfter; the sink's stream goes on (no stop, no second start)
// with timestamps continuing one frame after the old publisher's last.
func TestServerTakeover(t *testing.T) {
	s, sink := startServer(t, func(s *Server) { s.TakeoverAfter = 500 * time.Millisecond })
	addr := s.ListenAddr().String()
	rec := avcRecord(t)
	send := func(st interface {
		Write(int, uint32, rtmpmsg.Message) error
	}, from, n int) {
		require.NoError(t, st.Write(4, uint32(from*40), &rtmpmsg.VideoMessage{Payload: bytes.NewReader(videoTag(1, 0, 0, rec))}))
		require.NoError(t, st.Write(4, uint32(from*40), &rtmpmsg.AudioMessage{Payload: bytes.NewReader(audioTag(0, testASC))}))
		for i := from; i < from+n; i++ {
			require.NoError(t, st.Write(4, uint32(i*40), &rtmpmsg.VideoMessage{Payload: bytes.NewReader(videoTag(1, 1, 0, idrAVCC))}))
		}
	}

	_, a := publish(t, addr, "live", testKey)
	require.NotNil(t, a)
	eventually(t, "first publisher accepted", func() bool { return s.Stats().Live })
	send(a, 0, 10)
	eventually(t, "its stream started", func() bool { return len(sink.videoDTS()) == 10 })
	since := s.Stats().Since

	// Busy a moment ago: refused.
	_, b := publish(t, addr, "live", testKey)
	require.NotNil(t, b)
	eventually(t, "second publisher refused", func() bool { return s.Stats().Refused == 1 })

	// Idle for TakeoverAfter: taken over.
	time.Sleep(600 * time.Millisecond) // the first publisher's silence, in real time
	_, c := publish(t, addr, "live", testKey)
	require.NotNil(t, c)
	eventually(t, "taken over", func() bool { return s.Stats().Takeovers == 1 })
	eventually(t, "the old connection closed", func() bool { return s.Stats().Connections == 1 })
	send(c, 0, 10) // a publisher starting again from 0
	eventually(t, "the stream goes on", func() bool { return len(sink.videoDTS()) == 20 })

	starts, stops, _ := sink.counts()
	require.Equal(t, 1, starts, "one stream for viewers")
	require.Zero(t, stops)
	dts := sink.videoDTS()
	for i := 1; i < len(dts); i++ {
		want := 40 * time.Millisecond
		if i == 10 {
			want = 33333333 // one frame at 30 fps: the stream told no frame rate
		}
		require.Equal(t, want, dts[i]-dts[i-1], "timestamps continue at %d: %v", i, dts)
	}
	st := s.Stats()
	require.True(t, st.Live)
	require.Equal(t, since, st.Since, "live since the first publisher")
	require.Equal(t, uint64(2), st.Accepted)
}

// TestServerTakeoverByReconnectingPublisher is the accident itself: GoLive's
// publisher streams to the ingest through a link that dies silently; it
// notices the stall, reconnects through a working link, and takes the
// stream over once the dead session has been idle for TakeoverAfter
// (instead of being refused as a second publisher until the 15 s idle
// timeout). The sink sees one continuous stream.
func TestServerTakeoverByReconnectingPublisher(t *testing.T) {
	s, sink := startServer(t, func(s *Server) { s.IdleTimeout = 15 * time.Second })
	link := peers.StartProxy(t, s.ListenAddr().String(), peers.ProxyOptions{ReadBuffer: 4 << 10})
	clip := peers.ReadFLV(t, peers.MakeTestFile(t, peers.TestSource{Width: 160, Height: 120, FPS: 25, GOP: 25,
		Duration: 12 * time.Second, NoAudio: true}))
	r := &publisher.RTMP{URL: "rtmp://" + link.Addr() + "/live/" + testKey, Video: clip.Video,
		Reconnect:    &publisher.ReconnectPolicy{Initial: 200 * time.Millisecond, Max: 500 * time.Millisecond, Buffer: 10 * time.Second},
		StallTimeout: time.Second, Logger: s.Logger}
	require.NoError(t, r.Initialize())
	defer r.Close()

	start := time.Now()
	stalled := false
	for i, p := range clip.Packets {
		if d := time.Until(start.Add(p.DTS - clip.Packets[0].DTS)); d > 0 {
			time.Sleep(d) // a live encoder's pace
		}
		if !stalled && p.DTS-clip.Packets[0].DTS >= 2*time.Second {
			link.Stall() // the link dies without a word
			stalled = true
			t.Logf("stalled at packet %d", i)
		}
		r.WritePacket(p)
	}
	require.Eventually(t, func() bool { return s.Stats().Takeovers == 1 }, 15*time.Second, 10*time.Millisecond,
		"the reconnecting publisher never took over: %+v %+v", s.Stats(), r.Stats())
	frames := 0
	for _, p := range clip.Packets {
		if p.Codec == media.CodecH264 {
			frames++
		}
	}
	r.Close()
	st := r.Stats()
	t.Logf("publisher: %d reconnects, %d attempts, last error %v; ingest: %+v", st.Reconnects, st.Attempts, st.LastError, s.Stats())
	starts, stops, _ := sink.counts()
	require.Equal(t, 1, starts, "one stream for viewers")
	dts := sink.videoDTS()
	require.Greater(t, len(dts), frames/2)
	for i := 1; i < len(dts); i++ {
		require.Greater(t, dts[i], dts[i-1], "timestamps go forward at %d", i)
		require.Less(t, dts[i]-dts[i-1], 500*time.Millisecond, "no hole in the timeline at %d", i)
	}
	_ = stops // the publisher's goodbye at Close ends the stream
}
