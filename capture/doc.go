// Package capture produces raw media for the pipeline: a test pattern and a
// tone (the default where no device exists), the camera (pion/mediadevices)
// and the microphone (malgo), all stamped on one capture clock so audio and
// video stay aligned.
//
// Sources hand frames on a small buffered channel. A source never queues
// without bound: when the consumer is not ready the frame is dropped and
// counted in Stats. The receiver owns every frame it receives (sources
// allocate a new frame per send and never touch it again).
package capture
