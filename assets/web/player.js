// GoLive player: hls.js in low-latency mode over /hls/index.m3u8 (native
// HLS in Safari; dash.js over /dash/manifest.mpd where HLS is unavailable,
// or with ?player=dash), a quality menu, a live indicator and a latency
// readout. The page follows the
// stream: when the broadcaster stops it shows "offline", when they return
// it starts again by itself. Its state is mirrored into #player-state (JSON)
// for tests and curious viewers.
(function () {
  'use strict';

  var SRC = '/hls/index.m3u8';
  var DASH_SRC = '/dash/manifest.mpd';
  var forceDash = /(?:^|[?&])player=dash(?:&|$)/.test(window.location.search);
  var video = document.getElementById('video');
  var liveBadge = document.getElementById('live');
  var offline = document.getElementById('offline');
  var quality = document.getElementById('quality');
  var latencyEl = document.getElementById('latency');
  var levelEl = document.getElementById('level');
  var viewersEl = document.getElementById('viewers');
  var stateEl = document.getElementById('player-state');

  var hls = null;
  var dash = null;
  var tech = '';
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

  function dashLevels() {
    if (!dash) { return []; }
    try { return dash.getRepresentationsByType('video') || []; } catch (e) { return []; }
  }

  function fillQuality() {
    while (quality.options.length > 1) { quality.remove(1); }
    if (dash) {
      dashLevels().forEach(function (r, i) {
        var o = document.createElement('option');
        o.value = String(i);
        o.textContent = levelName({ height: r.height, bitrate: r.bandwidth });
        quality.appendChild(o);
      });
      return;
    }
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
    if (dash) {
      var i = parseInt(quality.value, 10);
      dash.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: i < 0 } } } });
      if (i >= 0) { dash.setRepresentationForTypeByIndex('video', i, true); }
      return;
    }
    if (!hls) { return; }
    var v = parseInt(quality.value, 10);
    hls.currentLevel = v; // -1 is auto
  });

  function destroy() {
    if (hls) { hls.destroy(); hls = null; }
    if (dash) { dash.destroy(); dash = null; }
    attached = false;
    tech = '';
  }

  function startDash() {
    dash = window.dashjs.MediaPlayer().create();
    dash.updateSettings({ streaming: { delay: { useSuggestedPresentationDelay: true } } });
    dash.on(window.dashjs.MediaPlayer.events.STREAM_INITIALIZED, function () {
      fillQuality();
      var p = video.play();
      if (p && p.catch) { p.catch(function () { /* autoplay refused: controls remain */ }); }
    });
    dash.on(window.dashjs.MediaPlayer.events.QUALITY_CHANGE_RENDERED, function (e) {
      if (e.mediaType !== 'video' || !e.newRepresentation) { return; }
      setText(levelEl, levelName({ height: e.newRepresentation.height, bitrate: e.newRepresentation.bandwidth }));
    });
    dash.on(window.dashjs.MediaPlayer.events.ERROR, function (e) {
      var err = e && e.error ? e.error : e;
      errors.push('dash: ' + (err && (err.message || err.code) || 'error'));
      if (errors.length > 20) { errors.shift(); }
    });
    dash.initialize(video, DASH_SRC, true);
    tech = 'dash';
    attached = true;
  }

  function hlsAvailable() {
    return !!(window.Hls && window.Hls.isSupported()) || !!video.canPlayType('application/vnd.apple.mpegurl');
  }

  function dashAvailable() {
    return !!(window.dashjs && window.dashjs.MediaPlayer && (window.MediaSource || window.ManagedMediaSource));
  }

  function start() {
    destroy();
    ended = false;
    starts++;
    if ((forceDash || !hlsAvailable()) && dashAvailable()) {
      startDash();
    } else if (window.Hls && window.Hls.isSupported()) {
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
      tech = 'hls.js';
      attached = true;
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = SRC; // Safari: native (LL-)HLS
      video.play().catch(function () {});
      tech = 'native-hls';
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

  function latency() {
    var l = null;
    if (hls) { l = hls.latency; }
    if (dash) { try { l = dash.getCurrentLiveLatency(); } catch (e) { l = null; } }
    return typeof l === 'number' && isFinite(l) && l > 0 ? l : null;
  }

  function levelHeights() {
    if (hls) { return hls.levels.map(function (l) { return l.height; }); }
    return dashLevels().map(function (r) { return r.height; }).sort(function (a, b) { return a - b; });
  }

  function tick() {
    var lat = latency();
    setText(latencyEl, lat === null ? '–' : lat.toFixed(2) + ' s');
    stateEl.textContent = JSON.stringify({
      live: live,
      attached: attached,
      currentTime: video.currentTime,
      paused: video.paused,
      latency: lat,
      level: hls ? hls.currentLevel : -1,
      levels: levelHeights(),
      tech: tech,
      errors: errors,
      starts: starts
    });
  }

  setLive(false);
  poll();
  setInterval(poll, 2000);
  setInterval(tick, 250);
})();
