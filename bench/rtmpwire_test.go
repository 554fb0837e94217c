package bench

import (
	"encoding/binary"
	"io"
	"maps"
	"net"
	"sync"
	"testing"
	"time"
)

// rtmpWire is a TCP proxy in front of an RTMP server that reads the
// publisher's chunk stream as it passes and notes, for every video
// message, the moment its last byte was handed to the server: when a
// frame was sent, seen from outside both programs. Frames are keyed by
// their presentation time in ms (FLV timestamp + composition time), as
// fMP4 parts carry them.
type rtmpWire struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	sent     map[int64]time.Time
	firstPTS int64
	haveAny  bool
	conn     time.Time // the publisher's first byte
	wg       sync.WaitGroup
}

// startRTMPWire listens on 127.0.0.1 and forwards to upstream.
func startRTMPWire(t testing.TB, upstream string) *rtmpWire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &rtmpWire{ln: ln, upstream: upstream, sent: map[int64]time.Time{}}
	w.wg.Add(1)
	go w.accept()
	t.Cleanup(w.close)
	return w
}

// addr is the proxy's address (host:port).
func (w *rtmpWire) addr() string { return w.ln.Addr().String() }

func (w *rtmpWire) close() {
	_ = w.ln.Close()
	w.wg.Wait()
}

func (w *rtmpWire) accept() {
	defer w.wg.Done()
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		up, err := w.dial()
		if err != nil {
			_ = c.Close()
			continue
		}
		w.wg.Add(2)
		go func() { // server → client as it comes
			defer w.wg.Done()
			_, _ = io.Copy(c, up)
			_ = c.Close()
		}()
		go func() {
			defer w.wg.Done()
			w.forward(c, up)
			_ = up.Close()
		}()
	}
}

// dial connects to the upstream, retrying for 15 s (a server that
// listens late, like ffmpeg -listen, refuses until it does).
func (w *rtmpWire) dial() (net.Conn, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		up, err := net.Dial("tcp", w.upstream)
		if err == nil || time.Now().After(deadline) {
			return up, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// forward copies client → server, parsing what it copied after each
// write so that a message counts as sent once its last byte is written.
// It acknowledges what it reads at once, as the ingest does, so that the
// publisher's TCP sees the server's behaviour.
func (w *rtmpWire) forward(c, up net.Conn) {
	p := &rtmpChunkParser{onVideo: func(pts int64) {}}
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			quickAck(c)
			w.mu.Lock()
			if w.conn.IsZero() {
				w.conn = time.Now()
			}
			w.mu.Unlock()
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
			at := time.Now()
			p.onVideo = func(pts int64) { w.mark(pts, at) }
			p.feed(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (w *rtmpWire) mark(pts int64, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.sent[pts]; !ok {
		w.sent[pts] = at
	}
	if !w.haveAny || pts < w.firstPTS {
		w.firstPTS, w.haveAny = pts, true
	}
}

// lookup returns when the frame with presentation time pts (ms, ±1 for
// rounding) was sent.
func (w *rtmpWire) lookup(pts int64) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range []int64{0, -1, 1} {
		if t, ok := w.sent[pts+d]; ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// snapshot returns every frame's presentation time and send time.
func (w *rtmpWire) snapshot() map[int64]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.sent)
}

// frames returns how many video frames passed.
func (w *rtmpWire) frames() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sent)
}

// connected returns when the publisher's first byte arrived.
func (w *rtmpWire) connected() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn
}

// first returns the smallest presentation time seen and when it was sent.
func (w *rtmpWire) first() (int64, time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.firstPTS, w.sent[w.firstPTS], w.haveAny
}

// rtmpChunkParser follows the client → server direction of an RTMP
// connection: the C0/C1/C2 handshake, then chunks of messages (Set Chunk
// Size honoured, extended timestamps included), calling onVideo with the
// presentation time of every complete H.264 frame message.
type rtmpChunkParser struct {
	onVideo   func(pts int64)
	buf       []byte
	handshake bool
	chunkSize int
	streams   map[uint32]*rtmpChunkStream
	broken    bool
}

type rtmpChunkStream struct {
	ts, delta uint32
	length    int
	typ       byte
	extended  bool
	msg       []byte // the message being assembled
}

func (p *rtmpChunkParser) feed(b []byte) {
	if p.broken {
		return
	}
	p.buf = append(p.buf, b...)
	if !p.handshake {
		const hs = 1 + 1536 + 1536
		if len(p.buf) < hs {
			return
		}
		p.buf = p.buf[hs:]
		p.handshake, p.chunkSize, p.streams = true, 128, map[uint32]*rtmpChunkStream{}
	}
	for {
		n, ok := p.chunk()
		if !ok {
			break
		}
		p.buf = p.buf[n:]
	}
	p.buf = append([]byte(nil), p.buf...) // do not keep the caller's buffer
}

// chunk parses one chunk at the start of buf; false when it is not all
// there yet.
func (p *rtmpChunkParser) chunk() (int, bool) {
	b := p.buf
	if len(b) < 1 {
		return 0, false
	}
	fmtType := b[0] >> 6
	csid, pos := uint32(b[0]&0x3f), 1
	switch csid {
	case 0:
		if len(b) < 2 {
			return 0, false
		}
		csid, pos = uint32(b[1])+64, 2
	case 1:
		if len(b) < 3 {
			return 0, false
		}
		csid, pos = uint32(b[2])*256+uint32(b[1])+64, 3
	}
	cs := p.streams[csid]
	if cs == nil {
		cs = &rtmpChunkStream{}
		p.streams[csid] = cs
	}
	hdr := [4]int{11, 7, 3, 0}[fmtType]
	if len(b) < pos+hdr {
		return 0, false
	}
	h := b[pos : pos+hdr]
	pos += hdr
	starting := len(cs.msg) == 0
	var tsField uint32
	if fmtType < 3 {
		tsField = uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
	}
	ext := (fmtType < 3 && tsField == 0xffffff) || (fmtType == 3 && cs.extended)
	if ext {
		if len(b) < pos+4 {
			return 0, false
		}
		tsField = binary.BigEndian.Uint32(b[pos:])
		pos += 4
	}
	// The header is all here; apply it once the chunk's data is too.
	ts, delta, length, typ := cs.ts, cs.delta, cs.length, cs.typ
	switch fmtType {
	case 0:
		ts, delta = tsField, 0
		length, typ = int(h[3])<<16|int(h[4])<<8|int(h[5]), h[6]
	case 1:
		delta, ts = tsField, ts+tsField
		length, typ = int(h[3])<<16|int(h[4])<<8|int(h[5]), h[6]
	case 2:
		delta, ts = tsField, ts+tsField
	case 3:
		if starting {
			ts += delta
		}
	}
	need := min(length-len(cs.msg), p.chunkSize)
	if need < 0 || length > 16<<20 {
		p.broken = true
		return 0, false
	}
	if len(b) < pos+need {
		return 0, false
	}
	cs.ts, cs.delta, cs.length, cs.typ = ts, delta, length, typ
	if fmtType < 3 {
		cs.extended = ext
	}
	cs.msg = append(cs.msg, b[pos:pos+need]...)
	pos += need
	if len(cs.msg) == cs.length {
		p.message(cs.typ, cs.ts, cs.msg)
		cs.msg = cs.msg[:0]
	}
	return pos, true
}

func (p *rtmpChunkParser) message(typ byte, ts uint32, body []byte) {
	switch {
	case typ == 1 && len(body) >= 4: // Set Chunk Size
		p.chunkSize = int(binary.BigEndian.Uint32(body) & 0x7fffffff)
	case typ == 9 && len(body) >= 5 && body[0]&0x0f == 7 && body[1] == 1: // AVC NALU
		cts := int32(uint32(body[2])<<24|uint32(body[3])<<16|uint32(body[4])<<8) >> 8
		p.onVideo(int64(ts) + int64(cts))
	}
}
