package webrtc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// maxMediaSections bounds the m= sections an offer may carry.
const maxMediaSections = 16

// Offer is an SDP offer an Endpoint received and checked: it parses, has
// between one and maxMediaSections media sections, and carries ICE
// credentials and a DTLS fingerprint.
type Offer struct {
	// SDP is the offer as it came.
	SDP string
	// Desc is the parsed offer.
	Desc *sdp.SessionDescription
	// Ufrag and Pwd are the offerer's ICE credentials.
	Ufrag, Pwd string
}

// Codec is one payload format of an offer's media section.
type Codec struct {
	// PayloadType is the RTP payload type.
	PayloadType uint8
	// Name is the encoding name as offered ("H264", "opus").
	Name string
	// ClockRate is the RTP clock rate.
	ClockRate uint32
	// Fmtp is the format's a=fmtp parameters ("" when none).
	Fmtp string
}

// ParseOffer parses and checks an SDP offer; its errors wrap ErrBadOffer.
func ParseOffer(body []byte) (*Offer, error) {
	desc := &sdp.SessionDescription{}
	if err := desc.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	switch n := len(desc.MediaDescriptions); {
	case n == 0:
		return nil, fmt.Errorf("%w: no media section", ErrBadOffer)
	case n > maxMediaSections:
		return nil, fmt.Errorf("%w: %d media sections (at most %d)", ErrBadOffer, n, maxMediaSections)
	}
	o := &Offer{SDP: string(body), Desc: desc}
	sessUfrag, _ := desc.Attribute("ice-ufrag")
	sessPwd, _ := desc.Attribute("ice-pwd")
	sessFP, _ := desc.Attribute("fingerprint")
	for i, md := range desc.MediaDescriptions {
		if len(md.MediaName.Formats) == 0 {
			return nil, fmt.Errorf("%w: media section %d has no format", ErrBadOffer, i)
		}
		if !strings.Contains(strings.Join(md.MediaName.Protos, "/"), "TLS") {
			return nil, fmt.Errorf("%w: media section %d is not DTLS-SRTP (%s)", ErrBadOffer, i,
				strings.Join(md.MediaName.Protos, "/"))
		}
		ufrag, ok := md.Attribute("ice-ufrag")
		if !ok {
			ufrag = sessUfrag
		}
		pwd, ok := md.Attribute("ice-pwd")
		if !ok {
			pwd = sessPwd
		}
		fp, ok := md.Attribute("fingerprint")
		if !ok {
			fp = sessFP
		}
		if !knownFingerprint(fp) {
			return nil, fmt.Errorf("%w: media section %d has no usable DTLS fingerprint", ErrBadOffer, i)
		}
		if ufrag == "" || pwd == "" {
			return nil, fmt.Errorf("%w: media section %d has no ICE credentials", ErrBadOffer, i)
		}
		if o.Ufrag == "" {
			o.Ufrag, o.Pwd = ufrag, pwd
		}
	}
	return o, nil
}

// knownFingerprint reports an a=fingerprint value with a hash DTLS uses.
func knownFingerprint(fp string) bool {
	alg, val, ok := strings.Cut(strings.TrimSpace(fp), " ")
	if !ok || strings.TrimSpace(val) == "" {
		return false
	}
	switch strings.ToLower(alg) {
	case "sha-1", "sha-224", "sha-256", "sha-384", "sha-512":
		return true
	}
	return false
}

// Media returns the offer's media sections of one kind ("video", "audio").
func (o *Offer) Media(kind string) []*sdp.MediaDescription {
	var out []*sdp.MediaDescription
	for _, md := range o.Desc.MediaDescriptions {
		if md.MediaName.Media == kind {
			out = append(out, md)
		}
	}
	return out
}

// Codecs returns the payload formats of a media section, in the offer's
// order of preference.
func Codecs(md *sdp.MediaDescription) []Codec {
	byPT := map[uint8]*Codec{}
	var out []*Codec
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			continue
		}
		c := &Codec{PayloadType: uint8(pt)}
		byPT[c.PayloadType] = c
		out = append(out, c)
	}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" && a.Key != "fmtp" {
			continue
		}
		ptS, rest, ok := strings.Cut(a.Value, " ")
		pt, err := strconv.ParseUint(ptS, 10, 8)
		c := byPT[uint8(pt)]
		if !ok || err != nil || c == nil {
			continue
		}
		if a.Key == "fmtp" {
			c.Fmtp = strings.TrimSpace(rest)
			continue
		}
		name, rate, _ := strings.Cut(rest, "/")
		c.Name = name
		rate, _, _ = strings.Cut(rate, "/")
		if r, err := strconv.ParseUint(rate, 10, 32); err == nil {
			c.ClockRate = uint32(r)
		}
	}
	res := make([]Codec, 0, len(out))
	for _, c := range out {
		res = append(res, *c)
	}
	return res
}

// FmtpValue returns parameter key of an fmtp line ("" when absent).
func FmtpValue(fmtp, key string) string {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// HasH264 reports whether a media section offers H.264 in
// packetization-mode 1, which is what the Transport negotiates.
func HasH264(md *sdp.MediaDescription) bool {
	for _, c := range Codecs(md) {
		if strings.EqualFold(c.Name, "H264") && FmtpValue(c.Fmtp, "packetization-mode") == "1" {
			return true
		}
	}
	return false
}

// HasOpus reports whether a media section offers Opus.
func HasOpus(md *sdp.MediaDescription) bool {
	for _, c := range Codecs(md) {
		if strings.EqualFold(c.Name, "opus") {
			return true
		}
	}
	return false
}
