// Package peers starts independent programs (nginx-rtmp, the ffmpeg and
// ffprobe command lines) for tests that check GoLive against real peers,
// and a TCP Proxy that throttles or stalls the link to one.
//
// It is a normal package so that the tests of many packages can share it;
// nothing outside tests should import it. Every helper takes a testing.TB,
// registers its own cleanup and fails the test with a clear message when
// the peer misbehaves. A missing program fails the test when CI=true and
// skips it otherwise (see RequireTool).
package peers
