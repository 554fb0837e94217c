// GoLive WebRTC playback (WHEP) for the player page: window.GoLiveWHEP.
//
// GoLiveWHEP.supported() tells whether this browser receives H.264
// (packetization-mode 1) over WebRTC, which is what the server sends.
// new GoLiveWHEP.Session(video, rung, handlers) offers recvonly video and
// audio to /whep (?rung=NAME when rung is set), plays what comes in video,
// and calls handlers.playing() at the first frame or handlers.failed(reason)
// when the offer is refused, ICE never connects, no picture comes, or the
// connection fails later. stop() ends the session (DELETE). stats()
// resolves to what the page shows and mirrors for tests.
(function () {
  'use strict';

  var CONNECT_TIMEOUT = 5000;   // ms for ICE+DTLS to come up
  var PICTURE_TIMEOUT = 12000;  // ms for the first picture once connected (a long GOP)

  function supported() {
    if (!window.RTCPeerConnection || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) { return false; }
    var caps = RTCRtpReceiver.getCapabilities('video');
    return !!(caps && caps.codecs && caps.codecs.some(function (c) {
      return /^video\/h264$/i.test(c.mimeType) && /packetization-mode=1/.test(c.sdpFmtpLine || '');
    }));
  }

  function Session(video, rung, handlers) {
    this.video = video;
    this.rung = rung || '';
    this.handlers = handlers || {};
    this.pc = null;
    this.location = '';
    this.done = false;
    this.playing = false;
    this.timers = [];
  }

  Session.prototype.fail = function (reason) {
    if (this.done) { return; }
    this.stop();
    if (this.handlers.failed) { this.handlers.failed(reason); }
  };

  Session.prototype.later = function (ms, fn) {
    this.timers.push(setTimeout(fn, ms));
  };

  Session.prototype.start = function () {
    var self = this;
    var pc;
    try {
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    } catch (e) {
      self.fail('RTCPeerConnection: ' + e.message);
      return;
    }
    self.pc = pc;
    var stream = new MediaStream();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = function (e) {
      stream.addTrack(e.track);
      if (self.video.srcObject !== stream) { self.video.srcObject = stream; }
      var p = self.video.play();
      if (p && p.catch) { p.catch(function () { /* autoplay refused: controls remain */ }); }
    };
    pc.onconnectionstatechange = function () {
      if (pc.connectionState === 'failed') { self.fail('connection failed'); }
      if (pc.connectionState === 'connected') {
        self.later(PICTURE_TIMEOUT, function () { if (!self.playing) { self.fail('no picture'); } });
      }
    };
    self.later(CONNECT_TIMEOUT, function () {
      if (!self.done && pc.connectionState !== 'connected') { self.fail('ICE did not connect (UDP blocked?)'); }
    });
    self.watchFrames();
    pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer).then(function () { return offer; });
    }).then(function (offer) {
      // The offer goes at once, without waiting for candidates: the server
      // learns the browser's address from its connectivity checks.
      return fetch('/whep' + (self.rung ? '?rung=' + encodeURIComponent(self.rung) : ''), {
        method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp
      });
    }).then(function (resp) {
      if (resp.status !== 201) {
        return resp.text().then(function (t) { throw new Error('WHEP ' + resp.status + ': ' + t.trim()); });
      }
      self.location = resp.headers.get('Location') || '';
      return resp.text();
    }).then(function (answer) {
      if (self.done) { return; }
      return pc.setRemoteDescription({ type: 'answer', sdp: answer });
    }).catch(function (e) {
      self.fail(e && e.message ? e.message : String(e));
    });
  };

  // watchFrames calls handlers.playing at the first decoded picture.
  Session.prototype.watchFrames = function () {
    var self = this;
    var v = self.video;
    function first() {
      if (self.done || self.playing) { return; }
      self.playing = true;
      if (self.handlers.playing) { self.handlers.playing(); }
    }
    if (v.requestVideoFrameCallback) {
      v.requestVideoFrameCallback(function () { first(); });
    } else {
      v.addEventListener('loadeddata', first, { once: true });
    }
  };

  Session.prototype.stop = function () {
    if (this.done) { return; }
    this.done = true;
    this.timers.forEach(clearTimeout);
    var pc = this.pc;
    if (this.video.srcObject) { this.video.srcObject = null; }
    if (!pc) { return; }
    if (!this.location) {
      pc.close();
      return;
    }
    // DELETE first: closing first would end the session from the
    // browser's side before the DELETE arrives.
    var closed = false;
    function close() { if (!closed) { closed = true; pc.close(); } }
    fetch(this.location, { method: 'DELETE', keepalive: true }).then(close, close);
    setTimeout(close, 2000);
  };

  // stats resolves to the inbound video and audio, and an estimate of the
  // latency the browser adds (jitter buffer, decode, half the round trip).
  Session.prototype.stats = function () {
    var pc = this.pc;
    if (!pc || this.done) { return Promise.resolve(null); }
    return pc.getStats().then(function (report) {
      var out = { framesDecoded: 0, audioPackets: 0, audioSamples: 0, audioEnergy: 0, latency: null, rtt: null };
      var jb = null, dec = null;
      report.forEach(function (s) {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          out.framesDecoded = s.framesDecoded || 0;
          out.packetsLost = s.packetsLost || 0;
          out.nacks = s.nackCount || 0;
          out.plis = s.pliCount || 0;
          if (s.jitterBufferEmittedCount) { jb = s.jitterBufferDelay / s.jitterBufferEmittedCount; }
          if (s.framesDecoded) { dec = (s.totalDecodeTime || 0) / s.framesDecoded; }
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          out.audioPackets = s.packetsReceived || 0;
          out.audioSamples = s.totalSamplesReceived || 0;
          out.audioEnergy = s.totalAudioEnergy || 0;
        } else if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) {
          out.rtt = s.currentRoundTripTime;
        }
      });
      if (jb !== null) { out.latency = jb + (dec || 0) + (out.rtt || 0) / 2; }
      return out;
    });
  };

  window.GoLiveWHEP = { supported: supported, Session: Session };
})();
