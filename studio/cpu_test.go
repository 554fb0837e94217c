package studio

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProcTicks(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int64
		ok   bool
	}{
		{"1234 (golive) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 1000 100", 300, true},
		{"1234 (my prog) R 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 1", 15, true},
		{"1234 (x) S 1", 0, false},
		{"garbage", 0, false},
	} {
		got, ok := procTicks([]byte(tc.line))
		require.Equal(t, tc.ok, ok, tc.line)
		require.Equal(t, tc.want, got, tc.line)
	}
	var c cpu
	now := time.Now()
	c.sample(now)
	require.GreaterOrEqual(t, c.sample(now.Add(time.Second)), 0.0)
}
