package media

import (
	"fmt"
	"strconv"
	"strings"
)

// Bitrate bounds accepted by ParseBitrate, in bits per second.
const (
	MinBitrate = 8_000
	MaxBitrate = 200_000_000
)

// ParseBitrate reads a bitrate in bits per second as every flag spells it:
// "3000k", "3M", "2500000", "128kbps", "3Mbps", "128kb/s". The value must
// lie between 8 kbit/s and 200 Mbit/s. Errors wrap ErrBadOption.
func ParseBitrate(s string) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "/s")
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ps"), "b")
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1e3, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1e6, strings.TrimSuffix(t, "m")
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v != v {
		return 0, fmt.Errorf("%w: bitrate %q: want e.g. 3000k, 3M or 3000000", ErrBadOption, s)
	}
	bps := v * mult
	if bps < MinBitrate || bps > MaxBitrate {
		return 0, fmt.Errorf("%w: bitrate %q: must be between 8k and 200M", ErrBadOption, s)
	}
	return int(bps), nil
}
