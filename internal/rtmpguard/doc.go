// Package rtmpguard protects an RTMP endpoint built on go-rtmp v0.0.7 from
// the messages its AMF0 decoder (go-amf0 v0.1.0) cannot survive.
//
// go-amf0 allocates a strict array by the element count it announces, so a
// 13-byte RTMP message makes the decoding process die with a fatal
// out-of-memory error that no recover catches. A Guard follows the chunk
// stream one peer sends, bounds message sizes and chunk streams, and
// reassembles AMF0 command and data messages to check them (CheckAMF0)
// before go-rtmp decodes them. It serves both directions: what a server
// receives (C0+C1+C2) and what a client receives (S0+S1+S2) are handshakes
// of the same size, followed by chunks.
//
// Wrap the connection with NewConn, or call Guard.Feed on every byte read
// from the peer, before handing the stream to go-rtmp.
package rtmpguard
