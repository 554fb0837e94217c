package studio

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// cpu measures the process's CPU use from /proc/self/stat (Linux);
// elsewhere it reports 0.
type cpu struct {
	path      string
	lastTicks int64
	lastAt    time.Time
	percent   float64
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// procTicks reads utime+stime from a /proc/PID/stat file.
func procTicks(data []byte) (int64, bool) {
	// The command name is in parentheses and may hold spaces: fields are
	// counted after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(data[i+1:])
	// After ')': state(3) ppid ... utime is field 14, stime 15 (1-based
	// over the whole line), i.e. indexes 11 and 12 here.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	s, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + s, true
}

// sample updates and returns the CPU use since the previous sample, in
// percent of one core.
func (c *cpu) sample(now time.Time) float64 {
	if c.path == "" {
		c.path = "/proc/self/stat"
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		return 0
	}
	ticks, ok := procTicks(data)
	if !ok {
		return 0
	}
	if !c.lastAt.IsZero() {
		if dt := now.Sub(c.lastAt).Seconds(); dt >= 0.2 {
			c.percent = float64(ticks-c.lastTicks) / clockTicks / dt * 100
		} else {
			return c.percent
		}
	}
	c.lastTicks, c.lastAt = ticks, now
	return c.percent
}
