package publisher

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/media"
)

// queueCases drive TestQueue: ops is a script of pushes ("K0" video
// keyframe at DTS 0 ms, "P33" non-key video, "A21" audio), "pop",
// "restart", "away" and "live"; want is what remains queued, popped what
// came out, in order.
var queueCases = []struct {
	name      string
	budget    time.Duration
	ops       string
	want      string
	popped    string
	dropV     int
	dropA     int
	wantDelay time.Duration
}{
	{name: "within budget keeps everything", budget: time.Second,
		ops: "K0 A0 P33 A21 P66", want: "K0 A0 P33 A21 P66", wantDelay: 66 * time.Millisecond},
	{name: "non-key video before the first keyframe is dropped", budget: time.Second,
		ops: "P0 P33 K66 P100", want: "K66 P100", dropV: 2},
	{name: "audio held until the first keyframe, older audio dropped, keyframe first", budget: time.Second,
		ops: "A0 A21 A42 K30 A64", want: "K30 A42 A64", dropA: 2},
	{name: "overflow drops the stale GOP first, then skips to the next keyframe", budget: 100 * time.Millisecond,
		ops: "K0 A0 P33 A40 P66 A80 P100 A120 P133 K166 P200", want: "A120 K166 P200", dropV: 5, dropA: 3},
	{name: "overflow with only keyframes left drops the oldest keyframe before any audio", budget: 50 * time.Millisecond,
		ops: "K0 A0 A20 A40 K60", want: "A20 A40 K60", dropV: 1, dropA: 1},
	{name: "audio at the head goes only once no non-key video is left", budget: 40 * time.Millisecond,
		ops: "K0 A0 P10 A20 A40 A60 P70", want: "A40 A60", dropV: 3, dropA: 2},
	{name: "stale P-frame chain stops at the next keyframe", budget: 60 * time.Millisecond,
		ops: "K0 A0 P33 K66 P100 A110", want: "K66 P100 A110", dropV: 2, dropA: 1},
	{name: "popped packets are not dropped", budget: 50 * time.Millisecond,
		ops: "K0 pop P33 pop P66 P100", want: "P66 P100", popped: "K0 P33"},
	{name: "kept keyframe lets later P-frames through", budget: 70 * time.Millisecond,
		ops: "K0 P33 P66 K100 P133", want: "K100 P133", dropV: 3},
	{name: "away mode drops the oldest whole GOP", budget: 100 * time.Millisecond,
		ops: "away K0 A0 P40 A50 K80 A90 P120 A130", want: "K80 A90 P120 A130", dropV: 2, dropA: 2},
	{name: "away mode emptied skips video until a keyframe", budget: 10 * time.Millisecond,
		ops: "away K0 P40 A50 P60 K90", want: "K90", dropV: 3, dropA: 1},
	{name: "restart resumes at the oldest queued keyframe", budget: time.Second,
		ops: "K0 pop A10 P33 K66 A70 restart", want: "K66 A70", popped: "K0", dropV: 1, dropA: 1},
	{name: "restart without a keyframe holds audio and skips video", budget: time.Second,
		ops: "K0 pop P33 A40 restart P66 A70 K90 A100", want: "K90 A100", popped: "K0", dropV: 2, dropA: 2},
	{name: "zero budget never drops", budget: 0,
		ops: "K0 P33 P66 A100 P5000", want: "K0 P33 P66 A100 P5000"},
}

func TestQueue(t *testing.T) {
	for _, c := range queueCases {
		t.Run(c.name, func(t *testing.T) {
			q := NewQueue(c.budget)
			var popped []string
			for _, op := range strings.Fields(c.ops) {
				switch op {
				case "pop":
					p, ok := q.Pop()
					require.True(t, ok, "pop on %s", c.ops)
					popped = append(popped, pktName(p))
				case "restart":
					q.Restart()
				case "away":
					q.Mode = QueueAway
				case "live":
					q.Mode = QueueLive
				default:
					q.Push(parsePkt(t, op))
				}
			}
			require.Equal(t, c.popped, strings.Join(popped, " "), "popped")
			if c.wantDelay != 0 {
				require.Equal(t, c.wantDelay, q.Delay())
			}
			var rest []string
			for {
				p, ok := q.Pop()
				if !ok {
					break
				}
				rest = append(rest, pktName(p))
			}
			require.Equal(t, c.want, strings.Join(rest, " "), "remaining")
			dv, da := q.Dropped()
			require.Equal(t, c.dropV, dv, "dropped video")
			require.Equal(t, c.dropA, da, "dropped audio")
			require.Zero(t, q.Len())
			require.Zero(t, q.Delay())
		})
	}
}

// TestQueueBounded pushes a long stream nobody pops: the queue stays
// within its budget (memory is bounded) and only hands out decodable
// video.
func TestQueueBounded(t *testing.T) {
	for _, mode := range []QueueMode{QueueLive, QueueAway} {
		q := NewQueue(500 * time.Millisecond)
		q.Mode = mode
		for i := 0; i < 3000; i++ {
			d := time.Duration(i) * 10 * time.Millisecond
			if i%3 == 0 {
				q.Push(&media.Packet{Codec: media.CodecH264, DTS: d, PTS: d, Keyframe: i%60 == 0})
			} else {
				q.Push(&media.Packet{Codec: media.CodecAAC, DTS: d, PTS: d})
			}
			require.LessOrEqual(t, q.Delay(), 500*time.Millisecond)
			require.Less(t, q.Len(), 60)
		}
		first := true
		for {
			p, ok := q.Pop()
			if !ok {
				break
			}
			if first && p.Codec.IsVideo() {
				require.True(t, p.Keyframe, "mode %d: first video out must be a keyframe", mode)
				first = false
			}
		}
	}
}

func parsePkt(t *testing.T, s string) *media.Packet {
	ms, err := strconv.Atoi(s[1:])
	require.NoError(t, err, s)
	d := time.Duration(ms) * time.Millisecond
	p := &media.Packet{DTS: d, PTS: d}
	switch s[0] {
	case 'K':
		p.Codec, p.Keyframe = media.CodecH264, true
	case 'P':
		p.Codec = media.CodecH264
	case 'A':
		p.Codec = media.CodecAAC
	default:
		t.Fatalf("bad op %q", s)
	}
	return p
}

func pktName(p *media.Packet) string {
	c := "A"
	if p.Codec.IsVideo() {
		c = "P"
		if p.Keyframe {
			c = "K"
		}
	}
	return fmt.Sprintf("%s%d", c, p.DTS.Milliseconds())
}
