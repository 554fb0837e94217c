package ingest

import "golive/internal/rtmpguard"

// checkAMF0 returns an error unless buf is a sequence of complete AMF0
// values that go-amf0 can decode without trusting a count the bytes do not
// back (see rtmpguard.CheckAMF0, where the check and the connection guard
// now live, shared with the publisher).
func checkAMF0(buf []byte) error { return rtmpguard.CheckAMF0(buf) }
