package rtmpguard

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrUnsafeMessage is returned by Guard.Feed and by a Conn's Read when the
// peer sends an AMF0 command or data message that go-amf0 would decode
// unsafely (see CheckAMF0), an AMF3 one, a message larger than
// MaxMessageSize, more than MaxChunkStreams chunk streams, or a chunk
// stream that breaks the protocol.
var ErrUnsafeMessage = errors.New("unsafe RTMP message")

// HandshakeSize is the number of bytes a peer sends before its first
// chunk: C0+C1+C2 from a client, S0+S1+S2 from a server (1+1536+1536 either
// way, as go-rtmp's handshake package reads them).
const HandshakeSize = 1 + 1536 + 1536

// MaxChunkStreams bounds the chunk streams a Guard tracks (encoders and
// servers use fewer than ten); give go-rtmp the same limit
// (StreamControlStateConfig.MaxChunkStreams).
const MaxChunkStreams = 16

// MaxMessageSize bounds one RTMP message (a 4K keyframe is a few MB), so a
// peer cannot make go-rtmp buffer 16 MB per chunk stream.
const MaxMessageSize = 8 << 20

// Guard follows the chunk stream a peer sends, bounding message sizes
// and chunk streams, and reassembling only AMF0
// command and data messages (types 20 and 18) to check them before go-rtmp
// decodes them, and refusing AMF3 ones (types 17 and 15), which no
// encoder or server we talk to sends. go-amf0 v0.1.0 allocates a strict
// array by its announced count, so without this a 13-byte message exhausts
// memory and kills the whole process, which no recover can catch.
//
// A Guard is not safe for concurrent use: feed it from the goroutine that
// reads the connection. Once Feed fails it keeps failing.
type Guard struct {
	skip      int // handshake bytes still to pass
	chunkSize int
	hdr       []byte // partial chunk header
	streams   map[uint32]*guardStream
	cur       *guardStream // stream whose chunk body is being read
	remain    int          // body bytes of the current chunk still to read
	err       error
}

type guardStream struct {
	length, got int
	typ         byte
	body        []byte // only for the message types checked
	started     bool
}

// New returns a Guard for the bytes one peer sends from the start of the
// connection: it passes the HandshakeSize handshake bytes, then follows the
// chunks at RTMP's initial chunk size of 128 and the peer's Set Chunk Size
// messages.
func New() *Guard {
	return &Guard{skip: HandshakeSize, chunkSize: 128, streams: map[uint32]*guardStream{}}
}

// Err returns the error Feed failed with, or nil.
func (g *Guard) Err() error { return g.err }

// Feed inspects the next bytes the peer sent, in order. It returns an error
// wrapping ErrUnsafeMessage as soon as they cannot safely reach go-rtmp;
// the caller must then drop them and close the connection.
func (g *Guard) Feed(p []byte) error {
	if g.err != nil {
		return g.err
	}
	for len(p) > 0 {
		if g.skip > 0 {
			n := min(g.skip, len(p))
			g.skip -= n
			p = p[n:]
			continue
		}
		if g.cur != nil && g.remain > 0 {
			n := min(g.remain, len(p))
			if g.cur.body != nil {
				g.cur.body = append(g.cur.body, p[:n]...)
			}
			g.cur.got += n
			g.remain -= n
			p = p[n:]
			if g.remain == 0 {
				if err := g.endChunk(); err != nil {
					g.err = err
					return err
				}
			}
			continue
		}
		// Accumulate a chunk header until it is complete.
		g.hdr = append(g.hdr, p[0])
		p = p[1:]
		done, err := g.parseHeader()
		if err != nil {
			g.err = err
			return err
		}
		if done {
			g.hdr = g.hdr[:0]
			if g.remain == 0 {
				if err := g.endChunk(); err != nil {
					g.err = err
					return err
				}
			}
		}
	}
	return nil
}

// parseHeader tries to parse g.hdr as a complete chunk header.
func (g *Guard) parseHeader() (bool, error) {
	h := g.hdr
	fmtv := h[0] >> 6
	csid := uint32(h[0] & 0x3F)
	pos := 1
	switch csid {
	case 0:
		if len(h) < 2 {
			return false, nil
		}
		csid, pos = uint32(h[1])+64, 2
	case 1:
		if len(h) < 3 {
			return false, nil
		}
		csid, pos = uint32(h[2])*256+uint32(h[1])+64, 3
	}
	mh := [4]int{11, 7, 3, 0}[fmtv]
	if len(h) < pos+mh {
		return false, nil
	}
	s := g.streams[csid]
	if s == nil {
		if len(g.streams) >= MaxChunkStreams {
			return false, fmt.Errorf("%w: too many chunk streams", ErrUnsafeMessage)
		}
		s = &guardStream{}
		g.streams[csid] = s
	}
	m := h[pos : pos+mh]
	// Like go-rtmp v0.0.7, read an extended timestamp after type 0-2
	// headers only.
	if fmtv <= 2 && m[0] == 0xFF && m[1] == 0xFF && m[2] == 0xFF && len(h) < pos+mh+4 {
		return false, nil
	}
	if fmtv <= 1 {
		s.length = int(m[3])<<16 | int(m[4])<<8 | int(m[5])
		s.typ = m[6]
	}
	if fmtv == 3 && !s.started && s.length == 0 {
		return false, fmt.Errorf("%w: continuation of an unknown chunk stream", ErrUnsafeMessage)
	}
	if !s.started {
		// A new message on this chunk stream.
		if s.length > MaxMessageSize {
			return false, fmt.Errorf("%w: message of %d bytes (limit %d)", ErrUnsafeMessage, s.length, MaxMessageSize)
		}
		s.started, s.got = true, 0
		s.body = nil
		switch s.typ {
		case 15, 17:
			return false, fmt.Errorf("%w: AMF3 message (type %d)", ErrUnsafeMessage, s.typ)
		case 1, 18, 20:
			s.body = make([]byte, 0, min(s.length, 64<<10))
		}
	}
	g.cur = s
	g.remain = min(g.chunkSize, s.length-s.got)
	return true, nil
}

// endChunk finishes a chunk; when its message is complete, checks it.
func (g *Guard) endChunk() error {
	s := g.cur
	g.cur = nil
	if s.got < s.length {
		return nil
	}
	s.started = false
	body := s.body
	s.body = nil
	switch s.typ {
	case 1: // set chunk size: follow it
		if len(body) >= 4 {
			size := int(binary.BigEndian.Uint32(body) & 0x7FFFFFFF)
			if size >= 1 {
				g.chunkSize = size
			}
		}
	case 18, 20:
		if err := CheckAMF0(body); err != nil {
			return fmt.Errorf("%w: AMF0 message type %d: %w", ErrUnsafeMessage, s.typ, err)
		}
	}
	return nil
}
