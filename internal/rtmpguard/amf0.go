package rtmpguard

import (
	"encoding/binary"
	"errors"
)

// ErrBadAMF0 is returned by CheckAMF0 (and wrapped in Feed's errors) for
// AMF0 data that is malformed, uses a type no RTMP peer we talk to sends,
// or could make a decoder allocate more than the data itself (go-amf0 sizes
// strict arrays by their announced count, so four bytes can ask for
// gigabytes).
var ErrBadAMF0 = errors.New("malformed AMF0")

// maxAMF0Depth bounds nesting so a crafted body cannot exhaust the stack.
const maxAMF0Depth = 32

// CheckAMF0 walks a sequence of AMF0 values (a command or data message
// body) and returns an error wrapping ErrBadAMF0 unless every value is
// complete and every count fits in the bytes that remain, so that what it
// accepts go-amf0 v0.1.0 decodes with allocations in proportion to
// len(buf).
func CheckAMF0(buf []byte) error {
	pos := 0
	for pos < len(buf) {
		n, err := skipAMF0Value(buf[pos:], 0)
		if err != nil {
			return err
		}
		pos += n
	}
	return nil
}

// skipAMF0Value returns the size of the AMF0 value at the start of b.
func skipAMF0Value(b []byte, depth int) (int, error) {
	if depth > maxAMF0Depth || len(b) == 0 {
		return 0, ErrBadAMF0
	}
	need := func(n int) (int, error) {
		if n > len(b) {
			return 0, ErrBadAMF0
		}
		return n, nil
	}
	switch b[0] {
	case 0x00: // number
		return need(9)
	case 0x01: // boolean
		return need(2)
	case 0x02: // string
		if len(b) < 3 {
			return 0, ErrBadAMF0
		}
		return need(3 + int(binary.BigEndian.Uint16(b[1:])))
	case 0x0C: // long string
		if len(b) < 5 {
			return 0, ErrBadAMF0
		}
		return need(5 + int(binary.BigEndian.Uint32(b[1:])))
	case 0x05, 0x06: // null, undefined
		return 1, nil
	case 0x07: // reference
		return need(3)
	case 0x0B: // date
		return need(11)
	case 0x03: // object
		n, err := skipAMF0Properties(b[1:], depth)
		return 1 + n, err
	case 0x08: // ECMA array: count (ignored by decoders), then properties
		if len(b) < 5 {
			return 0, ErrBadAMF0
		}
		n, err := skipAMF0Properties(b[5:], depth)
		return 5 + n, err
	case 0x0A: // strict array
		if len(b) < 5 {
			return 0, ErrBadAMF0
		}
		count := int(binary.BigEndian.Uint32(b[1:]))
		if count > len(b)-5 { // every element takes at least one byte
			return 0, ErrBadAMF0
		}
		pos := 5
		for range count {
			n, err := skipAMF0Value(b[pos:], depth+1)
			if err != nil {
				return 0, err
			}
			pos += n
		}
		return pos, nil
	}
	return 0, ErrBadAMF0 // movie clip, record set, XML, typed object, AMF3: not expected
}

// skipAMF0Properties returns the size of name/value pairs up to and
// including the object end marker (00 00 09).
func skipAMF0Properties(b []byte, depth int) (int, error) {
	pos := 0
	for {
		if len(b)-pos < 3 {
			return 0, ErrBadAMF0
		}
		l := int(binary.BigEndian.Uint16(b[pos:]))
		if l == 0 && b[pos+2] == 0x09 {
			return pos + 3, nil
		}
		pos += 2 + l
		if pos > len(b) {
			return 0, ErrBadAMF0
		}
		n, err := skipAMF0Value(b[pos:], depth+1)
		if err != nil {
			return 0, err
		}
		pos += n
	}
}
