package encoder

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
)

// drain takes what a codec has ready — frames from a decoder, packets
// from an encoder — until it has nothing more (EAGAIN, EOF): receive fills
// the codec's one frame or packet (call names it in errors, wrapped in
// ErrCodec), take makes a T of it, then unref empties it for the next one.
// It returns what it took, and the first error.
func drain[T any](receive func() error, call string, take func() (T, error), unref func()) ([]T, error) {
	var out []T
	for {
		err := receive()
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%w: %s: %w", ErrCodec, call, err)
		}
		v, err := take()
		unref()
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}
