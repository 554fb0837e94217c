package tcpstat

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const supported = true

func read(fd uintptr, written int64) (Sample, error) {
	info, err := unix.GetsockoptTCPConnectionInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_CONNECTION_INFO)
	if err != nil {
		return Sample{}, fmt.Errorf("tcpstat: TCP_CONNECTION_INFO: %w", err)
	}
	queued := int64(info.Snd_sbbytes)
	return Sample{Acked: max(0, written-queued), Queued: queued, Unsent: -1}, nil
}

func limitUnsent(fd uintptr, n int) error {
	if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, n); err != nil {
		return fmt.Errorf("tcpstat: TCP_NOTSENT_LOWAT: %w", err)
	}
	return nil
}
