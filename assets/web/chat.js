// GoLive chat panel and overlay. Self-contained, no dependencies.
//
// Player page: <div id="chat"></div> (the panel) and <div id="reactions"></div>
// (floating reactions over the video). Overlay page: <body class="golive-overlay">
// with the same two elements; options ?n=8 (messages kept) and ?fade=20 (seconds
// before a message fades; 0 keeps them).
//
// Moderators open the player page as /?token=MODERATOR_TOKEN once: the server
// moves the token into an HttpOnly cookie and drops it from the address, and the
// chat then connects as a moderator (delete, time out, ban on each message; slow
// mode and the blocked-words list in the moderation bar).
//
// Every piece of user text is rendered with textContent; this file never builds
// HTML from strings.
(function () {
  'use strict';

  var REACTIONS = ['❤️', '🔥', '👏', '😂', '😮', '🎉'];
  var MAX_TEXT = 500;
  var MAX_NAME = 32;

  var root = document.getElementById('chat');
  if (!root) { return; }
  var floatLayer = document.getElementById('reactions') || root;
  var params = new URLSearchParams(location.search);
  var overlay = document.body.classList.contains('golive-overlay') || root.getAttribute('data-mode') === 'overlay';
  var token = params.get('token') || '';
  if (token && window.history && history.replaceState) {
    // Normally the server already moved the token into a cookie and redirected;
    // served without that, keep it in memory only, out of the address bar.
    params.delete('token');
    var rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }
  var keep = overlay ? Math.max(1, parseInt(params.get('n') || '8', 10) || 8) : 200;
  var fadeSeconds = overlay ? Math.max(0, parseFloat(params.get('fade') || '20') || 0) : 0;

  function store(key, value) {
    try {
      if (value === undefined) { return window.localStorage.getItem(key); }
      window.localStorage.setItem(key, value);
    } catch (e) { /* storage disabled: keep it in memory only */ }
    return value;
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var s = '';
    for (var i = 0; i < bytes.length; i++) { s += ('0' + bytes[i].toString(16)).slice(-2); }
    return s;
  }

  var clientId = store('golive.chat.id');
  if (!clientId || !/^[A-Za-z0-9_-]{8,64}$/.test(clientId)) { clientId = store('golive.chat.id', randomId()); }
  var name = overlay ? '' : (store('golive.chat.name') || '');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // ---- DOM ----
  root.classList.add('chat-root');
  if (overlay) { root.classList.add('chat-overlay'); }
  var header = el('div', 'chat-header');
  var title = el('span', 'chat-title', 'Chat');
  var slowNote = el('span', 'chat-slow', '');
  var viewers = el('span', 'chat-viewers', '');
  header.appendChild(title);
  header.appendChild(slowNote);
  header.appendChild(viewers);
  var list = el('ol', 'chat-list');
  list.setAttribute('aria-live', 'polite');
  var status = el('div', 'chat-status', '');
  var nameForm = el('form', 'chat-name-form');
  var nameInput = el('input', 'chat-name-input');
  nameInput.type = 'text';
  nameInput.maxLength = MAX_NAME;
  nameInput.placeholder = 'Pick a name to chat';
  nameInput.autocomplete = 'nickname';
  var nameButton = el('button', 'chat-button', 'Join');
  nameButton.type = 'submit';
  nameForm.appendChild(nameInput);
  nameForm.appendChild(nameButton);
  var msgForm = el('form', 'chat-form');
  var msgInput = el('input', 'chat-input');
  msgInput.type = 'text';
  msgInput.maxLength = MAX_TEXT;
  msgInput.placeholder = 'Say something…';
  msgInput.autocomplete = 'off';
  var sendButton = el('button', 'chat-button', 'Send');
  sendButton.type = 'submit';
  msgForm.appendChild(msgInput);
  msgForm.appendChild(sendButton);
  var bar = el('div', 'chat-reactions-bar');
  REACTIONS.forEach(function (emoji) {
    var b = el('button', 'chat-reaction-button', emoji);
    b.type = 'button';
    b.title = 'React ' + emoji;
    b.addEventListener('click', function () { send({ type: 'reaction', emoji: emoji }); });
    bar.appendChild(b);
  });

  // Moderation bar: slow mode and the blocked-words list (moderators only).
  var modbar = el('div', 'chat-modbar');
  var slowLabel = el('label', 'chat-modbar-item', 'Slow mode ');
  var slowSelect = el('select', 'chat-slow-select');
  [[0, 'off'], [5, '5 s'], [10, '10 s'], [30, '30 s'], [60, '1 min'], [120, '2 min'], [300, '5 min']].forEach(function (o) {
    var opt = el('option', '', o[1]);
    opt.value = String(o[0]);
    slowSelect.appendChild(opt);
  });
  slowSelect.addEventListener('change', function () { send({ type: 'slow', seconds: parseInt(slowSelect.value, 10) || 0 }); });
  slowLabel.appendChild(slowSelect);
  var wordsBox = el('details', 'chat-modbar-item chat-words');
  var wordsSummary = el('summary', '', 'Blocked words');
  var wordsInput = el('textarea', 'chat-words-input');
  wordsInput.rows = 4;
  wordsInput.placeholder = 'one per line; word* blocks words starting with it';
  var wordsSave = el('button', 'chat-button', 'Save');
  wordsSave.type = 'button';
  wordsSave.addEventListener('click', function () {
    var list = wordsInput.value.split('\n').map(function (w) { return w.trim(); }).filter(function (w) { return w; });
    if (send({ type: 'words', words: list })) { setStatus('Blocked words saved.'); }
  });
  wordsBox.appendChild(wordsSummary);
  wordsBox.appendChild(wordsInput);
  wordsBox.appendChild(wordsSave);
  modbar.appendChild(slowLabel);
  modbar.appendChild(wordsBox);
  modbar.style.display = 'none';

  if (!overlay) { root.appendChild(header); root.appendChild(modbar); }
  root.appendChild(list);
  if (!overlay) {
    root.appendChild(status);
    root.appendChild(bar);
    root.appendChild(nameForm);
    root.appendChild(msgForm);
  }

  var me = null;
  var moderator = false;
  var slowSeconds = 0;
  var ws = null;
  var retry = 0;
  var banned = false;
  var statusTimer = 0;

  function showForms() {
    if (overlay) { return; }
    nameForm.style.display = name ? 'none' : '';
    msgForm.style.display = name ? '' : 'none';
  }
  showForms();

  function setStatus(text, sticky) {
    status.textContent = text;
    clearTimeout(statusTimer);
    if (text && !sticky) { statusTimer = setTimeout(function () { status.textContent = ''; }, 5000); }
  }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(obj)); return true; }
    setStatus('Not connected');
    return false;
  }

  function hello() {
    var h = { type: 'hello', id: clientId };
    if (name) { h.name = name; }
    send(h);
  }

  function trim() {
    while (list.children.length > keep) { list.removeChild(list.firstChild); }
  }

  function renderMessage(m) {
    var user = m.user || {};
    var li = el('li', 'chat-message');
    li.setAttribute('data-id', String(m.id));
    if (user.mod) { li.classList.add('chat-mod'); }
    if (me && user.id === me.id) { li.classList.add('chat-mine'); }
    if (user.mod) {
      var creator = user.id === 'creator';
      var badge = el('span', 'chat-badge' + (creator ? ' chat-badge-creator' : ''), creator ? 'CREATOR' : 'MOD');
      badge.title = creator ? 'The creator' : 'Moderator';
      li.appendChild(badge);
    }
    var who = el('span', 'chat-name', user.name || 'anonymous');
    var text = el('span', 'chat-text', m.text);
    li.appendChild(who);
    li.appendChild(text);
    if (!overlay && m.ts) {
      var d = new Date(m.ts);
      li.title = d.toLocaleTimeString();
    }
    if (!overlay && moderator && !user.mod) {
      var tools = el('span', 'chat-tools');
      var del = el('button', 'chat-tool chat-delete', '✕');
      del.type = 'button';
      del.title = 'Delete message';
      del.addEventListener('click', function () { send({ type: 'delete', id: m.id }); });
      var ban = el('button', 'chat-tool chat-ban', '⛔');
      ban.type = 'button';
      ban.title = 'Ban ' + (user.name || 'user');
      ban.addEventListener('click', function () {
        if (ban.classList.contains('chat-armed')) { send({ type: 'ban', user: user.id }); return; }
        ban.classList.add('chat-armed');
        ban.textContent = 'Ban?';
        setTimeout(function () { ban.classList.remove('chat-armed'); ban.textContent = '⛔'; }, 3000);
      });
      var mute = el('button', 'chat-tool chat-timeout', '⏱');
      mute.type = 'button';
      mute.title = 'Time out ' + (user.name || 'user') + ' for 10 minutes';
      mute.addEventListener('click', function () {
        if (send({ type: 'timeout', user: user.id, seconds: 600 })) { setStatus((user.name || 'User') + ' is timed out for 10 minutes.'); }
      });
      tools.appendChild(del);
      tools.appendChild(mute);
      tools.appendChild(ban);
      li.appendChild(tools);
    }
    if (fadeSeconds > 0) {
      var age = m.ts ? Math.max(0, (Date.now() - m.ts) / 1000) : 0;
      li.style.animationDelay = Math.max(0, fadeSeconds - age) + 's';
      li.classList.add('chat-fading');
      li.addEventListener('animationend', function () { if (li.parentNode) { li.parentNode.removeChild(li); } });
    }
    return li;
  }

  function addMessage(m) {
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(renderMessage(m));
    trim();
    if (atBottom || overlay) { list.scrollTop = list.scrollHeight; }
  }

  function showSlow(seconds) {
    slowSeconds = Math.max(0, Number(seconds) || 0);
    slowNote.textContent = slowSeconds ? '🐢 ' + slowSeconds + ' s' : '';
    slowNote.title = slowSeconds ? 'Slow mode: one message every ' + slowSeconds + ' seconds' : '';
    var v = String(slowSeconds);
    var known = Array.prototype.some.call(slowSelect.options, function (o) { return o.value === v; });
    if (!known) {
      var opt = el('option', '', slowSeconds + ' s');
      opt.value = v;
      slowSelect.appendChild(opt);
    }
    slowSelect.value = v;
  }

  function showWords(words) {
    if (document.activeElement !== wordsInput) { wordsInput.value = (words || []).join('\n'); }
  }

  function floatReaction(emoji) {
    if (REACTIONS.indexOf(emoji) < 0) { return; }
    var f = el('span', 'chat-float', emoji);
    f.style.left = (5 + Math.random() * 85) + '%';
    f.style.animationDuration = (2.5 + Math.random() * 1.5) + 's';
    floatLayer.appendChild(f);
    var gone = function () { if (f.parentNode) { f.parentNode.removeChild(f); } };
    f.addEventListener('animationend', gone);
    setTimeout(gone, 5000);
    while (floatLayer.querySelectorAll('.chat-float').length > 40) {
      var first = floatLayer.querySelector('.chat-float');
      first.parentNode.removeChild(first);
    }
  }

  function handle(m) {
    switch (m.type) {
      case 'welcome':
        me = m.user || null;
        moderator = !!m.moderator;
        while (list.firstChild) { list.removeChild(list.firstChild); }
        (m.history || []).forEach(function (h) {
          // The overlay shows only what is still fresh, so a reconnect does not replay old chat.
          if (overlay && fadeSeconds > 0 && h.ts && Date.now() - h.ts > fadeSeconds * 1000) { return; }
          addMessage(h);
        });
        root.classList.toggle('chat-is-mod', moderator);
        modbar.style.display = moderator && !overlay ? '' : 'none';
        showSlow(m.slow);
        if (moderator) { showWords(m.words); }
        if (!overlay && name && me && me.name) { setStatus(''); }
        break;
      case 'slow':
        showSlow(m.seconds);
        if (!overlay && !moderator) {
          setStatus(slowSeconds ? 'Slow mode is on: one message every ' + slowSeconds + ' s.' : 'Slow mode is off.');
        }
        break;
      case 'words':
        showWords(m.words);
        break;
      case 'message':
        addMessage(m);
        break;
      case 'deleted':
        Array.prototype.forEach.call(list.querySelectorAll('li[data-id]'), function (li) {
          if (li.getAttribute('data-id') === String(m.id)) { list.removeChild(li); }
        });
        break;
      case 'reaction':
        floatReaction(m.emoji);
        break;
      case 'viewers':
        viewers.textContent = '👁 ' + Number(m.count);
        break;
      case 'error':
        if (m.code === 'banned') { banned = true; setStatus('You are banned from this chat.', true); break; }
        if (m.code === 'rate_limited') { setStatus('Slow down a little.'); break; }
        if (m.code === 'too_long') { setStatus('Too long (' + MAX_TEXT + ' characters max).'); break; }
        if (m.code === 'name_taken') {
          name = '';
          store('golive.chat.name', '');
          showForms();
          setStatus('That name belongs to the creator or a moderator. Pick another.', true);
          break;
        }
        if (m.code === 'timed_out' || m.code === 'slow_mode' || m.code === 'blocked') { setStatus(m.message || m.code, m.code === 'timed_out'); break; }
        setStatus(m.message || m.code);
        break;
    }
  }

  function connect() {
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat/ws';
    if (token) { url += '?token=' + encodeURIComponent(token); }
    ws = new WebSocket(url);
    ws.onopen = function () { retry = 0; hello(); };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m && typeof m.type === 'string') { handle(m); }
    };
    ws.onclose = function (ev) {
      ws = null;
      if (banned || ev.code === 1008 && ev.reason === 'banned') {
        setStatus('You are banned from this chat.', true);
        return;
      }
      retry = Math.min(retry + 1, 6);
      var delay = Math.min(15000, 500 * Math.pow(2, retry)) * (0.75 + Math.random() / 2);
      if (!overlay) { setStatus('Reconnecting…', true); }
      setTimeout(connect, delay);
    };
  }

  nameForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var n = nameInput.value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
    if (!n) { return; }
    name = Array.from(n).slice(0, MAX_NAME).join('');
    store('golive.chat.name', name);
    showForms();
    hello();
    msgInput.focus();
  });

  msgForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = msgInput.value;
    if (!t.trim()) { return; }
    if (send({ type: 'message', text: t })) { msgInput.value = ''; }
  });

  connect();
})();
