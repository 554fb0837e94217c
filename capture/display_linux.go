//go:build linux && cgo

package capture

/*
#cgo pkg-config: x11 xrandr xcb
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <X11/Xlib.h>
#include <X11/extensions/Xrandr.h>
#include <xcb/xcb.h>

typedef struct { int x, y, w, h, primary; char name[64]; } golive_monitor;

// golive_monitors fills out (up to max) with the RandR monitors of the
// default screen, or the whole screen when RandR has none. It returns the
// count, or -1 when the display cannot be opened. Only the root window is
// queried, so no X error can arise from a window going away.
static int golive_monitors(const char *display, golive_monitor *out, int max) {
	Display *dpy = XOpenDisplay(display);
	if (!dpy) return -1;
	Window root = DefaultRootWindow(dpy);
	int n = 0, count = 0, ev, er;
	if (XRRQueryExtension(dpy, &ev, &er)) {
		XRRMonitorInfo *m = XRRGetMonitors(dpy, root, True, &n);
		for (int i = 0; m && i < n && count < max; i++) {
			golive_monitor *o = &out[count++];
			o->x = m[i].x; o->y = m[i].y; o->w = m[i].width; o->h = m[i].height; o->primary = m[i].primary;
			char *name = m[i].name ? XGetAtomName(dpy, m[i].name) : NULL;
			snprintf(o->name, sizeof o->name, "%s", name ? name : "monitor");
			if (name) XFree(name);
		}
		if (m) XRRFreeMonitors(m);
	}
	if (count == 0 && max > 0) {
		int s = DefaultScreen(dpy);
		golive_monitor *o = &out[count++];
		o->x = 0; o->y = 0; o->w = DisplayWidth(dpy, s); o->h = DisplayHeight(dpy, s); o->primary = 1;
		snprintf(o->name, sizeof o->name, "screen");
	}
	XCloseDisplay(dpy);
	return count;
}

typedef struct { uint32_t id; int w, h; char title[256]; } golive_window;

static xcb_atom_t golive_atom(xcb_connection_t *c, const char *name) {
	xcb_intern_atom_reply_t *r = xcb_intern_atom_reply(c, xcb_intern_atom(c, 1, strlen(name), name), NULL);
	xcb_atom_t a = r ? r->atom : XCB_ATOM_NONE;
	free(r);
	return a;
}

// golive_title copies w's _NET_WM_NAME (UTF-8) or WM_NAME into out; 0 when
// it has none or is gone.
static int golive_title(xcb_connection_t *c, xcb_window_t w, xcb_atom_t net_name, xcb_atom_t utf8, char *out, int size) {
	xcb_atom_t props[2] = {net_name, XCB_ATOM_WM_NAME};
	xcb_atom_t types[2] = {utf8, XCB_ATOM_STRING};
	for (int i = 0; i < 2; i++) {
		if (props[i] == XCB_ATOM_NONE) continue;
		xcb_get_property_reply_t *r = xcb_get_property_reply(c, xcb_get_property(c, 0, w, props[i], i == 0 ? types[0] : XCB_GET_PROPERTY_TYPE_ANY, 0, 256), NULL);
		if (!r) continue;
		int len = xcb_get_property_value_length(r);
		if (r->format == 8 && len > 0) {
			if (len >= size) len = size - 1;
			memcpy(out, xcb_get_property_value(r), len);
			out[len] = 0;
			free(r);
			return 1;
		}
		free(r);
	}
	return 0;
}

// golive_windows lists the titled top-level windows: the window manager's
// _NET_CLIENT_LIST, or the root's mapped children where there is no window
// manager. It returns the count, or -1 when the display cannot be opened.
// Windows that vanish while being listed are left out (xcb returns their
// errors as values).
static int golive_windows(const char *display, golive_window *out, int max) {
	xcb_connection_t *c = xcb_connect(display, NULL);
	if (xcb_connection_has_error(c)) { xcb_disconnect(c); return -1; }
	xcb_window_t root = xcb_setup_roots_iterator(xcb_get_setup(c)).data->root;
	xcb_atom_t client_list = golive_atom(c, "_NET_CLIENT_LIST");
	xcb_atom_t net_name = golive_atom(c, "_NET_WM_NAME");
	xcb_atom_t utf8 = golive_atom(c, "UTF8_STRING");
	xcb_window_t *wins = NULL;
	int n = 0;
	void *tofree = NULL;
	if (client_list != XCB_ATOM_NONE) {
		xcb_get_property_reply_t *r = xcb_get_property_reply(c, xcb_get_property(c, 0, root, client_list, XCB_ATOM_WINDOW, 0, 4096), NULL);
		if (r && r->format == 32 && xcb_get_property_value_length(r) > 0) {
			wins = xcb_get_property_value(r);
			n = xcb_get_property_value_length(r) / 4;
			tofree = r;
		} else {
			free(r);
		}
	}
	int managed = n > 0;
	if (!managed) {
		xcb_query_tree_reply_t *t = xcb_query_tree_reply(c, xcb_query_tree(c, root), NULL);
		if (t) {
			wins = xcb_query_tree_children(t);
			n = xcb_query_tree_children_length(t);
			tofree = t;
		}
	}
	int count = 0;
	for (int i = 0; i < n && count < max; i++) {
		xcb_window_t w = wins[i];
		if (!managed) {
			xcb_get_window_attributes_reply_t *a = xcb_get_window_attributes_reply(c, xcb_get_window_attributes(c, w), NULL);
			int ok = a && a->map_state == XCB_MAP_STATE_VIEWABLE && !a->override_redirect;
			free(a);
			if (!ok) continue;
		}
		xcb_get_geometry_reply_t *g = xcb_get_geometry_reply(c, xcb_get_geometry(c, w), NULL);
		if (!g) continue;
		golive_window *o = &out[count];
		o->id = w; o->w = g->width; o->h = g->height;
		free(g);
		if (golive_title(c, w, net_name, utf8, o->title, sizeof o->title) && o->title[0]) count++;
	}
	free(tofree);
	xcb_disconnect(c);
	return count;
}
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

// displayName is the X display screen capture uses: $DISPLAY.
func displayName() (string, error) {
	d := os.Getenv("DISPLAY")
	if d == "" {
		return "", fmt.Errorf("%w: DISPLAY is not set (screen capture needs X11 or XWayland)", ErrNoDisplay)
	}
	return d, nil
}

// ListScreens returns the monitors of the X display at $DISPLAY (RandR),
// or its whole screen when RandR reports none.
func ListScreens() ([]ScreenInfo, error) {
	d, err := displayName()
	if err != nil {
		return nil, err
	}
	cd := C.CString(d)
	defer C.free(unsafe.Pointer(cd))
	var mons [16]C.golive_monitor
	n := int(C.golive_monitors(cd, &mons[0], C.int(len(mons))))
	if n < 0 {
		return nil, fmt.Errorf("%w: cannot open X display %q", ErrNoDisplay, d)
	}
	out := make([]ScreenInfo, 0, n)
	for i, m := range mons[:n] {
		out = append(out, ScreenInfo{Index: i, Name: C.GoString(&m.name[0]), X: int(m.x), Y: int(m.y),
			Width: int(m.w), Height: int(m.h), Primary: m.primary != 0})
	}
	return out, nil
}

// ListWindows returns the titled top-level windows of the X display at
// $DISPLAY, as the window manager lists them (or as mapped children of the
// root where none runs).
func ListWindows() ([]WindowInfo, error) {
	d, err := displayName()
	if err != nil {
		return nil, err
	}
	cd := C.CString(d)
	defer C.free(unsafe.Pointer(cd))
	const maxWindows = 512
	buf := (*[maxWindows]C.golive_window)(C.calloc(maxWindows, C.size_t(unsafe.Sizeof(C.golive_window{}))))
	if buf == nil {
		return nil, fmt.Errorf("capture: list windows: out of memory")
	}
	defer C.free(unsafe.Pointer(buf))
	n := int(C.golive_windows(cd, &buf[0], maxWindows))
	if n < 0 {
		return nil, fmt.Errorf("%w: cannot open X display %q", ErrNoDisplay, d)
	}
	out := make([]WindowInfo, 0, n)
	for _, w := range buf[:n] {
		out = append(out, WindowInfo{ID: uint64(w.id), Title: C.GoString(&w.title[0]), Width: int(w.w), Height: int(w.h)})
	}
	return out, nil
}
