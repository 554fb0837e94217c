#!/bin/bash
# Runs the real `golive` window under Xvfb (software GL) and prints its RSS
# and CPU over time: live to its bundled server (bench/guilive taps the
# window's own Go Live button once the preview shows pictures; the server's
# /api/status must then say live, or the run fails), offline (--offline),
# or the peer, a bare Fyne window with the same 30 fps image (--baseline,
# bench/guibaseline). It is TestGUIMemory in bench/guimemory_test.go, which
# `make bench` runs with all three; this picks one.
#   bash bench/gui_memory.sh [--offline|--baseline] [SECONDS]
set -eu
mode=live
case "${1:-}" in
--offline) mode=offline; shift ;;
--baseline) mode=baseline; shift ;;
esac
secs=${1:-180}
cd "$(dirname "$0")/.."
GOLIVE_BENCH=1 GOLIVE_GUI_MODE=$mode GOLIVE_GUI_SECONDS=$secs \
	go test -count=1 -timeout $((secs + 600))s -run '^TestGUIMemory$' -v ./bench/
