package publisher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/yutopp/go-amf0"

	"golive/internal/rtmpguard"
)

// maxCommandArgs bounds how many AMF0 values a server command may carry.
const maxCommandArgs = 16

// maxCommandBody bounds the size of a server command's AMF0 body that
// decodeArgs reads; real replies are a few hundred bytes.
const maxCommandBody = 64 << 10

// Status is the information object of a server's _result, _error or
// onStatus command (level, code, description).
type Status struct {
	Level       string
	Code        string
	Description string
}

// String returns "code (description)".
func (s Status) String() string {
	switch {
	case s.Code == "" && s.Description == "":
		return "no status information"
	case s.Description == "":
		return s.Code
	case s.Code == "":
		return s.Description
	}
	return s.Code + " (" + s.Description + ")"
}

// IsError reports whether the status refuses what we asked for.
func (s Status) IsError() bool {
	if strings.EqualFold(s.Level, "error") {
		return true
	}
	for _, bad := range []string{".Failed", ".BadName", ".Rejected", ".Denied", ".Unauthorized", ".InvalidArg"} {
		if strings.HasSuffix(s.Code, bad) {
			return true
		}
	}
	return false
}

// decodeArgs reads the AMF0 values that follow a command's name and
// transaction ID, at most maxCommandArgs of them. It is safe on its own
// against hostile input, whatever guarded the connection before: the body
// is read up to maxCommandBody bytes and checked (rtmpguard.CheckAMF0)
// before go-amf0, which trusts the element counts it reads, decodes it, so
// allocations stay in proportion to the body. Any panic of the AMF0
// decoder is turned into an error.
func decodeArgs(r io.Reader) (args []interface{}, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decode AMF0: %v", p)
		}
	}()
	body, err := io.ReadAll(io.LimitReader(r, maxCommandBody+1))
	if err != nil {
		return nil, fmt.Errorf("decode AMF0: %w", err)
	}
	if len(body) > maxCommandBody {
		return nil, fmt.Errorf("decode AMF0: command body over %d bytes", maxCommandBody)
	}
	if err := rtmpguard.CheckAMF0(body); err != nil {
		return nil, fmt.Errorf("decode AMF0: %w", err)
	}
	dec := amf0.NewDecoder(bytes.NewReader(body))
	for len(args) < maxCommandArgs {
		var v interface{}
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return args, nil
			}
			return args, fmt.Errorf("decode AMF0: %w", err)
		}
		args = append(args, v)
	}
	return args, nil
}

// parseStatus finds the information object among a command's arguments.
func parseStatus(args []interface{}) Status {
	for _, a := range args {
		var m map[string]interface{}
		switch v := a.(type) {
		case map[string]interface{}:
			m = v
		case amf0.ECMAArray:
			m = v
		default:
			continue
		}
		s := Status{Level: str(m["level"]), Code: str(m["code"]), Description: str(m["description"])}
		if s.Level != "" || s.Code != "" || s.Description != "" {
			return s
		}
	}
	return Status{}
}

// streamIDFromArgs returns the stream ID of a createStream _result: the
// first number among the arguments.
func streamIDFromArgs(args []interface{}) (uint32, bool) {
	for _, a := range args {
		if f, ok := a.(float64); ok {
			if f < 0 || f > math.MaxUint32 || f != math.Trunc(f) {
				return 0, false
			}
			return uint32(f), true
		}
	}
	return 0, false
}

func str(v interface{}) string {
	s, _ := v.(string)
	const max = 256
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
