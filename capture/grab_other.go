//go:build !(linux && cgo) && !darwin && !windows

package capture

import "fmt"

// grabFor: no screen capture device on this platform.
func grabFor(sp Spec, _ int) (grabInput, error) {
	return grabInput{}, fmt.Errorf("%w: no screen capture on this platform", ErrNoDisplay)
}
