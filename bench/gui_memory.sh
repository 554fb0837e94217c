#!/bin/bash
# Runs the real `golive` window under Xvfb (software GL), clicks Go Live
# (bundled server, default ladder) with xdotool, and prints the process's
# RSS and CPU every 15 s; with --offline it never clicks; with --baseline
# it runs bench/guibaseline (a bare Fyne window with the same 30 fps
# image) instead, the peer. Needs xvfb,
# xdotool and imagemagick (Debian packages). Screenshots go to $OUT.
#   bash bench/gui_memory.sh [--offline|--baseline] [SECONDS]
set -eu
offline=0
apid=""
pkg=.
if [ "${1:-}" = "--offline" ]; then offline=1; shift; fi
if [ "${1:-}" = "--baseline" ]; then offline=1; pkg=./bench/guibaseline; shift; fi
secs=${1:-180}
OUT=${OUT:-$(mktemp -d)}
bin=$(mktemp -d)/golive
go build -o "$bin" "$pkg"
n=150
while [ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ]; do n=$((n + 1)); done
Xvfb :$n -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xpid=$!
home=$(mktemp -d)
trap 'kill $apid $xpid 2>/dev/null; wait 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 50); do [ -e /tmp/.X11-unix/X$n ] && break; sleep 0.1; done
export DISPLAY=:$n HOME=$home LANG=en_US.UTF-8
"$bin" >"$OUT/golive-app.log" 2>&1 &
apid=$!
sleep 6
if [ $offline = 0 ]; then
	# The window is centred on the 1280x800 screen; Go Live sits under the preview.
	xdotool mousemove 340 414 click 1
	sleep 3
fi
import -window root "$OUT/gui-memory-start.png"
ticks0=$(awk '{print $14+$15}' /proc/$apid/stat)
for i in $(seq 0 15 "$secs"); do
	rss=$(awk '/VmRSS/{print $2}' /proc/$apid/status)
	ticks=$(awk '{print $14+$15}' /proc/$apid/stat)
	echo "t=${i}s rss=$((rss / 1024))MB cpu=$(((ticks - ticks0) / 100))s"
	[ "$i" -lt "$secs" ] && sleep 15
done
import -window root "$OUT/gui-memory-end.png"
echo "screenshots in $OUT"
