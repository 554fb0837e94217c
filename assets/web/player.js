// GoLive player: WebRTC (WHEP, webrtc.js) first, LL-HLS (hls.js over
// /hls/index.m3u8) when WebRTC fails, is blocked, or the browser cannot
// receive H.264 over WebRTC; the viewer can choose either. A quality menu
// (in both modes), a live indicator and a mode + latency readout
// ("WebRTC · 0.3 s", "LL-HLS · 1.4 s"). The page follows the stream: when
// the broadcaster stops it shows "offline", when they return it starts
// again by itself. ?via=hls (webrtc, dash, auto) chooses the mode in the
// URL. DASH (dash.js over /dash/manifest.mpd, the same segments) plays
// where neither hls.js nor native HLS can, or when chosen. Its state is
// mirrored into #player-state (JSON) for tests and curious viewers.
(function () {
  'use strict';

  var SRC = '/hls/index.m3u8';
  var DASH_SRC = '/dash/manifest.mpd';
  var video = document.getElementById('video');
  var liveBadge = document.getElementById('live');
  var offline = document.getElementById('offline');
  var quality = document.getElementById('quality');
  var modeSel = document.getElementById('mode');
  var latencyEl = document.getElementById('latency');
  var levelEl = document.getElementById('level');
  var viewersEl = document.getElementById('viewers');
  var stateEl = document.getElementById('player-state');

  var hls = null;
  var dash = null;        // the dash.js player, in DASH mode
  var whep = null;        // the WebRTC session, in WebRTC mode
  var mode = '';          // 'webrtc', 'hls' or 'dash' once started
  var pref = 'auto';      // the viewer's choice: auto (WebRTC first), webrtc, hls, dash
  var fallback = '';      // why WebRTC was not used, when it was not
  var rtcRung = '';       // the rung asked for over WebRTC ('' = auto)
  var rungs = [];         // the stream's rungs, from /api/status
  var rtcStats = null;
  var live = false;
  var liveSeconds = 0;   // the stream's age at the last poll
  var attached = false;
  var ended = false;
  var errors = [];
  var starts = 0;

  try { pref = window.localStorage.getItem('golive.player.mode') || 'auto'; } catch (e) { /* no storage */ }
  var via = new URLSearchParams(location.search).get('via'); // ?via=hls|webrtc|auto overrides the stored choice
  if (via) { pref = via; }
  if (['auto', 'webrtc', 'hls', 'dash'].indexOf(pref) < 0) { pref = 'auto'; }
  if (modeSel) { modeSel.value = pref; }

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

  function option(value, text) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    quality.appendChild(o);
  }

  function dashLevels() {
    if (!dash) { return []; }
    try { return dash.getRepresentationsByType('video') || []; } catch (e) { return []; }
  }

  // fillQuality lists hls.js's levels (LL-HLS), dash.js's representations
  // (DASH) or the server's rungs (WebRTC).
  function fillQuality() {
    while (quality.options.length > 1) { quality.remove(1); }
    if (mode === 'dash') {
      dashLevels().forEach(function (r, i) { option(String(i), levelName({ height: r.height, bitrate: r.bandwidth })); });
      return;
    }
    if (mode === 'webrtc') {
      rungs.forEach(function (r) { option('rung:' + r.name, levelName({ height: r.height, bitrate: r.bitrate })); });
      quality.value = rtcRung ? 'rung:' + rtcRung : '-1';
      return;
    }
    if (!hls) { return; }
    hls.levels.forEach(function (l, i) { option(String(i), levelName(l)); });
    quality.value = String(hls.autoLevelEnabled ? -1 : hls.currentLevel);
  }

  quality.addEventListener('change', function () {
    if (mode === 'webrtc') {
      rtcRung = quality.value.indexOf('rung:') === 0 ? quality.value.slice(5) : '';
      startWebRTC(); // a new session on the rung chosen
      return;
    }
    if (mode === 'dash' && dash) {
      var i = parseInt(quality.value, 10);
      dash.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: i < 0 } } } });
      if (i >= 0) { dash.setRepresentationForTypeByIndex('video', i, true); }
      return;
    }
    if (!hls) { return; }
    hls.currentLevel = parseInt(quality.value, 10); // -1 is auto
  });

  if (modeSel) {
    modeSel.addEventListener('change', function () {
      pref = modeSel.value;
      try { window.localStorage.setItem('golive.player.mode', pref); } catch (e) { /* no storage */ }
      fallback = '';
      if (live) { start(); }
    });
  }

  function destroy() {
    if (hls) { hls.destroy(); hls = null; }
    if (whep) { whep.stop(); whep = null; }
    if (dash) { dash.destroy(); dash = null; }
    rtcStats = null;
    attached = false;
  }

  function start() {
    ended = false;
    starts++;
    if (pref === 'dash' && dashAvailable()) {
      startDASH();
      return;
    }
    if (pref !== 'hls' && pref !== 'dash') {
      if (window.GoLiveWHEP && window.GoLiveWHEP.supported()) {
        startWebRTC();
        return;
      }
      fallback = 'this browser cannot receive H.264 over WebRTC';
    }
    startHLS();
  }

  function startWebRTC() {
    destroy();
    mode = 'webrtc';
    var s = new window.GoLiveWHEP.Session(video, rtcRung, {
      playing: function () {
        if (whep !== s) { return; }
        fallback = '';
        setLive(live);
      },
      failed: function (reason) {
        if (whep !== s) { return; }
        whep = null;
        fallback = 'WebRTC: ' + reason;
        errors.push(fallback);
        if (errors.length > 20) { errors.shift(); }
        startHLS(); // the fallback, by itself
      }
    });
    whep = s;
    attached = true;
    fillQuality();
    s.start();
    setLive(live);
  }

  function startHLS() {
    destroy();
    mode = 'hls';
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
    } else if (dashAvailable()) {
      startDASH(); // no HLS here: the same segments over DASH
      return;
    }
    fillQuality();
    setLive(live);
  }

  function dashAvailable() {
    return !!(window.dashjs && window.dashjs.MediaPlayer && (window.MediaSource || window.ManagedMediaSource));
  }

  function startDASH() {
    destroy();
    mode = 'dash';
    var d = window.dashjs.MediaPlayer().create();
    d.updateSettings({ streaming: { delay: { useSuggestedPresentationDelay: true } } });
    d.on(window.dashjs.MediaPlayer.events.STREAM_INITIALIZED, function () {
      if (dash !== d) { return; }
      fillQuality();
      var p = video.play();
      if (p && p.catch) { p.catch(function () { /* autoplay refused: controls remain */ }); }
    });
    d.on(window.dashjs.MediaPlayer.events.QUALITY_CHANGE_RENDERED, function (e) {
      if (dash !== d || e.mediaType !== 'video' || !e.newRepresentation) { return; }
      setText(levelEl, levelName({ height: e.newRepresentation.height, bitrate: e.newRepresentation.bandwidth }));
    });
    d.on(window.dashjs.MediaPlayer.events.ERROR, function (e) {
      var err = e && e.error ? e.error : e;
      errors.push('dash: ' + (err && (err.message || err.code) || 'error'));
      if (errors.length > 20) { errors.shift(); }
    });
    dash = d;
    d.initialize(video, DASH_SRC, true);
    attached = true;
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
      var restarted = st.live && st.live_seconds < liveSeconds; // a new stream since the last poll
      liveSeconds = st.live ? st.live_seconds : 0;
      if (!st.live && mode === 'webrtc' && attached) { ended = true; } // a WebRTC picture just stops
      setLive(!!st.live);
      var n = (st.viewers || 0) + (st.webrtc && st.webrtc.viewers ? st.webrtc.viewers.length : 0);
      setText(viewersEl, String(n));
      var names = (st.rungs || []).map(function (r) { return r.name; }).join(',');
      if (names !== rungs.map(function (r) { return r.name; }).join(',')) {
        rungs = st.rungs || [];
        if (mode === 'webrtc') { fillQuality(); }
      }
      if (st.live && (!attached || ended || !was || (restarted && mode === 'webrtc'))) {
        start();
      }
    };
    xhr.send();
  }

  function latency() {
    if (mode === 'webrtc') { return rtcStats && rtcStats.latency !== null ? rtcStats.latency : null; }
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
    if (whep) {
      var s = whep;
      s.stats().then(function (st) { if (whep === s) { rtcStats = st; } });
    }
    var lat = latency();
    var label = { webrtc: 'WebRTC', hls: 'LL-HLS', dash: 'DASH' }[mode] || '';
    setText(latencyEl, label ? label + ' · ' + (lat === null ? '–' : lat.toFixed(1) + ' s') : '–');
    if (mode === 'webrtc' && video.videoHeight) { setText(levelEl, video.videoHeight + 'p'); }
    stateEl.textContent = JSON.stringify({
      live: live,
      attached: attached,
      mode: mode,
      pref: pref,
      fallback: fallback,
      currentTime: video.currentTime,
      paused: video.paused,
      latency: lat,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      level: hls ? hls.currentLevel : -1,
      levels: levelHeights(),
      rung: rtcRung,
      webrtc: rtcStats,
      errors: errors,
      starts: starts
    });
  }

  setLive(false);
  poll();
  setInterval(poll, 2000);
  setInterval(tick, 250);
})();
