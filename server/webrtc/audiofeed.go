package webrtc

import (
	"context"
	"time"

	"golive/media"
)

// audioQueue is how many audio packets may wait for the transcoder.
const audioQueue = 64

// audioFeed transcodes one stream's audio to Opus, once for every viewer,
// in its own goroutine: the ingest hands packets over without waiting.
type audioFeed struct {
	w      *WHEP
	tc     AudioTranscoder
	in     chan *media.Packet
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newAudioFeed(w *WHEP, tc AudioTranscoder) *audioFeed {
	a := &audioFeed{w: w, tc: tc, in: make(chan *media.Packet, audioQueue), done: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run()
	return a
}

// write queues a packet; a full queue loses it (counted as an error).
func (a *audioFeed) write(pkt *media.Packet) {
	select {
	case a.in <- pkt:
	default:
		a.w.audioErr.Add(1)
	}
}

func (a *audioFeed) run() {
	defer close(a.done)
	var lastLog time.Time
	for {
		var pkt *media.Packet
		select {
		case <-a.ctx.Done():
			return
		case pkt = <-a.in:
		}
		out, err := a.tc.Transcode(pkt)
		if err != nil {
			a.w.audioErr.Add(1)
			if time.Since(lastLog) > time.Second {
				lastLog = time.Now()
				a.w.Logger.Warn("whep: audio transcode", "err", err)
			}
		}
		for _, p := range out {
			a.w.broadcastAudio(p)
		}
	}
}

// close stops the goroutine and frees the transcoder.
func (a *audioFeed) close() {
	a.cancel()
	<-a.done
	a.tc.Close()
}
