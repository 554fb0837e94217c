// Package capture produces raw media for the pipeline, all stamped on one
// capture clock so audio and video stay aligned:
//
//   - TestPattern (video) and Tone (audio): the default sources where no
//     device exists. The pattern burns the wall-clock time and a frame
//     counter into the picture; ReadStamp reads them back, to measure
//     latency off a decoded picture. Across its top it carries the same
//     time (Unix ms) and frame number as a block clock strip (ClockStrip)
//     that DecodeClockStrip, and assets/web/clockstrip.js in a browser,
//     read after scaling to 240p and x264 at 400 kbit/s.
//   - Camera (video) through pion/mediadevices, converted to YUV420P at the
//     asked size, with a "CAMERA LOST" slate while the device is gone.
//   - Microphone (audio) through gen2brain/malgo (miniaudio), 48 kHz
//     stereo blocks with per-channel levels, silence while the device is
//     gone.
//   - ListCameras and ListMicrophones for `golive devices`; Parse turns a
//     --source/--audio value into a Spec that builds the source.
//
// Share one Clock (NewClock) between the video and the audio source. Each
// source has Initialize, Frames/Samples, an idempotent Close and Stats.
// Sources hand frames on a small buffered channel and never queue without
// bound: when the consumer is not ready the frame is dropped and counted.
// The receiver owns every frame it receives (sources allocate a new frame
// per send and never touch it again).
//
// Tests drive sources without sleeping through ManualClock and
// ManualTicker.
package capture
