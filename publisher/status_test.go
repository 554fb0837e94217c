package publisher

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/yutopp/go-amf0"
)

// statusCases are server command arguments (after name and transaction
// ID); they drive TestParseStatus and seed FuzzDecodeStatus.
var statusCases = []struct {
	name    string
	args    []interface{}
	want    Status
	isError bool
	id      uint32
	hasID   bool
}{
	{name: "publish start", args: []interface{}{nil, map[string]interface{}{"level": "status", "code": "NetStream.Publish.Start", "description": "Start publishing"}},
		want: Status{"status", "NetStream.Publish.Start", "Start publishing"}},
	{name: "bad name", args: []interface{}{nil, map[string]interface{}{"level": "error", "code": "NetStream.Publish.BadName", "description": "Already publishing"}},
		want: Status{"error", "NetStream.Publish.BadName", "Already publishing"}, isError: true},
	{name: "connect rejected as ECMA array", args: []interface{}{amf0.ECMAArray{"fmsVer": "FMS/3,0,1,123"}, amf0.ECMAArray{"level": "error", "code": "NetConnection.Connect.Rejected"}},
		want: Status{"error", "NetConnection.Connect.Rejected", ""}, isError: true},
	{name: "failed code with status level", args: []interface{}{nil, map[string]interface{}{"level": "status", "code": "NetStream.Publish.Failed"}},
		want: Status{"status", "NetStream.Publish.Failed", ""}, isError: true},
	{name: "createStream result", args: []interface{}{nil, float64(1)}, id: 1, hasID: true},
	{name: "negative stream id", args: []interface{}{nil, float64(-1)}},
	{name: "no info", args: []interface{}{nil, "x", true}},
}

func TestParseStatus(t *testing.T) {
	for _, c := range statusCases {
		t.Run(c.name, func(t *testing.T) {
			args, err := decodeArgs(bytes.NewReader(encodeArgs(t, c.args)))
			require.NoError(t, err)
			require.Len(t, args, len(c.args))
			s := parseStatus(args)
			require.Equal(t, c.want, s)
			require.Equal(t, c.isError, s.IsError())
			require.NotEmpty(t, s.String())
			id, ok := streamIDFromArgs(args)
			require.Equal(t, c.hasID, ok)
			require.Equal(t, c.id, id)
		})
	}
}

// hostileBodies are command bodies decodeArgs must refuse on its own,
// without the connection's guard; they seed FuzzDecodeStatus too.
var hostileBodies = []struct {
	name string
	body []byte
}{
	// A strict array announcing 1.6 billion elements: go-amf0 would
	// allocate for all of them (fatal out of memory, found by make fuzz).
	{"strict array of 1.6 billion", []byte("\na\xc9\xc9\xc9")},
	{"ECMA array cut short", []byte{0x08, 0xff, 0xff, 0xff, 0xff}},
	{"object cut short", []byte{0x03, 0x00, 0x04, 'c', 'o', 'd', 'e', 0x02, 0x00}},
	{"body over the limit", append([]byte{0x0C, 0x00, 0x01, 0x00, 0x00}, make([]byte, 1<<16)...)},
	{"AMF3 switch", []byte{0x11, 0x02}},
}

func TestDecodeArgsHostile(t *testing.T) {
	for _, c := range hostileBodies {
		t.Run(c.name, func(t *testing.T) {
			args, err := decodeArgs(bytes.NewReader(c.body))
			require.Error(t, err)
			require.Empty(t, args)
		})
	}
}

func encodeArgs(t testing.TB, args []interface{}) []byte {
	var buf bytes.Buffer
	enc := amf0.NewEncoder(&buf)
	for _, a := range args {
		require.NoError(t, enc.Encode(a))
	}
	return buf.Bytes()
}

// FuzzDecodeStatus feeds hostile AMF0 command bodies to the parser that
// reads server replies: it must never panic and must bound what it keeps.
func FuzzDecodeStatus(f *testing.F) {
	for _, c := range statusCases {
		f.Add(encodeArgs(f, c.args))
	}
	for _, c := range hostileBodies {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		args, _ := decodeArgs(bytes.NewReader(body))
		require.LessOrEqual(t, len(args), maxCommandArgs)
		s := parseStatus(args)
		require.LessOrEqual(t, len(s.Code), 260)
		_ = s.IsError()
		_, _ = streamIDFromArgs(args)
	})
}
