package peers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSeqTracker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seqs    []uint16
		missing int
	}{
		{"in order", []uint16{10, 11, 12, 13}, 0},
		{"a hole", []uint16{10, 11, 14}, 2},
		{"a hole filled late", []uint16{10, 11, 14, 12, 13}, 0},
		{"duplicates", []uint16{10, 11, 11, 12}, 0},
		{"wrap", []uint16{65534, 65535, 0, 1}, 0},
		{"hole across the wrap", []uint16{65534, 1, 2}, 2},
		{"late across the wrap", []uint16{65534, 1, 65535, 0}, 0},
	} {
		var s seqTracker
		got := 0
		for _, q := range tc.seqs {
			got = s.add(q)
		}
		require.Equal(t, tc.missing, got, tc.name)
	}
}
