package webrtc

import (
	"errors"
	"net/http"
)

// Sentinel errors of the package. An Endpoint answers a request that fails
// with one of them (wrapped with %w) with the status code named here; any
// other error is a 500.
var (
	// ErrBadOffer is returned for a request body that is not a usable SDP
	// offer: too large, malformed, or one pion cannot answer (400).
	ErrBadOffer = errors.New("webrtc: bad SDP offer")
	// ErrUnsupportedMediaType is returned for a body that is not
	// application/sdp (or, for PATCH, application/trickle-ice-sdpfrag) (415).
	ErrUnsupportedMediaType = errors.New("webrtc: unsupported media type")
	// ErrUnauthorized is returned by an Authorize hook that refuses the
	// request's credentials (401).
	ErrUnauthorized = errors.New("webrtc: unauthorized")
	// ErrNotFound is returned for an unknown session, rung or stream (404).
	ErrNotFound = errors.New("webrtc: not found")
	// ErrConflict is returned when the resource is taken, such as a second
	// publisher (409).
	ErrConflict = errors.New("webrtc: conflict")
	// ErrUnprocessable is returned for a PATCH that asks for what a session
	// does not do, such as an ICE restart (422).
	ErrUnprocessable = errors.New("webrtc: unprocessable")
	// ErrFull is returned when the endpoint has as many sessions as it
	// allows (503).
	ErrFull = errors.New("webrtc: too many sessions")
	// ErrClosed is returned by a Transport or Endpoint after Close (503).
	ErrClosed = errors.New("webrtc: closed")
	// ErrBadConfig is returned by Initialize and ParseICEServer for a
	// configuration they cannot use.
	ErrBadConfig = errors.New("webrtc: bad configuration")
)

// statusOf maps an error to the HTTP status an Endpoint answers it with.
func statusOf(err error) int {
	for _, m := range []struct {
		err    error
		status int
	}{
		{ErrBadOffer, http.StatusBadRequest},
		{ErrUnsupportedMediaType, http.StatusUnsupportedMediaType},
		{ErrUnauthorized, http.StatusUnauthorized},
		{ErrNotFound, http.StatusNotFound},
		{ErrConflict, http.StatusConflict},
		{ErrUnprocessable, http.StatusUnprocessableEntity},
		{ErrFull, http.StatusServiceUnavailable},
		{ErrClosed, http.StatusServiceUnavailable},
	} {
		if errors.Is(err, m.err) {
			return m.status
		}
	}
	return http.StatusInternalServerError
}
