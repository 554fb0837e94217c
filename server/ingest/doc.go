// Package ingest is the bundled server's RTMP ingest stage: it accepts one
// publisher at a time on application "live" with the stream key as the
// stream name, parses its FLV audio and video tags into media packets and
// codec parameters, and hands them to a Sink.
package ingest
