package rtmpguard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/yutopp/go-amf0"
)

// amfBody encodes vs as consecutive AMF0 values.
func amfBody(t testing.TB, vs ...interface{}) []byte {
	var b bytes.Buffer
	enc := amf0.NewEncoder(&b)
	for _, v := range vs {
		require.NoError(t, enc.Encode(v))
	}
	return b.Bytes()
}

// message frames one RTMP message on chunk stream csid (2..63) in chunks
// of chunkSize: a type 0 header, then type 3 continuation headers.
func message(csid, typ byte, body []byte, chunkSize int) []byte {
	out := []byte{csid, 0, 0, 0, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body)), typ, 1, 0, 0, 0}
	for i := 0; i < len(body); i += chunkSize {
		if i > 0 {
			out = append(out, 0xC0|csid)
		}
		out = append(out, body[i:min(i+chunkSize, len(body))]...)
	}
	return out
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// setChunkSize is a Set Chunk Size message.
func setChunkSize(n uint32) []byte {
	return message(2, 1, binary.BigEndian.AppendUint32(nil, n), 128)
}

// Bodies that go-amf0 v0.1.0 turns into a multi-gigabyte allocation, a
// fatal error no recover catches (the same bytes as server/ingest's
// regression test).
var (
	hugeArrayData    = []byte{0x02, 0, 1, 'x', 0x0A, 0x6f, 0x6e, 0x4d, 0x65}
	hugeArrayCommand = []byte{0x02, 0, 3, 'f', 'o', 'o', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x0A, 0x40, 0, 0, 0}
)

// amfCase is an AMF0 body and whether CheckAMF0 must accept it.
type amfCase struct {
	name string
	body []byte
	ok   bool
}

func amfCases(t testing.TB) []amfCase {
	deep := bytes.Repeat([]byte{0x0A, 0, 0, 0, 1}, 40)
	deep = append(deep, 0x05)
	return []amfCase{
		{"connect", amfBody(t, "connect", 1.0, map[string]interface{}{"app": "live", "tcUrl": "rtmp://x/live",
			"fpad": false, "nested": map[string]interface{}{"a": []interface{}{1.0, "b", nil}}}), true},
		{"_result", amfBody(t, "_result", 1.0,
			map[string]interface{}{"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0},
			map[string]interface{}{"level": "status", "code": "NetConnection.Connect.Success", "objectEncoding": 0.0}), true},
		{"onStatus", amfBody(t, "onStatus", 0.0, nil, map[string]interface{}{"level": "status", "code": "NetStream.Publish.Start"}), true},
		{"onMetaData", amfBody(t, "onMetaData", amf0.ECMAArray{"width": 1280.0, "height": 720.0, "encoder": "x"}), true},
		{"small strict array", amfBody(t, "x", []interface{}{1.0, "two", true}), true},
		{"empty", nil, true},
		{"huge strict array in data", hugeArrayData, false},
		{"huge strict array in command", hugeArrayCommand, false},
		{"strict array longer than the body", []byte{0x0A, 0, 0, 0, 3, 0x05, 0x05}, false},
		{"truncated number", []byte{0x00, 0x3f, 0xf0}, false},
		{"truncated string", []byte{0x02, 0, 9, 'a'}, false},
		{"long string longer than the body", []byte{0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 'a'}, false},
		{"object without end", []byte{0x03, 0, 1, 'a', 0x05}, false},
		{"typed object", []byte{0x10, 0, 1, 'T', 0, 0, 9}, false},
		{"AMF3 switch", []byte{0x11, 0x01}, false},
		{"nesting deeper than the limit", deep, false},
	}
}

func TestCheckAMF0(t *testing.T) {
	for _, c := range amfCases(t) {
		err := CheckAMF0(c.body)
		if c.ok {
			require.NoError(t, err, c.name)
		} else {
			require.ErrorIs(t, err, ErrBadAMF0, c.name)
		}
	}
}

// streamCase is what a peer sends after its handshake and whether a Guard
// must let all of it through; text is in the error when it must not.
type streamCase struct {
	name   string
	stream []byte
	text   string // "" when the stream is safe
}

func streamCases(t testing.TB) []streamCase {
	var cs []streamCase
	for _, c := range amfCases(t) {
		text := ""
		if !c.ok {
			text = "malformed AMF0"
		}
		cs = append(cs,
			streamCase{"command " + c.name, message(3, 20, c.body, 128), text},
			streamCase{"data " + c.name, message(5, 18, c.body, 128), text})
	}
	long := amfBody(t, "_result", 1.0, map[string]interface{}{"description": strings.Repeat("d", 600)})
	video := bytes.Repeat([]byte{0x17, 0x01, 0xFF}, 700)
	streams := func(n int) []byte {
		var b []byte
		for i := range n {
			b = append(b, message(byte(2+i), 9, []byte{0x17, 0}, 128)...)
		}
		return b
	}
	return append(cs,
		streamCase{"command in 128-byte chunks", message(3, 20, long, 128), ""},
		streamCase{"set chunk size then one big chunk", join(setChunkSize(4096), message(3, 20, long, 4096)), ""},
		streamCase{"set chunk size then unsafe command", join(setChunkSize(4096), message(3, 20, hugeArrayCommand, 4096)), "malformed AMF0"},
		streamCase{"interleaved video and command", interleave(message(6, 9, video, 128), message(3, 20, long, 128)), ""},
		streamCase{"interleaved video and unsafe data", interleave(message(6, 9, video, 128), message(5, 18, hugeArrayData, 128)), "malformed AMF0"},
		streamCase{"AMF3 command", message(3, 17, []byte{0, 0x02, 0, 1, 'x'}, 128), "AMF3"},
		streamCase{"AMF3 data", message(5, 15, []byte{0, 0x02, 0, 1, 'x'}, 128), "AMF3"},
		streamCase{"9 MB message", []byte{0x04, 0, 0, 0, 0x90, 0, 0, 9, 1, 0, 0, 0, 0x17, 1}, "limit"},
		streamCase{"16 chunk streams", streams(16), ""},
		streamCase{"17 chunk streams", streams(17), "too many chunk streams"},
		streamCase{"continuation of an unknown chunk stream", []byte{0xC3, 1, 2, 3}, "unknown chunk stream"},
		streamCase{"unknown message type", message(3, 0x42, []byte("junk"), 128), ""},
	)
}

// interleave puts b's first chunk (a 12-byte header plus up to 128 bytes)
// after a's first one, as a sender multiplexing two chunk streams does.
func interleave(a, b []byte) []byte {
	n, m := min(len(a), 12+128), min(len(b), 12+128)
	return join(a[:n], b[:m], a[n:], b[m:])
}

// feedInPieces feeds the handshake and stream to a new Guard step bytes at
// a time; it checks that a failure sticks and returns the first error.
func feedInPieces(t testing.TB, stream []byte, step int) error {
	g := New()
	all := append(make([]byte, HandshakeSize), stream...)
	var first error
	for len(all) > 0 {
		n := min(step, len(all))
		err := g.Feed(all[:n])
		all = all[n:]
		if first != nil {
			require.ErrorIs(t, err, ErrUnsafeMessage, "a failed guard must keep failing")
		}
		if first == nil && err != nil {
			first = err
		}
	}
	require.Equal(t, first, g.Err())
	return first
}

func TestGuard(t *testing.T) {
	for _, c := range streamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			for _, step := range []int{1, 5, 128, 1 << 20} {
				err := feedInPieces(t, c.stream, step)
				if c.text == "" {
					require.NoError(t, err, "step %d", step)
					continue
				}
				require.ErrorIs(t, err, ErrUnsafeMessage, "step %d", step)
				require.Contains(t, err.Error(), c.text, "step %d", step)
				if c.text == "malformed AMF0" {
					require.ErrorIs(t, err, ErrBadAMF0)
				}
			}
		})
	}
}

// TestGuardHandshakeIsOpaque: the handshake bytes are never parsed, even
// when they look like an unsafe message.
func TestGuardHandshakeIsOpaque(t *testing.T) {
	hs := bytes.Repeat(message(3, 20, hugeArrayCommand, 128), HandshakeSize)[:HandshakeSize]
	g := New()
	require.NoError(t, g.Feed(hs))
	require.ErrorIs(t, g.Feed(message(3, 20, hugeArrayCommand, 128)), ErrUnsafeMessage)
}

func TestConn(t *testing.T) {
	for _, c := range []struct {
		name   string
		stream []byte
		unsafe bool
	}{
		{"safe", message(3, 20, amfBody(t, "onStatus", 0.0, nil, map[string]interface{}{"code": "NetStream.Publish.Start"}), 128), false},
		{"unsafe", message(5, 18, hugeArrayData, 128), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			local, remote := net.Pipe()
			defer local.Close()
			defer remote.Close()
			sent := append(bytes.Repeat([]byte{3}, HandshakeSize), c.stream...)
			go func() {
				_, _ = remote.Write(sent)
				_ = remote.Close()
			}()
			conn := NewConn(local)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			// Like go-rtmp's handshake: read exactly the handshake first.
			hs := make([]byte, HandshakeSize)
			_, err := io.ReadFull(conn, hs)
			require.NoError(t, err)
			require.Equal(t, sent[:HandshakeSize], hs)
			got, err := io.ReadAll(conn)
			if !c.unsafe {
				require.NoError(t, err)
				require.Equal(t, c.stream, got, "a guarded connection passes safe bytes unchanged")
				return
			}
			require.ErrorIs(t, err, ErrUnsafeMessage)
			require.Less(t, len(got), len(c.stream), "the unsafe message must not come through whole")
			// It keeps failing without touching the connection.
			n, err := conn.Read(make([]byte, 16))
			require.Zero(t, n)
			require.ErrorIs(t, err, ErrUnsafeMessage)
			require.False(t, errors.Is(err, io.EOF))
		})
	}
}

// FuzzCheckAMF0: whatever CheckAMF0 accepts, go-amf0 decodes without
// exhausting memory (a fatal error would fail the fuzzer).
func FuzzCheckAMF0(f *testing.F) {
	for _, c := range amfCases(f) {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		if CheckAMF0(buf) != nil {
			return
		}
		dec := amf0.NewDecoder(bytes.NewReader(buf))
		for range 8 {
			var v interface{}
			if dec.Decode(&v) != nil {
				return
			}
		}
	})
}

// FuzzGuard feeds arbitrary bytes after the handshake through a Guard in
// arbitrary pieces: it must never panic, and once it fails it keeps
// failing.
func FuzzGuard(f *testing.F) {
	for _, c := range streamCases(f) {
		f.Add(c.stream, uint8(3))
	}
	f.Fuzz(func(t *testing.T, stream []byte, piece uint8) {
		_ = feedInPieces(t, stream, int(piece%16)+1)
	})
}
