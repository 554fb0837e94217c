// Package webrtc is the bundled server's WebRTC stage, on pion/webrtc: the
// one Transport every WebRTC session shares (one pion API, one UDP port
// for all media through ICE UDP muxing, host candidates only on the
// addresses the server listens on, STUN/TURN servers, the codecs: H.264
// packetization-mode 1 and Opus), the Endpoint that answers SDP offers
// over HTTP the way WHEP and WHIP both do (RFC 9725: POST an offer, 201
// Created with the answer and a Location to DELETE), and WHEP playback.
package webrtc
