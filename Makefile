# GoLive — make run opens the app; make test runs vet and every test.
# Both install what is missing first (Debian/Ubuntu; as root or through sudo).

SHELL      := /bin/bash
GO         ?= go
BIN        ?= bin/golive
GOTESTFLAGS ?= -race -timeout 30m
export CGO_ENABLED := 1
export LANG := en_US.UTF-8

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian/Ubuntu packages: build libraries, then the independent peers tests use.
BUILD_PKGS := gcc pkg-config libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
              libswresample-dev libavfilter-dev libavdevice-dev libgl1-mesa-dev xorg-dev
PEER_PKGS  := ffmpeg nginx libnginx-mod-rtmp chromium xvfb imagemagick fonts-dejavu-core
PKG_CONFIG_LIBS := libavcodec libavformat libavutil libswscale libswresample libavfilter gl x11 xrandr xcursor xinerama xi xxf86vm
TOOLS := gcc pkg-config ffmpeg ffprobe nginx chromium Xvfb import
NGINX_RTMP := /usr/lib/nginx/modules/ngx_rtmp_module.so

.PHONY: all deps build run test vet fuzz bench clean

all: build

# deps installs only what is missing; it is a no-op on a machine that has everything.
deps:
	@missing=0; \
	for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || { echo "deps: missing $$t"; missing=1; }; done; \
	for l in $(PKG_CONFIG_LIBS); do pkg-config --exists $$l 2>/dev/null || { echo "deps: missing library $$l"; missing=1; }; done; \
	[ -f $(NGINX_RTMP) ] || { echo "deps: missing nginx RTMP module"; missing=1; }; \
	if [ $$missing = 1 ]; then \
	  echo "deps: installing with apt-get$(if $(SUDO), (via sudo),)"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(BUILD_PKGS) $(PEER_PKGS) || exit 1; \
	fi
	@command -v $(GO) >/dev/null 2>&1 || { echo "deps: Go is missing; installing golang-go (Go >= 1.21 fetches the toolchain go.mod asks for)"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q golang-go; }
	@$(GO) mod download

build: deps
	$(GO) build -o $(BIN) .

# run opens the app streaming to its bundled server; with no display it says so and points at the headless commands.
run: build
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && [ "$$(uname)" = Linux ]; then \
	  echo "No display here: run '$(BIN) serve' for the server and '$(BIN) stream --to rtmp://HOST/live/KEY' to broadcast headless."; \
	else ./$(BIN); fi

vet: deps
	$(GO) vet ./...

# Test binaries are compiled in parallel first; the packages then run one at
# a time (-p 1), since many tests stream in real time against real peers
# and two cores shared by several such packages would make them drop frames.
test: deps
	$(GO) vet ./...
	$(GO) build ./...
	$(GO) test $(GOTESTFLAGS) -run '^$$' ./... >/dev/null
	$(GO) test $(GOTESTFLAGS) -p 1 ./...

# fuzz runs every fuzz target for FUZZTIME each, all of them even when one
# fails, then lists the failures (exit 1); CI runs their seed corpora as part
# of make test. A failing input is saved under the package's testdata/fuzz.
FUZZTIME ?= 20s
fuzz: deps
	@failed=""; \
	for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || failed="$$failed $$pkg.$$f"; \
	  done; done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed"; exit 1; fi; echo "fuzz: every target passed"

# bench runs every benchmark in full (GOLIVE_BENCH=1; about 45 minutes on 2
# cores) and writes bench/results.md from their PASS/MISS verdict lines
# (machine, date, load). Run it on a quiet machine: the figures are only as
# good as the load lets them be. make test runs the same tests as short
# smoke runs.
BENCHTIME ?= 2s
bench: deps
	@log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	GOLIVE_BENCH=1 GOLIVE_BENCH_LOG="$$log" GOLIVE_BENCH_RESULTS="$(CURDIR)/bench/results.md" \
	  $(GO) test ./bench/ -count=1 -p 1 -timeout 3h -v -run . -bench . -benchtime $(BENCHTIME); \
	rc=$$?; echo "bench: verdicts in bench/results.md"; grep -E '^\| `(PASS|MISS)' bench/results.md | cut -d'`' -f2; exit $$rc

clean:
	rm -rf bin
