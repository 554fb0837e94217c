package broadcast

import (
	"log/slog"
	"sync"
)

// errorCounter counts per-frame errors so that they are logged once per
// second, with the last one, instead of once per frame.
type errorCounter struct {
	mu    sync.Mutex
	count map[string]int
	last  map[string]error
	total int64
}

func (c *errorCounter) add(op string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.count == nil {
		c.count, c.last = map[string]int{}, map[string]error{}
	}
	c.count[op]++
	c.last[op] = err
	c.total++
}

// report logs what was counted since the last report.
func (c *errorCounter) report(logger *slog.Logger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for op, n := range c.count {
		logger.Warn("errors in the last second", "op", op, "count", n, "last", c.last[op])
	}
	clear(c.count)
	clear(c.last)
}

func (c *errorCounter) sum() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}
