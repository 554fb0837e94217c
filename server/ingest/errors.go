package ingest

import "errors"

// ErrUnsupportedCodec is returned by FLVDemuxer when a tag carries a codec
// other than H.264 video or AAC audio; Server refuses such a publisher.
var ErrUnsupportedCodec = errors.New("unsupported codec")

// ErrBadTag is returned by FLVDemuxer for a tag or sequence header it
// cannot parse; Server closes that publisher's connection.
var ErrBadTag = errors.New("bad FLV tag")

// ErrRefused is wrapped by the errors that refuse a publisher (wrong
// application or key, already live); go-rtmp answers them with an error
// status and closes the connection.
var ErrRefused = errors.New("publish refused")

// ErrBadRTP is reported (counted, logged once a second) for an RTP packet
// of a WHIP publisher that does not carry what its codec says; the access
// unit it belonged to is dropped and a keyframe is asked for.
var ErrBadRTP = errors.New("bad RTP payload")
