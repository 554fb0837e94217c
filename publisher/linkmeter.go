package publisher

import (
	"sync"
	"time"

	"golive/internal/tcpstat"
	"golive/media"
)

// linkSampleEvery is how often a live connection's link is sampled (the
// kernel's counters are read): the cadence of the measurement, on the wall
// clock. What the samples decide (a stall) is timed on the stage's Clock.
const linkSampleEvery = 100 * time.Millisecond

// unsentLimit is how many bytes the kernel may hold written but not yet
// sent (TCP_NOTSENT_LOWAT): about 40 ms at 3 Mbit/s, 0.5 s at 270 kbit/s.
// Past it, writes wait, and what the link cannot carry waits in our queue,
// where whole frames can be dropped.
const unsentLimit = 16 << 10

// Congested's hysteresis: media waiting longer than congestedAbove beyond
// the connection's base delay makes a destination congested; it is no
// longer once that falls under congestedBelow.
const (
	congestedAbove = 500 * time.Millisecond
	congestedBelow = 250 * time.Millisecond
)

// maxLinkPackets bounds how many packets the meter follows between their
// hand-off to the connection and their acknowledgement (about 2 minutes
// of 30 fps video with audio; the kernel's buffers hold far less).
const maxLinkPackets = 1 << 13

// chunkOverhead estimates the bytes RTMP adds to a media message of n bytes
// (an 8-byte chunk header, then one byte per further 4 KiB chunk), so that
// the meter's offsets follow the socket's.
func chunkOverhead(n int) int { return 8 + (n-1)/chunkSize }

// linkPacket is a packet handed to a connection: where it ends in the
// stream of bytes handed over, its DTS, and whether it is a video frame.
type linkPacket struct {
	end   int64
	dts   time.Duration
	video bool
}

// linkSample is one reading of a connection's link: what the kernel says
// (or, where it cannot, what was written), and where our queue stands.
type linkSample struct {
	kernel   tcpstat.Sample
	measured bool // kernel is the kernel's word; else Acked is what was written
	waiting  bool // our queue holds packets, or a write is under way
}

// linkMeter follows one destination's stream from the hand-off to a
// connection to the peer's acknowledgement: which packets the peer has
// taken (by the bytes it acknowledged), how much media waits in the
// kernel, the link's throughput, whether acknowledgements stopped (a
// stall) and whether the link carries less than the stream needs
// (congested). The run goroutine hands packets over; the connection's
// watcher observes samples; Stats reads. Safe for concurrent use.
type linkMeter struct {
	mu sync.Mutex

	handed   int64        // bytes handed to connections, RTMP framing estimated
	packets  []linkPacket // handed and not yet known to be acknowledged, oldest first
	lastDTS  time.Duration
	connBase int64 // handed when the connection started: earlier bytes went to older ones

	ackedBase int64 // acknowledged on earlier connections
	connAcked int64 // acknowledged on this one
	queued    int64 // written to this connection's socket and not acknowledged
	measured  bool
	progress  time.Time // last acknowledgement, or last moment nothing waited
	rate      media.RateMeter
	bitrate   int // acknowledged bits/s, last sample

	delay     time.Duration // at the last sample
	baseDelay time.Duration // least delay seen on this connection
	hasBase   bool
	congested bool

	delivered int64         // video frames acknowledged
	lost      int64         // video frames handed to connections that broke before acknowledging them
	lastAcked time.Duration // newest DTS acknowledged on this connection
	hasAcked  bool
}

// start begins a connection at now: what earlier connections did not
// acknowledge is lost.
func (m *linkMeter) start(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropUnacked()
	m.connBase = m.handed
	m.ackedBase += m.connAcked
	m.connAcked, m.queued = 0, 0
	m.progress = now
	m.hasBase, m.congested, m.hasAcked, m.delay = false, false, false, 0
}

// end closes the books of a connection that is gone: what it did not
// acknowledge is lost.
func (m *linkMeter) end() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropUnacked()
	m.queued, m.congested, m.hasAcked, m.delay = 0, false, false, 0
}

func (m *linkMeter) dropUnacked() {
	for _, p := range m.packets {
		if p.video {
			m.lost++
		}
	}
	m.packets = m.packets[:0]
}

// add records that p went to the connection as a message of n body bytes.
func (m *linkMeter) add(p *media.Packet, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handed += int64(n + chunkOverhead(n))
	if len(m.packets) == maxLinkPackets {
		// Far older than anything a socket holds: count it as taken.
		if m.packets[0].video {
			m.delivered++
		}
		m.packets = append(m.packets[:0], m.packets[1:]...)
	}
	m.packets = append(m.packets, linkPacket{end: m.handed, dts: p.DTS, video: p.Codec.IsVideo()})
	m.lastDTS = p.DTS
}

// observe takes a sample at now; newest is the newest DTS the stage was
// given (ok false before any). It returns how long the peer has
// acknowledged nothing while something waited.
func (m *linkMeter) observe(now time.Time, s linkSample, newest time.Duration, ok bool) (idle time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.measured = s.measured
	if s.kernel.Acked > m.connAcked || (s.kernel.Queued == 0 && !s.waiting) {
		m.progress = now
	}
	m.connAcked = max(m.connAcked, s.kernel.Acked)
	m.queued = s.kernel.Queued
	m.bitrate = m.rate.Bitrate(now, m.ackedBase+m.connAcked)

	// The bytes handed over and not in the kernel's queue were taken
	// (the message go-rtmp is still writing counts as taken: at most one
	// per chunk stream).
	taken := max(m.connBase, m.handed-m.queued)
	n := 0
	for n < len(m.packets) && m.packets[n].end <= taken {
		if m.packets[n].video {
			m.delivered++
		}
		if !m.hasAcked || m.packets[n].dts > m.lastAcked {
			m.lastAcked, m.hasAcked = m.packets[n].dts, true
		}
		n++
	}
	m.packets = append(m.packets[:0], m.packets[n:]...)

	m.delay = 0
	if ok {
		d := m.delayLocked(newest)
		m.delay = d
		if !m.hasBase || d < m.baseDelay {
			m.baseDelay, m.hasBase = d, true
		}
		switch excess := d - m.baseDelay; {
		case excess > congestedAbove:
			m.congested = true
		case excess < congestedBelow:
			m.congested = false
		}
	}
	return now.Sub(m.progress)
}

// delayLocked is how far behind newest the peer is: newest minus the
// newest DTS it acknowledged (which counts the frames dropped in between:
// the server lacks them as well), or before any acknowledgement minus the
// oldest packet handed over (0 when none).
func (m *linkMeter) delayLocked(newest time.Duration) time.Duration {
	switch {
	case m.hasAcked:
		return max(0, newest-m.lastAcked)
	case len(m.packets) > 0:
		return max(0, newest-m.packets[0].dts)
	}
	return 0
}

// linkStats is the meter's part of RTMPStats.
type linkStats struct {
	oldest     time.Duration // DTS of the oldest unacknowledged packet
	hasOldest  bool
	delay      time.Duration // how far behind the peer was at the last sample
	kernelWait time.Duration // media time from it to the last packet handed over
	queued     int64
	acked      int64
	bitrate    int
	baseDelay  time.Duration
	congested  bool
	measured   bool
	delivered  int64
	lost       int64
	unacked    int64 // video frames handed over and not acknowledged
}

func (m *linkMeter) stats() linkStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := linkStats{
		queued: m.queued, acked: m.ackedBase + m.connAcked, bitrate: m.bitrate, baseDelay: m.baseDelay,
		congested: m.congested, measured: m.measured, delivered: m.delivered, lost: m.lost,
		delay: m.delay,
	}
	if len(m.packets) > 0 {
		st.oldest, st.hasOldest = m.packets[0].dts, true
		st.kernelWait = max(0, m.lastDTS-m.packets[0].dts)
	}
	for _, p := range m.packets {
		if p.video {
			st.unacked++
		}
	}
	return st
}
