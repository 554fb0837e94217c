// GoLive player: hls.js in low-latency mode over /hls/index.m3u8, a quality
// menu, a live indicator and a latency readout. The page follows the
// stream: when the broadcaster stops it shows "offline", when they return
// it starts again by itself. Its state is mirrored into #player-state (JSON)
// for tests and curious viewers.
(function () {
  'use strict';

  var SRC = '/hls/index.m3u8';
  var video = document.getElementById('video');
  var liveBadge = document.getElementById('live');
  var offline = document.getElementById('offline');
  var quality = document.getElementById('quality');
  var latencyEl = document.getElementById('latency');
  var levelEl = document.getElementById('level');
  var viewersEl = document.getElementById('viewers');
  var stateEl = document.getElementById('player-state');

  var hls = null;
  var live = false;
  var attached = false;
  var ended = false;
  var errors = [];
  var starts = 0;

  function setText(el, text) { if (el.textContent !== text) { el.textContent = text; } }

  function setLive(on) {
    live = on;
    setText(liveBadge, on ? 'LIVE' : 'OFFLINE');
    liveBadge.className = 'badge ' + (on ? 'live-badge' : 'offline-badge');
    offline.hidden = on || (attached && !ended);
  }

  function levelName(l) {
    var kbps = Math.round((l.bitrate || 0) / 1000);
    return (l.height ? l.height + 'p' : 'level') + (kbps ? ' · ' + kbps + ' kbit/s' : '');
  }

  function fillQuality() {
    while (quality.options.length > 1) { quality.remove(1); }
    if (!hls) { return; }
    hls.levels.forEach(function (l, i) {
      var o = document.createElement('option');
      o.value = String(i);
      o.textContent = levelName(l);
      quality.appendChild(o);
    });
    quality.value = String(hls.autoLevelEnabled ? -1 : hls.currentLevel);
  }

  quality.addEventListener('change', function () {
    if (!hls) { return; }
    var v = parseInt(quality.value, 10);
    hls.currentLevel = v; // -1 is auto
  });

  function destroy() {
    if (hls) { hls.destroy(); hls = null; }
    attached = false;
  }

  function start() {
    destroy();
    ended = false;
    starts++;
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({
        lowLatencyMode: true,
        backBufferLength: 30,
        maxLiveSyncPlaybackRate: 1.5,
        manifestLoadingMaxRetry: 6,
        levelLoadingMaxRetry: 6
      });
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
        fillQuality();
        var p = video.play();
        if (p && p.catch) { p.catch(function () { /* autoplay refused: controls remain */ }); }
      });
      hls.on(window.Hls.Events.LEVEL_SWITCHED, function (_, data) {
        var l = hls.levels[data.level];
        setText(levelEl, l ? levelName(l) : '–');
      });
      hls.on(window.Hls.Events.ERROR, function (_, data) {
        if (!data.fatal) { return; }
        errors.push(data.type + ': ' + data.details);
        if (errors.length > 20) { errors.shift(); }
        if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        } else {
          destroy(); // the status poll starts again when the stream is live
        }
      });
      hls.loadSource(SRC);
      hls.attachMedia(video);
      attached = true;
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = SRC; // Safari: native (LL-)HLS
      video.play().catch(function () {});
      attached = true;
    }
    setLive(live);
  }

  video.addEventListener('ended', function () { ended = true; setLive(live); });

  function poll() {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', '/api/status');
    xhr.timeout = 5000;
    xhr.onload = function () {
      var st = null;
      try { st = JSON.parse(xhr.responseText); } catch (e) { st = null; }
      if (!st) { return; }
      var was = live;
      setLive(!!st.live);
      setText(viewersEl, String(st.viewers || 0));
      if (st.live && (!attached || ended || !was)) {
        start();
      }
    };
    xhr.send();
  }

  function tick() {
    var lat = hls && typeof hls.latency === 'number' && isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null;
    setText(latencyEl, lat === null ? '–' : lat.toFixed(2) + ' s');
    stateEl.textContent = JSON.stringify({
      live: live,
      attached: attached,
      currentTime: video.currentTime,
      paused: video.paused,
      latency: lat,
      level: hls ? hls.currentLevel : -1,
      levels: hls ? hls.levels.map(function (l) { return l.height; }) : [],
      errors: errors,
      starts: starts
    });
  }

  setLive(false);
  poll();
  setInterval(poll, 2000);
  setInterval(tick, 250);
})();
