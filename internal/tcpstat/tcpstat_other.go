//go:build !linux && !darwin

package tcpstat

const supported = false

func read(uintptr, int64) (Sample, error) { return Sample{}, ErrUnsupported }

func limitUnsent(uintptr, int) error { return ErrUnsupported }
