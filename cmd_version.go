package main

// #cgo pkg-config: libavcodec libavformat libavutil libswscale libswresample
// #include <libavcodec/avcodec.h>
// #include <libavformat/avformat.h>
// #include <libavutil/avutil.h>
// #include <libswscale/swscale.h>
// #include <libswresample/swresample.h>
import "C"

import (
	"fmt"
	"io"
	"runtime"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// ffmpegVersion formats a libav* version integer as MAJOR.MINOR.MICRO.
func ffmpegVersion(v C.uint) string {
	return fmt.Sprintf("%d.%d.%d", v>>16, (v>>8)&0xFF, v&0xFF)
}

func runVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "golive %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "FFmpeg %s: libavcodec %s, libavformat %s, libavutil %s, libswscale %s, libswresample %s\n",
		C.GoString(C.av_version_info()),
		ffmpegVersion(C.avcodec_version()), ffmpegVersion(C.avformat_version()), ffmpegVersion(C.avutil_version()),
		ffmpegVersion(C.swscale_version()), ffmpegVersion(C.swresample_version()))
	return 0
}
