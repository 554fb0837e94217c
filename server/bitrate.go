package server

import (
	"sync/atomic"
	"time"

	"golive/media"
)

// ingestRateWindow is how far back the ingest's bitrate looks.
const ingestRateWindow = 5 * time.Second

// bitrateMeter is the ingest's bitrate: a running byte total read through
// a media.RateMeter whose Window is ingestRateWindow.
type bitrateMeter struct {
	total atomic.Int64
	meter media.RateMeter
}

func (m *bitrateMeter) add(n int) { m.meter.Observe(time.Now(), m.total.Add(int64(n))) }

func (m *bitrateMeter) bitsPerSecond() int { return m.meter.Bitrate(time.Now(), m.total.Load()) }

func (m *bitrateMeter) reset() {
	m.meter.Reset()
	m.total.Store(0)
}
