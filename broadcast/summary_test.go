package broadcast

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSummaryTook: a server took the stream when it acknowledged at least
// a second of it, or all of a stream shorter than that.
func TestSummaryTook(t *testing.T) {
	for _, c := range []struct {
		name              string
		frames, delivered int64
		took              bool
		missing           int64
	}{
		{"everything", 300, 300, true, 0},
		{"most of it", 300, 250, true, 50},
		{"a second of it", 300, 30, true, 270},
		{"the first keyframe and a little", 300, 29, false, 271},
		{"nothing", 300, 0, false, 300},
		{"all of a short stream", 10, 10, true, 0},
		{"nothing was encoded", 0, 0, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Summary{Frames: c.frames, FPS: 30}
			d := DestinationSummary{FramesDelivered: c.delivered}
			require.Equal(t, c.took, s.Took(d))
			require.Equal(t, c.missing, s.Missing(d))
		})
	}
}
