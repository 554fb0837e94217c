//go:build linux && cgo

// Command xpattern opens an X11 window with a known, moving pattern, for
// screen-capture tests: four quadrants of solid colour (red top-left,
// green top-right, blue bottom-left, white bottom-right) and a black bar
// one eighth of the width wide that crosses the window from left to right
// once per second. Its first line on stdout is the window's ID once it is
// mapped; it runs until killed.
//
//	xpattern -title golive-pattern -size 640x360 [-x 0 -y 0]
package main

/*
#cgo pkg-config: xcb
#include <stdlib.h>
#include <string.h>
#include <xcb/xcb.h>

static xcb_connection_t *conn;
static xcb_window_t win;
static xcb_gcontext_t gcs[5];

static int xp_open(const char *title, int x, int y, int w, int h) {
	conn = xcb_connect(NULL, NULL);
	if (xcb_connection_has_error(conn)) return -1;
	xcb_screen_t *s = xcb_setup_roots_iterator(xcb_get_setup(conn)).data;
	win = xcb_generate_id(conn);
	uint32_t values[1] = {s->black_pixel};
	xcb_create_window(conn, XCB_COPY_FROM_PARENT, win, s->root, x, y, w, h, 0,
		XCB_WINDOW_CLASS_INPUT_OUTPUT, s->root_visual, XCB_CW_BACK_PIXEL, values);
	xcb_change_property(conn, XCB_PROP_MODE_REPLACE, win, XCB_ATOM_WM_NAME, XCB_ATOM_STRING, 8, strlen(title), title);
	uint32_t colors[5] = {0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0x000000};
	for (int i = 0; i < 5; i++) {
		gcs[i] = xcb_generate_id(conn);
		uint32_t v[2] = {colors[i], 0};
		xcb_create_gc(conn, gcs[i], win, XCB_GC_FOREGROUND | XCB_GC_GRAPHICS_EXPOSURES, v);
	}
	xcb_map_window(conn, win);
	xcb_flush(conn);
	// Wait until the server has mapped it.
	xcb_get_window_attributes_reply_t *a = xcb_get_window_attributes_reply(conn, xcb_get_window_attributes(conn, win), NULL);
	free(a);
	return (int)win;
}

static void xp_draw(int w, int h, int bar) {
	xcb_rectangle_t q[4] = {{0, 0, w / 2, h / 2}, {w / 2, 0, w - w / 2, h / 2}, {0, h / 2, w / 2, h - h / 2}, {w / 2, h / 2, w - w / 2, h - h / 2}};
	for (int i = 0; i < 4; i++) xcb_poly_fill_rectangle(conn, win, gcs[i], 1, &q[i]);
	xcb_rectangle_t b = {bar, 0, w / 8, h};
	xcb_poly_fill_rectangle(conn, win, gcs[4], 1, &b);
	xcb_flush(conn);
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"time"
	"unsafe"
)

func main() {
	title := flag.String("title", "golive-pattern", "window title")
	size := flag.String("size", "640x360", "window size WxH")
	x := flag.Int("x", 0, "window position x")
	y := flag.Int("y", 0, "window position y")
	flag.Parse()
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || w < 16 || h < 16 {
		fmt.Fprintln(os.Stderr, "xpattern: bad -size", *size)
		os.Exit(2)
	}
	ct := C.CString(*title)
	defer C.free(unsafe.Pointer(ct))
	id := C.xp_open(ct, C.int(*x), C.int(*y), C.int(w), C.int(h))
	if id < 0 {
		fmt.Fprintln(os.Stderr, "xpattern: cannot open the X display", os.Getenv("DISPLAY"))
		os.Exit(1)
	}
	C.xp_draw(C.int(w), C.int(h), 0)
	fmt.Println(int(id))
	start := time.Now()
	t := time.NewTicker(10 * time.Millisecond)
	for range t.C {
		// The bar's left edge sweeps 0 .. w-w/8 once per second.
		phase := time.Since(start) % time.Second
		bar := int(int64(phase) * int64(w-w/8) / int64(time.Second))
		C.xp_draw(C.int(w), C.int(h), C.int(bar))
	}
}
