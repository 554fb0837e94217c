package publisher

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// maxUnconfirmed bounds the video frames a whipLink follows between their
// sending and the receiver report that covers them (about a minute at
// 30 fps; reports come every second).
const maxUnconfirmed = 2048

// sentFrame is a video frame sent on a WHIP session: the extended RTP
// sequence number of its last packet, its PTS and its RTP bytes.
type sentFrame struct {
	ext   uint32
	pts   time.Duration
	bytes int64
}

// whipLink follows what a WHIP server received of one session's video,
// from the RTCP receiver reports it sends back (about once a second): the
// frames up to the highest sequence number reported are delivered; the
// round-trip time (from the report's LSR and DLSR) is the link's delay,
// its least value on the session the base. The writer calls sent, the
// RTCP reader report; Stats readers snapshot. Safe for concurrent use.
type whipLink struct {
	mu      sync.Mutex
	ssrc    uint32
	pending []sentFrame // sent, not yet reported received
	// What the reports confirmed.
	delivered  int64
	ackedBytes int64
	rtt, base  time.Duration
	haveRTT    bool
}

// sent notes a frame whose last packet has extended sequence number ext.
func (l *whipLink) sent(ext uint32, pts time.Duration, bytes int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) >= maxUnconfirmed {
		l.pending = l.pending[1:]
	}
	l.pending = append(l.pending, sentFrame{ext: ext, pts: pts, bytes: bytes})
}

// report takes a compound RTCP packet from the server; now is when it
// came.
func (l *whipLink) report(pkts []rtcp.Packet, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range pkts {
		rr, ok := p.(*rtcp.ReceiverReport)
		if !ok {
			continue
		}
		for _, r := range rr.Reports {
			if r.SSRC != l.ssrc {
				continue
			}
			n := 0
			for n < len(l.pending) && int32(r.LastSequenceNumber-l.pending[n].ext) >= 0 {
				l.delivered++
				l.ackedBytes += l.pending[n].bytes
				n++
			}
			l.pending = l.pending[n:]
			if r.LastSenderReport != 0 {
				rtt := ntpShort(now) - r.LastSenderReport - r.Delay // 1/65536 s
				if int32(rtt) >= 0 {
					l.rtt = time.Duration(uint64(rtt) * uint64(time.Second) >> 16)
					if !l.haveRTT || l.rtt < l.base {
						l.base = l.rtt
					}
					l.haveRTT = true
				}
			}
		}
	}
}

// linkState is a snapshot of a whipLink.
type linkState struct {
	delivered, ackedBytes int64
	unconfirmed           int64
	unconfirmedSpan       time.Duration // media time sent and not yet reported
	rtt, base             time.Duration
}

func (l *whipLink) state() linkState {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := linkState{delivered: l.delivered, ackedBytes: l.ackedBytes, unconfirmed: int64(len(l.pending)),
		rtt: l.rtt, base: l.base}
	if n := len(l.pending); n > 0 {
		st.unconfirmedSpan = l.pending[n-1].pts - l.pending[0].pts
	}
	return st
}

// ntpShort returns t as the middle 32 bits of an NTP timestamp (RFC 3550's
// LSR unit: 1/65536 s).
func ntpShort(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32((secs<<32 | frac) >> 16)
}
