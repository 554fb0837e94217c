package tcpstat

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const supported = true

func read(fd uintptr, written int64) (Sample, error) {
	info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return Sample{}, fmt.Errorf("tcpstat: TCP_INFO: %w", err)
	}
	queued, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	if err != nil {
		return Sample{}, fmt.Errorf("tcpstat: SIOCOUTQ: %w", err)
	}
	q := int64(queued)
	return Sample{Acked: max(0, written-q), Queued: q, Unsent: int64(info.Notsent_bytes)}, nil
}

func limitUnsent(fd uintptr, n int) error {
	if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, n); err != nil {
		return fmt.Errorf("tcpstat: TCP_NOTSENT_LOWAT: %w", err)
	}
	return nil
}
