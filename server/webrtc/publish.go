package webrtc

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"
)

// BearerToken returns the token of a request's "Authorization: Bearer
// TOKEN" header (RFC 6750, what WHIP clients send their stream key in),
// and false when it has none.
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// CheckPublishOffer checks a WHIP offer: it must send H.264 in
// packetization-mode 1 (what the Transport receives) in a video section.
// Audio is optional; an audio section without Opus is left unanswered.
// Its errors wrap ErrBadOffer.
func CheckPublishOffer(o *Offer) error {
	for _, md := range o.Media("video") {
		if HasH264(md) && Sends(md) {
			return nil
		}
	}
	return fmt.Errorf("%w: the offer sends no H.264 (packetization-mode 1) video", ErrBadOffer)
}

// Sends reports whether the offerer sends on a media section (sendrecv,
// the default, or sendonly).
func Sends(md *sdp.MediaDescription) bool {
	for _, a := range md.Attributes {
		switch a.Key {
		case "recvonly", "inactive":
			return false
		case "sendonly", "sendrecv":
			return true
		}
	}
	return true
}
