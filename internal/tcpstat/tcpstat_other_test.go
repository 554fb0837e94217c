//go:build !linux && !darwin

package tcpstat

import "os"

func setRcvbuf(uintptr, int) {}

func errTimeout() error { return os.ErrDeadlineExceeded }
