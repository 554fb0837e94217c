package studio

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/broadcast"
)

func TestReconnectIn(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		ds   []broadcast.DestinationStats
		want time.Duration
	}{
		{nil, 0},
		{[]broadcast.DestinationStats{{}}, 0},
		{[]broadcast.DestinationStats{{NextAttempt: now.Add(5 * time.Second)}, {NextAttempt: now.Add(2 * time.Second)}, {}}, 2 * time.Second},
		{[]broadcast.DestinationStats{{NextAttempt: now.Add(-time.Second)}}, time.Millisecond},
	} {
		require.Equal(t, tc.want, reconnectIn(tc.ds, now))
	}
}
