#!/usr/bin/env bash
# build/ffmpeg.sh — gets GoLive an FFmpeg 8 to link against (run by `make deps`).
#
#   build/ffmpeg.sh [ensure]   use the system's FFmpeg 8 if pkg-config finds one (libavcodec 62);
#                              otherwise build the pinned FFmpeg below once into the cache
#   build/ffmpeg.sh pcpath     print the directory to put on PKG_CONFIG_PATH ("" = the system's)
#   build/ffmpeg.sh prefix     print the cache directory (whether or not it is built)
#   build/ffmpeg.sh configure  print the configure line used here
#
# GOLIVE_FFMPEG=build ignores a system FFmpeg 8 and uses the cache (a self-contained binary);
# GOLIVE_FFMPEG=system insists on the system's (an error if it is not FFmpeg 8).
#
# The cache, ${XDG_CACHE_HOME:-~/.cache}/golive/ffmpeg-<version>, holds static, position-independent
# libraries configured for only what GoLive uses. It is built in a staging directory beside it and
# renamed into place with a stamp written last, so it is either complete or absent; a directory
# without a matching stamp (half-built, or configured differently) is removed and rebuilt.
# Source: on Debian/Ubuntu Debian's own source packages (sid, through a deb-src line this script
# adds), elsewhere the release tarball; both are the same file, checked against the sha256 below.
# The full build log goes to a file; the terminal gets steps and a progress line.
set -euo pipefail

FFMPEG_VERSION=8.1.2
FFMPEG_DEB_VERSION=7:8.1.2-2              # Debian sid's source package of that release
# sha256 of ffmpeg-8.1.2.tar.xz, which is byte for byte Debian's ffmpeg_8.1.2.orig.tar.xz
# (checked here against the FFmpeg release signing key shipped in debian/upstream/signing-key.asc).
FFMPEG_SHA256=464beb5e7bf0c311e68b45ae2f04e9cc2af88851abb4082231742a74d97b524c
FFMPEG_URL=https://ffmpeg.org/releases/ffmpeg-$FFMPEG_VERSION.tar.xz
NVHEADERS_VERSION=12.1.14.0               # FFmpeg 8's NVENC needs >= 12.x; Debian 12 ships 11.1
NVHEADERS_DEB_VERSION=12.1.14.0-1
NVHEADERS_SHA256=0ca1a0c85b149646fa6ce4d600584507fdccf5a23d58e668d8701e89cee0c3fb  # .orig.tar.xz
WANT_AVCODEC_MAJOR=62                     # FFmpeg 8.x

CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/golive
PREFIX=$CACHE_ROOT/ffmpeg-$FFMPEG_VERSION
STAMP_NAME=.golive-complete
LOG=$CACHE_ROOT/ffmpeg-$FFMPEG_VERSION.build.log
SRCDIR=$CACHE_ROOT/src
SID_SOURCES=/etc/apt/sources.list.d/golive-sid-src.sources

OS=$(uname -s)
case "$OS" in
  MINGW*|MSYS*) OS=Windows ;;
esac

say() { echo "ffmpeg: $*"; }
die() { echo "ffmpeg: $*" >&2; exit 1; }

SUDO=
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi

# ---------------------------------------------------------------- configure line
configure_args() {
  local a=(
    --prefix="$PREFIX"
    --pkg-config-flags=--static
    --enable-static --disable-shared --enable-pic
    --enable-gpl                       # libx264
    --disable-programs --disable-doc --disable-network
    --disable-autodetect               # nothing from this machine unless named below
    --disable-everything
    --enable-avdevice --enable-avfilter --enable-swscale --enable-swresample
    --enable-zlib                      # PNG
    --enable-libx264 --enable-libopus
    --enable-encoder=libx264,libopus,aac
    --enable-decoder=h264,hevc,vp8,vp9,aac,aac_latm,mp3,mp3float,opus,vorbis,flac,mjpeg,png,rawvideo,pcm_s16le,pcm_s16be,pcm_s24le,pcm_s32le,pcm_f32le,pcm_u8
    --enable-parser=h264,hevc,vp8,vp9,aac,aac_latm,mpegaudio,opus,vorbis,flac,mjpeg,png
    --enable-demuxer=mov,matroska,flv,live_flv,mpegts,avi,wav,mp3,aac,h264,ogg,image2,image_png_pipe,image_jpeg_pipe
    --enable-muxer=mp4,mov,ipod,matroska,webm,flv,mpegts,null
    --enable-bsf=h264_mp4toannexb,aac_adtstoasc,extract_extradata,dump_extradata,h264_metadata,vp9_superframe
    --enable-protocol=file,pipe
    --enable-filter=buffer,buffersink,abuffer,abuffersink,format,aformat,scale,aresample,fps,setpts,asetpts,null,anull,split,asplit,overlay,crop,pad,hflip,vflip,transpose,volume,hwupload,hwdownload,color
  )
  case "$OS" in
    Linux)
      a+=(--enable-pthreads
          --enable-libxcb --enable-libxcb-shm --enable-libxcb-xfixes --enable-libxcb-shape
          --enable-indev=xcbgrab)                                   # "x11grab"
      if [ -n "${NVENC_PC:-}" ]; then a+=(--enable-ffnvcodec --enable-nvenc --enable-encoder=h264_nvenc); fi
      if have_pc libva && have_pc libva-drm; then a+=(--enable-vaapi --enable-encoder=h264_vaapi --enable-filter=scale_vaapi); fi
      if have_pc vpl; then a+=(--enable-libvpl --enable-encoder=h264_qsv); fi
      ;;
    Darwin)
      a+=(--enable-pthreads --enable-avfoundation --enable-indev=avfoundation
          --enable-videotoolbox --enable-audiotoolbox --enable-encoder=h264_videotoolbox)
      ;;
    Windows)
      a+=(--enable-w32threads --enable-indev=gdigrab,dshow
          --enable-mediafoundation --enable-encoder=h264_mf)
      if [ -n "${NVENC_PC:-}" ]; then a+=(--enable-ffnvcodec --enable-nvenc --enable-encoder=h264_nvenc); fi
      if have_pc vpl; then a+=(--enable-libvpl --enable-encoder=h264_qsv); fi
      if have_pc amf || [ -f /mingw64/include/AMF/core/Version.h ]; then a+=(--enable-amf --enable-encoder=h264_amf); fi
      ;;
  esac
  printf '%s\n' "${a[@]}"
}

have_pc() { pkg-config --exists "$@" 2>/dev/null; }

# The system's pkg-config view, without this cache on the path (make exports it).
system_pkg_config() {
  local p="" d IFS=:
  for d in ${PKG_CONFIG_PATH:-}; do
    case "$d" in "$CACHE_ROOT"/*) ;; *) p=${p:+$p:}$d ;; esac
  done
  PKG_CONFIG_PATH=$p pkg-config "$@"
}

FF_LIBS="libavcodec libavformat libavutil libavdevice libavfilter libswscale libswresample"

MODE=${GOLIVE_FFMPEG:-auto}
case "$MODE" in auto|system|build) ;; *) die "GOLIVE_FFMPEG is auto, system or build, not '$MODE'" ;; esac

# system_ffmpeg prints "FFmpeg X.Y (libavcodec N)" for the system's FFmpeg, "" if there is none;
# returns 0 when it is an FFmpeg 8 that has every library go-astiav links.
system_ffmpeg() {
  local v major inc ver=""
  v=$(system_pkg_config --modversion libavcodec 2>/dev/null) || { echo ""; return 1; }
  major=${v%%.*}
  inc=$(system_pkg_config --variable=includedir libavutil 2>/dev/null || true)
  [ -f "$inc/libavutil/ffversion.h" ] &&
    ver=$(sed -n 's/^#define FFMPEG_VERSION "n\{0,1\}\([0-9]*\.[0-9]*\).*/\1/p' "$inc/libavutil/ffversion.h")
  case "$ver" in "") ver="(libavcodec $v)";; esac
  echo "found FFmpeg $ver (libavcodec $major)"
  [ "$MODE" != build ] && [ "$major" = "$WANT_AVCODEC_MAJOR" ] && system_pkg_config --exists $FF_LIBS
}

# The stamp holds everything the build depends on; a cache whose stamp differs is rebuilt.
fingerprint() {
  echo "ffmpeg $FFMPEG_VERSION sha256 $FFMPEG_SHA256"
  echo "nv-codec-headers ${NVENC_PC:+$NVHEADERS_VERSION}"
  configure_args
}

cache_ok() { [ -f "$PREFIX/$STAMP_NAME" ] && [ "$(cat "$PREFIX/$STAMP_NAME")" = "$(fingerprint)" ]; }

# NVENC is wanted on Linux and Windows when headers >= 12.1 can be had: on Debian/Ubuntu from sid's
# nv-codec-headers source package (always), elsewhere from the system (MSYS2: ffnvcodec-headers).
nvenc_plan() {
  NVENC_PC=""
  case "$OS" in Linux|Windows) ;; *) return 0 ;; esac
  if is_debian; then NVENC_PC=build
  elif have_pc "ffnvcodec >= 12.1.14.0"; then NVENC_PC=system
  fi
}

is_debian() { command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; }

# ---------------------------------------------------------------- steps
STEP=""; NSTEPS=6; N=0
step() { N=$((N + 1)); STEP=$1; say "[$N/$NSTEPS] $1"; echo "==== $(date '+%F %T') step: $1" >>"$LOG"; }
# run logs a command's output to $LOG and fails the current step with the log's tail.
run() { "$@" >>"$LOG" 2>&1 || fail; }
fail() {
  echo "ffmpeg: step '$STEP' failed; the last lines of $LOG:" >&2
  tail -n 25 "$LOG" | sed 's/^/  | /' >&2
  echo "ffmpeg: no cache was installed; fix the cause and run 'make deps' again" >&2
  exit 1
}

apt_get() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 "$@"
}

install_build_deps() {
  local pkgs missing=() p
  case "$OS" in
    Linux)
      if is_debian; then
        pkgs=(gcc make nasm pkg-config xz-utils dpkg-dev zlib1g-dev libx264-dev libopus-dev
              libxcb1-dev libxcb-shm0-dev libxcb-xfixes0-dev libxcb-shape0-dev libva-dev)
        # oneVPL (QSV) where the distribution has it (Debian 12 and later, Ubuntu 24.04).
        if apt-cache show libvpl-dev >/dev/null 2>&1; then pkgs+=(libvpl-dev); fi
        for p in "${pkgs[@]}"; do
          dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
        done
        if [ ${#missing[@]} -gt 0 ]; then
          say "      installing ${missing[*]} with apt-get${SUDO:+ (via sudo)}"
          run apt_get install -y -q --no-install-recommends "${missing[@]}"
        else
          say "      all present"
        fi
      else
        for p in cc make nasm pkg-config; do command -v $p >/dev/null || missing+=("$p"); done
        for p in x264 opus xcb xcb-shm xcb-xfixes xcb-shape; do have_pc $p || missing+=("$p (pkg-config)"); done
        [ ${#missing[@]} = 0 ] || die "missing: ${missing[*]} — install them with your package manager (x264, opus, libxcb, nasm development packages)"
        say "      all present"
      fi ;;
    Darwin)
      command -v brew >/dev/null || die "Homebrew is needed: https://brew.sh"
      for p in nasm pkg-config x264 opus; do brew list --formula "$p" >/dev/null 2>&1 || missing+=("$p"); done
      if [ ${#missing[@]} -gt 0 ]; then say "      brew install ${missing[*]}"; run brew install "${missing[@]}"; else say "      all present"; fi ;;
    Windows)
      for p in mingw-w64-x86_64-gcc mingw-w64-x86_64-pkgconf mingw-w64-x86_64-nasm mingw-w64-x86_64-x264 \
               mingw-w64-x86_64-opus mingw-w64-x86_64-ffnvcodec-headers mingw-w64-x86_64-libvpl \
               mingw-w64-x86_64-amf-headers make diffutils; do
        pacman -Q "$p" >/dev/null 2>&1 || missing+=("$p")
      done
      if [ ${#missing[@]} -gt 0 ]; then say "      pacman -S ${missing[*]}"; run pacman -S --needed --noconfirm "${missing[@]}"; else say "      all present"; fi ;;
  esac
}

# fetch_checked FILE SHA256 — true when FILE is in $SRCDIR with that checksum.
fetch_checked() { [ -f "$SRCDIR/$1" ] && [ "$(sha256 "$SRCDIR/$1")" = "$2" ]; }
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}

get_sources() {
  mkdir -p "$SRCDIR"
  local ff=ffmpeg_$FFMPEG_VERSION.orig.tar.xz nv=nv-codec-headers_$NVHEADERS_VERSION.orig.tar.xz
  if is_debian; then
    if ! fetch_checked "$ff" "$FFMPEG_SHA256" || { [ "$NVENC_PC" = build ] && ! fetch_checked "$nv" "$NVHEADERS_SHA256"; }; then
      if ! apt-cache showsrc ffmpeg 2>/dev/null | grep -qx "Version: $FFMPEG_DEB_VERSION"; then
        if [ ! -f "$SID_SOURCES" ]; then
          say "      adding Debian sid's source index ($SID_SOURCES, deb-src only)"
          [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || run apt_get install -y -q debian-archive-keyring
          printf '%s\n' "# Added by GoLive's build/ffmpeg.sh: source packages only (apt-get source ffmpeg=$FFMPEG_DEB_VERSION)." \
            "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: sid" "Components: main" \
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" | $SUDO tee "$SID_SOURCES" >/dev/null
        fi
        say "      apt-get update"
        run apt_get update -q
      fi
      # apt-get checks each file against the signed index; only the upstream tarballs are used
      # (the Debian packaging is not needed, and some mirrors lack nv-codec-headers' .debian.tar.xz).
      (cd "$SRCDIR" && apt-get source --download-only -q "ffmpeg=$FFMPEG_DEB_VERSION" \
         ${NVENC_PC:+"nv-codec-headers=$NVHEADERS_DEB_VERSION"}) >>"$LOG" 2>&1 || true
    fi
    fetch_checked "$ff" "$FFMPEG_SHA256" || { echo "could not get $ff with the sha256 pinned in $0" >>"$LOG"; fail; }
    if [ "$NVENC_PC" = build ]; then
      fetch_checked "$nv" "$NVHEADERS_SHA256" || { echo "could not get $nv with the sha256 pinned in $0" >>"$LOG"; fail; }
    fi
    say "      ffmpeg $FFMPEG_VERSION (Debian source $FFMPEG_DEB_VERSION)${NVENC_PC:+, nv-codec-headers $NVHEADERS_VERSION}: sha256 ok"
  else
    if ! fetch_checked "$ff" "$FFMPEG_SHA256"; then
      run curl -fL --retry 3 -o "$SRCDIR/$ff.part" "$FFMPEG_URL"
      mv "$SRCDIR/$ff.part" "$SRCDIR/$ff"
      fetch_checked "$ff" "$FFMPEG_SHA256" || { rm -f "$SRCDIR/$ff"; echo "$FFMPEG_URL: sha256 mismatch" >>"$LOG"; fail; }
    fi
    say "      ffmpeg $FFMPEG_VERSION ($FFMPEG_URL): sha256 ok${NVENC_PC:+; NVENC headers from the system}"
  fi
}

# compile runs make, logging everything, printing one progress line per 5 % of the objects.
compile() {
  local total jobs n=0 pct last=0 line rc
  jobs=$( (nproc || sysctl -n hw.ncpu) 2>/dev/null || echo 2)
  total=$(cd "$WORK/ffmpeg" && make -n 2>/dev/null | grep -cE '^printf "(CC|CXX|AS|X86ASM|OBJCC)' || true)
  say "      $total objects, make -j$jobs"
  SECONDS=0
  set +e
  (cd "$WORK/ffmpeg" && make -j"$jobs" 2>&1) | tee -a "$LOG" | while IFS= read -r line; do
    case "$line" in
      CC$'\t'*|CXX$'\t'*|AS$'\t'*|X86ASM$'\t'*|OBJCC$'\t'*)
        n=$((n + 1))
        if [ "$total" -gt 0 ]; then pct=$((100 * n / total)); [ $pct -le 100 ] || pct=100; else pct=0; fi
        if [ $pct -ge $((last + 5)) ] || { [ "$total" = 0 ] && [ $((n % 100)) = 0 ]; }; then
          last=$((pct - pct % 5))
          printf 'ffmpeg:       %3d%%  %d/%d objects  %dm%02ds\n' "$pct" "$n" "$total" $((SECONDS / 60)) $((SECONDS % 60))
        fi ;;
    esac
  done
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || fail
}

# check compiles a tiny C program against the staged libraries and asks them what GoLive needs.
check_stage() {
  local root=$1 pc=$1/lib/pkgconfig
  cat >"$WORK/check.c" <<'EOF'
#include <stdio.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavdevice/avdevice.h>
int main(int argc, char **argv) {
  int bad = 0;
  avdevice_register_all();
  for (int i = 1; i < argc; i++) {
    const char *w = argv[i] + 2; const void *p = NULL;
    switch (argv[i][0]) {
    case 'e': p = avcodec_find_encoder_by_name(w); break;
    case 'd': p = avcodec_find_decoder_by_name(w); break;
    case 'm': p = av_guess_format(w, NULL, NULL); break;
    case 'i': p = av_find_input_format(w); break;
    }
    if (!p) { printf("missing %s\n", argv[i]); bad = 1; }
  }
  printf("libavcodec %u.%u, %s\n", avcodec_version() >> 16, (avcodec_version() >> 8) & 255, av_version_info());
  return bad;
}
EOF
  local want=(e:libx264 e:libopus e:aac d:h264 d:aac d:opus d:mjpeg d:mp3 m:mp4 m:mov m:ipod m:matroska m:flv m:mpegts
              i:mov i:matroska i:flv i:mpegts i:avi i:wav i:mp3 i:image2)
  case "$OS" in
    Linux) want+=(i:x11grab); [ -n "$NVENC_PC" ] && want+=(e:h264_nvenc); have_pc libva-drm && want+=(e:h264_vaapi); have_pc vpl && want+=(e:h264_qsv) ;;
    Darwin) want+=(i:avfoundation e:h264_videotoolbox) ;;
    Windows) want+=(i:gdigrab i:dshow e:h264_mf) ;;
  esac
  # shellcheck disable=SC2046
  run cc -o "$WORK/check" "$WORK/check.c" -I"$root/include" -L"$root/lib" \
    $(PKG_CONFIG_PATH=$pc pkg-config --static --libs $FF_LIBS)
  "$WORK/check" "${want[@]}" >>"$LOG" 2>&1 || fail
  say "      $(tail -n 1 "$LOG"); has ${want[*]}"
}

build() {
  local t0 stage
  t0=$(date +%s)
  WORK=$CACHE_ROOT/.build-ffmpeg-$FFMPEG_VERSION.$$
  stage=$WORK/stage
  trap 'rm -rf "$WORK"' EXIT
  rm -rf "$CACHE_ROOT"/.build-ffmpeg-"$FFMPEG_VERSION".*       # earlier interrupted builds (we hold the lock)
  mkdir -p "$WORK"
  : >"$LOG"

  step "build dependencies"; install_build_deps
  step "sources";            get_sources
  step "unpack"
  mkdir -p "$WORK/ffmpeg" "$WORK/nvsrc"
  run tar -C "$WORK/ffmpeg" --strip-components=1 -xf "$SRCDIR/ffmpeg_$FFMPEG_VERSION.orig.tar.xz"
  local pcpath=${PKG_CONFIG_PATH:-}
  if [ "$NVENC_PC" = build ]; then
    run tar -C "$WORK/nvsrc" --strip-components=1 -xf "$SRCDIR/nv-codec-headers_$NVHEADERS_VERSION.orig.tar.xz"
    run make -C "$WORK/nvsrc" PREFIX="$WORK/nv" install
    pcpath=$WORK/nv/lib/pkgconfig${pcpath:+:$pcpath}
  fi
  step "configure"
  echo "configure $(configure_args | tr '\n' ' ')" >>"$LOG"
  # shellcheck disable=SC2046
  (cd "$WORK/ffmpeg" && PKG_CONFIG_PATH=$pcpath ./configure $(configure_args)) >>"$LOG" 2>&1 || fail
  step "compile";             compile
  step "install and check"
  run make -C "$WORK/ffmpeg" install DESTDIR="$stage"
  check_stage "$stage$PREFIX"
  fingerprint >"$stage$PREFIX/$STAMP_NAME"                  # last: the cache is complete
  rm -rf "$PREFIX"
  mv "$stage$PREFIX" "$PREFIX"
  local el=$(( $(date +%s) - t0 ))
  say "built FFmpeg $FFMPEG_VERSION into $PREFIX in $((el / 60))m$((el % 60))s (log: $LOG)"
}

lock() {
  mkdir -p "$CACHE_ROOT"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE_ROOT/ffmpeg-$FFMPEG_VERSION.lock"
    flock -n 9 || { say "another build of $PREFIX is running; waiting for it"; flock 9; }
  fi
}

ensure() {
  local sys
  if sys=$(system_ffmpeg); then
    say "using the system's $sys"
    return 0
  fi
  [ "$MODE" != system ] || die "GOLIVE_FFMPEG=system, but pkg-config finds ${sys:-no FFmpeg}, not FFmpeg 8 (libavcodec $WANT_AVCODEC_MAJOR) with every library go-astiav links ($FF_LIBS)"
  nvenc_plan
  if cache_ok; then say "using FFmpeg $FFMPEG_VERSION from $PREFIX"; return 0; fi
  lock
  if cache_ok; then say "using FFmpeg $FFMPEG_VERSION from $PREFIX"; return 0; fi   # built while we waited
  if [ -d "$PREFIX" ]; then
    # Nothing may link against it any more, even if the rebuild fails.
    say "$PREFIX is incomplete or configured differently; removing it and rebuilding"
    rm -rf "$PREFIX"
  fi
  [ "$MODE" = build ] && [ -n "$sys" ] && sys="GOLIVE_FFMPEG=build ($sys on the system)"
  say "${sys:-found no FFmpeg}; building $FFMPEG_VERSION into $PREFIX (log: $LOG)"
  build
}

case "${1:-ensure}" in
  ensure)    ensure ;;
  pcpath)    if ! system_ffmpeg >/dev/null; then echo "$PREFIX/lib/pkgconfig"; fi ;;
  prefix)    echo "$PREFIX" ;;
  configure) nvenc_plan; echo "./configure $(configure_args | tr '\n' ' ')" ;;
  *)         die "usage: $0 [ensure|pcpath|prefix|configure]" ;;
esac
