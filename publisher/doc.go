// Package publisher sends encoded media out of GoLive: RTMP/RTMPS to one or
// more destinations (go-rtmp's chunk stream and handshake, go-flv's tag
// layout), with a bounded send queue per destination.
//
// RTMP is the stage for one destination. It owns one writer goroutine that
// owns the network connection; WritePacket only queues. The queue (Queue)
// is bounded in media time and drops video before audio when the link
// cannot keep up.
package publisher
