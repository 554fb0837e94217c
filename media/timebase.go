package media

import "time"

// TimeBase is the one time base of the pipeline: every PTS and DTS is a
// time.Duration since the capture clock's start (nanosecond resolution).
const TimeBase = time.Nanosecond

// ToTicks converts d to ticks of a clock running at rate Hz, rounding to
// the nearest tick (e.g. rate 90000 for MPEG, 1000 for FLV).
func ToTicks(d time.Duration, rate int64) int64 {
	s := int64(d / time.Second)
	ns := int64(d % time.Second)
	return s*rate + (ns*rate+int64(time.Second)/2)/int64(time.Second)
}

// FromTicks converts ticks of a clock running at rate Hz to a duration.
func FromTicks(ticks, rate int64) time.Duration {
	s := ticks / rate
	r := ticks % rate
	return time.Duration(s)*time.Second + time.Duration(r*int64(time.Second)/rate)
}
