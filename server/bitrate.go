package server

import (
	"sync"
	"time"
)

// bitrateMeter measures a byte rate over the last few seconds.
type bitrateMeter struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets [8]int
	times   [8]int64 // second of each bucket
	total   uint64
}

func (m *bitrateMeter) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

func (m *bitrateMeter) reset() {
	m.mu.Lock()
	m.buckets, m.times = [8]int{}, [8]int64{}
	m.mu.Unlock()
}

func (m *bitrateMeter) add(n int) {
	sec := m.clock().Unix()
	m.mu.Lock()
	i := sec % int64(len(m.buckets))
	if m.times[i] != sec {
		m.times[i], m.buckets[i] = sec, 0
	}
	m.buckets[i] += n
	m.total += uint64(n)
	m.mu.Unlock()
}

// bitsPerSecond averages the last five complete seconds.
func (m *bitrateMeter) bitsPerSecond() int {
	sec := m.clock().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	sum, n := 0, 0
	for s := sec - 5; s < sec; s++ {
		i := s % int64(len(m.buckets))
		if m.times[i] == s {
			sum += m.buckets[i]
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum * 8 / n
}
