// Package preview turns captured YUV420P frames into images for the GUI at
// a bounded rate without ever blocking capture, renders the chat overlay
// layer and blends it into outgoing frames, and measures audio levels for
// the meter.
package preview
