// GoLive block clock strip reader: the test pattern (golive stream
// --source test) carries its capture time (Unix ms) and frame number as
// blocks across the top eighth of the picture; this reads them off a
// playing <video> (or any image), so a page can measure glass-to-glass
// latency frame by frame. The Go side is capture/clockstrip.go: keep the
// two in step.
//
//   GoLiveClockStrip.read(video)          -> {unixMs, frame} or null
//   GoLiveClockStrip.decode(imageData, w, h) -> the same, from RGBA pixels
//   GoLiveClockStrip.watch(video, onFrame) -> stop(); onFrame({unixMs,
//       frame, shownMs, latencyMs}) for every presented frame whose strip
//       reads (shownMs: when it was presented, on Date.now()'s clock).
(function (root) {
  'use strict';

  var ROWS = 3, COLS = 32, ROW_DIV = 24;
  var MAGIC = 44, MAGIC_N = 6, MILLIS_N = 44, FRAME_N = 32, CRC_N = 8; // MAGIC = 0b101100
  var MIN_CONTRAST = 64;

  // cell returns block (row, col)'s rectangle in a w×h picture.
  function cell(w, h, row, col) {
    return [Math.floor(col * w / COLS), Math.floor(row * h / ROW_DIV),
      Math.floor((col + 1) * w / COLS), Math.floor((row + 1) * h / ROW_DIV)];
  }

  // mean is the mean luma (BT.601 weights) of the block's middle half.
  function mean(img, w, h, row, col) {
    var r = cell(w, h, row, col);
    var dx = Math.floor((r[2] - r[0]) / 4), dy = Math.floor((r[3] - r[1]) / 4);
    var x0 = r[0] + dx, x1 = r[2] - dx, y0 = r[1] + dy, y1 = r[3] - dy;
    var d = img.data, stride = img.width * 4, sum = 0, n = 0;
    for (var y = y0; y < y1 && y < img.height; y++) {
      for (var x = x0; x < x1; x++) {
        var i = y * stride + x * 4;
        sum += (77 * d[i] + 150 * d[i + 1] + 29 * d[i + 2]) >> 8;
        n++;
      }
    }
    return n ? Math.floor(sum / n) : 0;
  }

  // crc8 is CRC-8 (polynomial 0x07, initial 0) of bits packed MSB first.
  function crc8(bits, n) {
    var crc = 0;
    for (var i = 0; i < n; i += 8) {
      var by = 0;
      for (var k = 0; k < 8; k++) {
        if (i + k < n && bits[i + k]) { by |= 0x80 >> k; }
      }
      crc ^= by;
      for (var j = 0; j < 8; j++) {
        crc = (crc & 0x80) ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
      }
    }
    return crc;
  }

  // decode reads the strip from RGBA pixels whose top-left is the
  // picture's (img may hold only the strip's rows) of a w×h picture.
  function decode(img, w, h) {
    if (w < 2 * COLS || h < 2 * ROW_DIV) { return null; }
    var bits = [];
    for (var row = 0; row < ROWS; row++) {
      var white = mean(img, w, h, row, 0), black = mean(img, w, h, row, COLS - 1);
      if (white - black < MIN_CONTRAST) { return null; }
      var mid = Math.floor((white + black) / 2);
      for (var col = 1; col < COLS - 1; col++) {
        bits.push(mean(img, w, h, row, col) >= mid ? 1 : 0);
      }
    }
    var i = 0;
    function get(n) { // arithmetic, not bitwise: 44 bits exceed JS's 32-bit operators
      var v = 0;
      for (var k = 0; k < n; k++) { v = v * 2 + bits[i++]; }
      return v;
    }
    if (get(MAGIC_N) !== MAGIC) { return null; }
    var unixMs = get(MILLIS_N), frame = get(FRAME_N), sum = get(CRC_N);
    if (sum !== crc8(bits, MAGIC_N + MILLIS_N + FRAME_N)) { return null; }
    return { unixMs: unixMs, frame: frame };
  }

  var canvas = null, ctx = null;

  // read draws the strip rows of the video's current frame into a canvas
  // at the video's own size and decodes them.
  function read(video) {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { return null; }
    var sh = Math.min(h, Math.ceil(ROWS * h / ROW_DIV));
    if (!canvas) {
      canvas = document.createElement('canvas');
      ctx = canvas.getContext('2d', { willReadFrequently: true });
    }
    if (canvas.width !== w || canvas.height !== sh) { canvas.width = w; canvas.height = sh; }
    ctx.drawImage(video, 0, 0, w, sh, 0, 0, w, sh);
    return decode(ctx.getImageData(0, 0, w, sh), w, h);
  }

  // watch reads every presented frame (requestVideoFrameCallback where
  // the browser has it, else every animation frame) until stop is called.
  function watch(video, onFrame) {
    var stopped = false;
    function report(shownMs) {
      var c = read(video);
      if (c) {
        c.shownMs = shownMs;
        c.latencyMs = shownMs - c.unixMs;
        onFrame(c);
      }
    }
    if (video.requestVideoFrameCallback) {
      var onVideoFrame = function (now, meta) {
        if (stopped) { return; }
        // expectedDisplayTime is on performance.now()'s clock.
        report(performance.timeOrigin + (meta && meta.expectedDisplayTime ? meta.expectedDisplayTime : now));
        video.requestVideoFrameCallback(onVideoFrame);
      };
      video.requestVideoFrameCallback(onVideoFrame);
    } else {
      var onAnim = function () {
        if (stopped) { return; }
        report(Date.now());
        root.requestAnimationFrame(onAnim);
      };
      root.requestAnimationFrame(onAnim);
    }
    return function stop() { stopped = true; };
  }

  root.GoLiveClockStrip = { decode: decode, read: read, watch: watch };
})(window);
