# GoLive — make run opens the app; make test runs vet and every test.
# Both install what is missing first (Debian/Ubuntu; as root or through sudo).

SHELL      := /bin/bash
GO         ?= go
HOST_OS    := $(or $(filter darwin windows,$(shell uname -s | tr A-Z a-z | sed 's/^mingw.*\|^msys.*/windows/')),linux)
BIN        ?= bin/golive$(if $(filter windows,$(HOST_OS)),.exe)
GOTESTFLAGS ?= -race -timeout 30m
export CGO_ENABLED := 1
export LANG := en_US.UTF-8

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# FFmpeg. go.mod decides: go-astiav v0.16.x binds FFmpeg 5.1 (Debian 12's -dev packages); later
# releases bind FFmpeg 8, which build/ffmpeg.sh (run by `make deps`) takes from the system when
# pkg-config finds one (libavcodec 62) and otherwise builds once, static, into
# $${XDG_CACHE_HOME:-~/.cache}/golive/ffmpeg-<version>. The environment below links every
# go build/test/vet against that cache; the ffmpeg/ffprobe programs the tests run stay Debian's.
ASTIAV_VERSION := $(shell awk '{for (i = 1; i < NF; i++) if ($$i == "github.com/asticode/go-astiav") print $$(i+1)}' go.mod)
ifneq ($(filter v0.16.%,$(ASTIAV_VERSION)),)
FFMPEG       := system-5.1
FFMPEG_PKGS  := libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev \
                libavfilter-dev libavdevice-dev
FFMPEG_PCS   := libavcodec libavformat libavutil libswscale libswresample libavfilter
else
FFMPEG       := 8
FFMPEG_PKGS  :=
FFMPEG_PCS   :=
# "" when the system's FFmpeg 8 is used; otherwise the cache's pkgconfig directory.
FFMPEG_PCPATH := $(shell build/ffmpeg.sh pcpath)
ifneq ($(FFMPEG_PCPATH),)
export PKG_CONFIG_PATH := $(FFMPEG_PCPATH)$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
# pkg-config --static (go runs only the first word of $$PKG_CONFIG, hence a one-line wrapper).
export PKG_CONFIG := $(CURDIR)/build/pkg-config-static
endif
endif

# Debian/Ubuntu packages: build libraries, then the independent peers tests use.
BUILD_PKGS := gcc pkg-config $(FFMPEG_PKGS) libgl1-mesa-dev xorg-dev
PEER_PKGS  := ffmpeg nginx libnginx-mod-rtmp chromium xvfb imagemagick fonts-dejavu-core
PKG_CONFIG_LIBS := $(FFMPEG_PCS) gl x11 xrandr xcursor xinerama xi xxf86vm
TOOLS := gcc pkg-config ffmpeg ffprobe nginx chromium Xvfb import
NGINX_RTMP := /usr/lib/nginx/modules/ngx_rtmp_module.so
VERSITYGW  := github.com/versity/versitygw/cmd/versitygw@v1.8.0

# Chat across instances: Debian's nats-server (JetStream on) is the peer of the NATS tests and benchmarks.
PEER_PKGS  += nats-server
TOOLS      += /usr/sbin/nats-server

# make package: fyne's packager, built once per version beside the FFmpeg cache. v1.7.4 writes the
# same metadata code for a fyne v2.7 app as v1.7.2 (built for v2.7) does, and unlike v1.7.2 its
# package's `make install` finds the icon.
FYNE_TOOLS_VERSION := v1.7.4
FYNE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/golive/tools/fyne-$(FYNE_TOOLS_VERSION)/fyne
DIST := dist

.PHONY: all deps env build run test vet fuzz bench package clean

all: build

# deps installs only what is missing; it is a no-op on a machine that has everything.
deps:
	@missing=0; \
	for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || { echo "deps: missing $$t"; missing=1; }; done; \
	for l in $(PKG_CONFIG_LIBS); do pkg-config --exists $$l 2>/dev/null || { echo "deps: missing library $$l"; missing=1; }; done; \
	[ -f $(NGINX_RTMP) ] || { echo "deps: missing nginx RTMP module"; missing=1; }; \
	if [ $$missing = 1 ] && ! command -v apt-get >/dev/null; then \
	  echo "deps: not Debian/Ubuntu: install the above by hand (see the README's platforms); going on"; \
	elif [ $$missing = 1 ]; then \
	  echo "deps: installing with apt-get$(if $(SUDO), (via sudo),)"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(BUILD_PKGS) $(PEER_PKGS) || exit 1; \
	fi
	@command -v $(GO) >/dev/null 2>&1 || { echo "deps: Go is missing; installing golang-go (Go >= 1.21 fetches the toolchain go.mod asks for)"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q golang-go; }
	@$(if $(filter 8,$(FFMPEG)),build/ffmpeg.sh ensure)
	@$(GO) mod download
	@# The S3 server the storage tests start (versitygw, posix backend), built from source once.
	@[ -x "$$($(GO) env GOPATH)/bin/versitygw" ] || command -v versitygw >/dev/null 2>&1 || \
	  { echo "deps: go install $(VERSITYGW)"; GOFLAGS= $(GO) install $(VERSITYGW); }

# env prints the environment make gives go (to build or test by hand: eval "$$(make -s env)").
env:
	@echo 'export CGO_ENABLED=1'
	@$(if $(FFMPEG_PCPATH),echo 'export PKG_CONFIG_PATH=$(PKG_CONFIG_PATH)'; echo 'export PKG_CONFIG=$(PKG_CONFIG)',true)

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

# fuzz runs every fuzz target briefly (FUZZTIME each); CI runs their seed corpora as part of make test.
FUZZTIME ?= 20s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; done

bench: deps
	$(GO) test ./bench/ -run '^$$' -bench . -benchtime 1x -v

# package builds the desktop package of this OS with fyne's packager from FyneApp.toml into $(DIST)/:
# Linux GoLive.tar.xz (binary, icon, .desktop entry, and a Makefile: `sudo make install` in the
# unpacked folder), macOS GoLive.app, Windows GoLive.exe (icon and metadata embedded).
package: deps $(FYNE)
	@rm -rf GoLive.tar.xz GoLive.app GoLive.exe && mkdir -p $(DIST)
	@# fyne package bumps Build in FyneApp.toml after every run; the repo keeps the committed one.
	@echo "fyne package --os $(HOST_OS) --release --src . --icon assets/icon.png"; cp FyneApp.toml $(DIST)/.FyneApp.toml; \
	$(FYNE) package --os $(HOST_OS) --release --src . --icon assets/icon.png; rc=$$?; \
	mv -f $(DIST)/.FyneApp.toml FyneApp.toml; exit $$rc
	@for f in GoLive.tar.xz GoLive.app GoLive.exe; do [ ! -e $$f ] || { rm -rf $(DIST)/$$f; mv $$f $(DIST)/; echo "package: $(DIST)/$$f"; }; done
	@[ ! -f $(DIST)/GoLive.tar.xz ] || tar -tvJf $(DIST)/GoLive.tar.xz

$(FYNE):
	GOBIN=$(dir $(FYNE)) $(GO) install fyne.io/tools/cmd/fyne@$(FYNE_TOOLS_VERSION)

clean:
	rm -rf bin $(DIST)
