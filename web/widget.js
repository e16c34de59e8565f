/* Switchboard website chat widget.
 * Embed: <script src="https://HOST/widget.js" data-widget="PUBLIC_ID" async></script>
 * Everything lives in one shadow root; the only global is window.Switchboard.
 * Customer and agent text is always set with textContent, never parsed as markup. */
(function () {
  'use strict';
  if (window.Switchboard && window.Switchboard.version) return;
  var me = document.currentScript || document.querySelector('script[data-widget][src*="widget.js"]') || document.querySelector('script[data-widget]');
  if (!me) return;
  var WID = me.getAttribute('data-widget');
  var ORIGIN;
  try { ORIGIN = new URL(me.src, location.href).origin; } catch (e) { return; }
  if (!WID) return;
  var K = 'sb:' + WID + ':';
  var store = {
    get: function (k) { try { return localStorage.getItem(K + k); } catch (e) { return null; } },
    set: function (k, v) { try { if (v == null) localStorage.removeItem(K + k); else localStorage.setItem(K + k, String(v)); } catch (e) { /* private mode */ } }
  };

  var CSS = ':host{all:initial}*{box-sizing:border-box}[hidden]{display:none!important}' +
    '.w{--a:#4f46e5;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#17171c;-webkit-font-smoothing:antialiased}' +
    'button,input,textarea{font:inherit;color:inherit}' +
    '.l{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;background:var(--a);color:#fff;cursor:pointer;display:grid;place-items:center;box-shadow:0 6px 20px rgba(0,0,0,.22);transition:transform .15s}' +
    '.l:hover{transform:scale(1.06)}.l:focus-visible,.p :focus-visible{outline:3px solid var(--a);outline-offset:2px}.l:focus-visible{outline-color:#fff;box-shadow:0 0 0 5px var(--a)}' +
    '.left .l{right:auto;left:20px}.left .p{right:auto;left:20px}' +
    '.n{position:absolute;top:-3px;right:-3px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#dc2626;color:#fff;font-size:11.5px;font-weight:700;line-height:20px;text-align:center;box-shadow:0 0 0 2px #fff}' +
    '.p{position:fixed;bottom:88px;right:20px;z-index:2147483000;width:370px;height:min(600px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 18px 50px -8px rgba(0,0,0,.3),0 0 0 1px rgba(0,0,0,.06);animation:in .18s ease-out}' +
    '@keyframes in{from{opacity:0;transform:translateY(10px)}}' +
    '.h{display:flex;align-items:center;gap:10px;padding:14px 12px 14px 16px;background:var(--a);color:#fff}' +
    '.ht{flex:1;min-width:0}.t{font-weight:650;font-size:15.5px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}' +
    '.s{font-size:12.5px;opacity:.92;display:flex;align-items:center;gap:6px}.d{width:8px;height:8px;border-radius:50%;background:#4ade80;box-shadow:0 0 0 2px rgba(255,255,255,.35)}.off .d{background:#d4d4d8}' +
    '.x{width:34px;height:34px;border:0;border-radius:8px;background:transparent;color:#fff;cursor:pointer;display:grid;place-items:center}.x:hover{background:rgba(255,255,255,.16)}' +
    '.m{flex:1;overflow-y:auto;padding:16px 14px 8px;background:#f7f7f9;display:flex;flex-direction:column;gap:4px}' +
    '.r{display:flex;flex-direction:column;align-items:flex-start;max-width:82%}.r.c{align-self:flex-end;align-items:flex-end}.r.sys{align-self:center;max-width:92%;align-items:center}' +
    '.b{padding:8px 12px;border-radius:16px 16px 16px 4px;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.07);white-space:pre-wrap;overflow-wrap:anywhere}' +
    '.c .b{background:var(--a);color:#fff;border-radius:16px 16px 4px 16px}.sys .b{background:transparent;box-shadow:none;color:#676774;font-size:12.5px;text-align:center;padding:4px 8px}' +
    '.pend .b{opacity:.7}.mt{font-size:11.5px;color:#8a8a96;margin:2px 6px 6px}.nm{font-size:12px;font-weight:600;color:#52525b;margin:6px 6px 2px}' +
    '.q,.aw{margin:0 12px 8px;padding:8px 12px;border-radius:10px;background:#eef0fe;color:#3730a3;font-size:13px;text-align:center}.aw{background:#fdf4e3;color:#92400e;white-space:pre-wrap;overflow-wrap:anywhere}' +
    '.ty{display:flex;gap:4px;padding:10px 12px;background:#fff;border-radius:16px;align-self:flex-start;box-shadow:0 1px 2px rgba(0,0,0,.07);margin:2px 0 6px}' +
    '.ty i{width:6px;height:6px;border-radius:50%;background:#a1a1aa;animation:bl 1.2s infinite}.ty i:nth-child(2){animation-delay:.2s}.ty i:nth-child(3){animation-delay:.4s}' +
    '@keyframes bl{0%,60%,100%{opacity:.3}30%{opacity:1}}' +
    '.f{display:flex;align-items:flex-end;gap:8px;padding:10px 10px 10px 14px;border-top:1px solid #ececf0;background:#fff}' +
    '.f textarea{flex:1;resize:none;border:0;outline:0;max-height:120px;min-height:22px;padding:7px 0;background:transparent;line-height:1.45}' +
    '.sd{width:38px;height:38px;flex:none;border:0;border-radius:10px;background:var(--a);color:#fff;cursor:pointer;display:grid;place-items:center}.sd:disabled{opacity:.4;cursor:default}' +
    '.pc{padding:18px 16px;display:flex;flex-direction:column;gap:12px;background:#fff;border-top:1px solid #ececf0}.pc p{margin:0;color:#3f3f48}' +
    '.pc label{display:flex;flex-direction:column;gap:4px;font-size:12.5px;font-weight:600;color:#3f3f48}' +
    '.pc input{height:38px;padding:0 12px;border:1px solid #d4d4dc;border-radius:8px;font-weight:400;font-size:14px}.pc input:focus{border-color:var(--a);outline:0;box-shadow:0 0 0 3px rgba(79,70,229,.2)}' +
    '.go{height:40px;border:0;border-radius:10px;background:var(--a);color:#fff;font-weight:600;cursor:pointer}' +
    '.st{font-size:11.5px;color:#8a8a96;text-align:center;padding:2px 0 6px}' +
    '.pw{font-size:11px;color:#a1a1aa;text-align:center;padding:0 0 8px;background:#fff}' +
    '@media (max-width:480px){.p{inset:0;width:auto;height:auto;border-radius:0;bottom:0;right:0;left:0}.left .p{left:0}.open .l{display:none}}' +
    '@media (prefers-reduced-motion:reduce){.p,.ty i{animation:none}}';

  var SVG = 'http://www.w3.org/2000/svg';
  function svg(d, size) {
    var s = document.createElementNS(SVG, 'svg');
    s.setAttribute('viewBox', '0 0 24 24'); s.setAttribute('width', size); s.setAttribute('height', size);
    s.setAttribute('fill', 'none'); s.setAttribute('stroke', 'currentColor'); s.setAttribute('stroke-width', '2');
    s.setAttribute('stroke-linecap', 'round'); s.setAttribute('stroke-linejoin', 'round'); s.setAttribute('aria-hidden', 'true');
    var p = document.createElementNS(SVG, 'path'); p.setAttribute('d', d); s.appendChild(p);
    return s;
  }
  var I_CHAT = 'M5 5.5h14a1.5 1.5 0 0 1 1.5 1.5v8.5A1.5 1.5 0 0 1 19 17h-7l-4.5 3.5V17H5a1.5 1.5 0 0 1-1.5-1.5V7A1.5 1.5 0 0 1 5 5.5z';
  var I_X = 'M6 6l12 12M18 6 6 18';
  var I_DOWN = 'm6.5 9.5 5.5 5.5 5.5-5.5';
  var I_SEND = 'M4.5 12 20 4.5 15.5 20l-3-6.5zM12.5 13.5 20 4.5';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }

  /* ---------------------------------------------------------------- DOM */
  var host = document.createElement('switchboard-widget');
  var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : null;
  if (!root) return;
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    root.appendChild(el('style', null, CSS));
  }
  var w = el('div', 'w');
  var launcher = el('button', 'l');
  launcher.type = 'button';
  launcher.setAttribute('aria-label', 'Open chat');
  launcher.setAttribute('aria-expanded', 'false');
  var badge = el('span', 'n');
  badge.hidden = true;
  badge.setAttribute('aria-hidden', 'true');
  launcher.appendChild(svg(I_CHAT, 26));
  launcher.appendChild(badge);

  var panel = el('div', 'p');
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-modal', 'false');
  var head = el('div', 'h');
  var headText = el('div', 'ht');
  var title = el('div', 't', 'Chat with us');
  var sub = el('div', 's');
  var dot = el('span', 'd');
  var subText = el('span', null, 'Connecting…');
  sub.appendChild(dot); sub.appendChild(subText);
  headText.appendChild(title); headText.appendChild(sub);
  var closeBtn = el('button', 'x');
  closeBtn.type = 'button';
  closeBtn.setAttribute('aria-label', 'Close chat');
  closeBtn.appendChild(svg(I_DOWN, 20));
  head.appendChild(headText); head.appendChild(closeBtn);
  var list = el('div', 'm');
  list.setAttribute('role', 'log');
  list.setAttribute('aria-live', 'polite');
  list.setAttribute('aria-label', 'Messages');
  list.tabIndex = 0;
  var typingEl = el('div', 'ty');
  typingEl.setAttribute('aria-label', 'Agent is typing');
  typingEl.appendChild(el('i')); typingEl.appendChild(el('i')); typingEl.appendChild(el('i'));
  typingEl.hidden = true;
  var queueEl = el('div', 'q'); queueEl.hidden = true; queueEl.setAttribute('role', 'status');
  var awayEl = el('div', 'aw'); awayEl.hidden = true;
  var form = el('form', 'f');
  var input = el('textarea');
  input.rows = 1;
  input.maxLength = 4000;
  input.placeholder = 'Write a message…';
  input.setAttribute('aria-label', 'Message');
  var sendBtn = el('button', 'sd');
  sendBtn.type = 'submit';
  sendBtn.disabled = true;
  sendBtn.setAttribute('aria-label', 'Send message');
  sendBtn.appendChild(svg(I_SEND, 18));
  form.appendChild(input); form.appendChild(sendBtn);
  var pre = el('form', 'pc'); pre.hidden = true;
  var foot = el('div', 'pw', 'Powered by Switchboard');
  panel.appendChild(head); panel.appendChild(list); panel.appendChild(queueEl); panel.appendChild(awayEl);
  panel.appendChild(pre); panel.appendChild(form); panel.appendChild(foot);
  w.appendChild(panel); w.appendChild(launcher);
  root.appendChild(w);

  /* -------------------------------------------------------------- state */
  var cfg = null;
  var token = store.get('token');
  var seen = Number(store.get('seq')) || 0; // last agent seq the visitor has seen (shared by tabs)
  var lastSeq = 0; // highest seq shown in the current conversation
  var rows = {}; // seq -> row element
  var pending = {}; // client_id -> { content, row }
  var convId = null;
  var status = null;
  var closedConv = false;
  var isOpen = false;
  var ws = null, ready = false, attempt = 0, retryTimer = 0, lastFrame = 0, fatal = false;
  var typingOn = false, typingTimer = 0, agentTypingTimer = 0;
  var readSent = 0, agentRead = 0, seenEl = null;
  var live = false; // past the replay of this connection
  var audio = null;

  try {
    var saved = JSON.parse(store.get('pending') || '[]');
    for (var i = 0; i < saved.length; i++) if (saved[i] && saved[i].id) pending[saved[i].id] = { content: saved[i].content, row: null };
  } catch (e) { /* ignore */ }
  function savePending() {
    var a = [];
    for (var id in pending) a.push({ id: id, content: pending[id].content });
    store.set('pending', a.length ? JSON.stringify(a) : null);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function atBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 60; }
  function scrollDown() { list.scrollTop = list.scrollHeight; }
  function time(at) {
    var d = at ? new Date(at) : new Date();
    if (isNaN(d)) d = new Date();
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  /* ---------------------------------------------------------- rendering */
  var lastSender = null;
  function addRow(m, pend) {
    var stick = atBottom();
    var who = m.sender === 'customer' ? 'c' : m.sender === 'system' ? 'sys' : 'a';
    var row = el('div', 'r ' + who + (pend ? ' pend' : ''));
    var key = who + '|' + (m.sender_name || '');
    if (who === 'a' && m.sender_name && key !== lastSender) row.appendChild(el('div', 'nm', m.sender_name));
    lastSender = key;
    row.appendChild(el('div', 'b', m.content));
    if (who !== 'sys') row.appendChild(el('div', 'mt', pend ? 'Sending…' : time(m.at)));
    list.insertBefore(row, typingEl);
    if (stick || who === 'c') scrollDown();
    return row;
  }
  function setMeta(row, text) {
    var mt = row.querySelector('.mt');
    if (mt) mt.textContent = text;
  }
  function accept(seq, row) {
    rows[seq] = row;
    if (seq > lastSeq) lastSeq = seq;
    row.setAttribute('data-seq', seq);
  }
  function updateSeen() {
    if (seenEl) { seenEl.remove(); seenEl = null; }
    var best = 0;
    for (var s in rows) {
      if (+s <= agentRead && +s > best && rows[s].classList.contains('c')) best = +s;
    }
    if (!best) return;
    var lastC = null;
    for (var t in rows) if (rows[t].classList.contains('c') && (!lastC || +t > lastC)) lastC = +t;
    if (lastC !== best) return;
    seenEl = el('div', 'mt', 'Seen');
    rows[best].appendChild(seenEl);
  }
  function unread() {
    var n = 0;
    for (var s in rows) if (+s > seen && rows[s].classList.contains('a')) n++;
    return n;
  }
  function renderBadge() {
    var n = isOpen ? 0 : unread();
    badge.hidden = !n;
    badge.textContent = n > 9 ? '9+' : String(n);
    launcher.setAttribute('aria-label', n ? 'Open chat, ' + n + ' unread message' + (n > 1 ? 's' : '') : isOpen ? 'Close chat' : 'Open chat');
  }
  function setHeader() {
    var online = cfg ? cfg.online !== false : true;
    w.classList.toggle('off', !online && status !== 'agent');
    if (!ready && attempt > 1) subText.textContent = 'Reconnecting…';
    else if (status === 'agent' && agentName) subText.textContent = 'Chatting with ' + agentName;
    else subText.textContent = online ? 'Online' : 'Away';
    awayEl.hidden = online || status === 'agent' || !(cfg && cfg.away_message);
    if (cfg && cfg.away_message) awayEl.textContent = cfg.away_message;
  }
  var agentName = null;

  function beep() {
    if (!audio) return;
    try {
      if (audio.state === 'suspended') audio.resume();
      var t = audio.currentTime, o = audio.createOscillator(), g = audio.createGain();
      o.type = 'sine';
      o.frequency.setValueAtTime(880, t);
      o.frequency.setValueAtTime(660, t + 0.09);
      g.gain.setValueAtTime(0.0001, t);
      g.gain.exponentialRampToValueAtTime(0.08, t + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
      o.connect(g); g.connect(audio.destination);
      o.start(t); o.stop(t + 0.24);
    } catch (e) { /* no audio */ }
  }
  function unlockAudio() {
    if (audio) return;
    var AC = window.AudioContext || window.webkitAudioContext;
    if (AC) try { audio = new AC(); } catch (e) { audio = null; }
  }

  /* ------------------------------------------------------------- socket */
  function send(obj) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(obj)); return true; }
    return false;
  }
  function connect() {
    if (fatal || (ws && ws.readyState < 2)) return;
    clearTimeout(retryTimer);
    var u = ORIGIN.replace(/^http/, 'ws') + '/widget/ws?widget=' + encodeURIComponent(WID);
    if (token) u += '&token=' + encodeURIComponent(token);
    if (lastSeq) u += '&since=' + lastSeq;
    ready = false; live = false;
    var sock;
    try { sock = new WebSocket(u); } catch (e) { return retry(); }
    ws = sock;
    lastFrame = Date.now();
    sock.onmessage = function (ev) {
      if (sock !== ws) return;
      lastFrame = Date.now();
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f && typeof f.type === 'string') onFrame(f);
    };
    sock.onclose = function () {
      if (sock !== ws) return;
      ws = null; ready = false;
      setHeader();
      retry();
    };
  }
  function retry() {
    if (fatal) return;
    clearTimeout(retryTimer);
    var base = Math.min(10000, 500 * Math.pow(2, attempt));
    attempt++;
    retryTimer = setTimeout(connect, base / 2 + Math.random() * base / 2);
    setHeader();
  }
  setInterval(function () {
    if (!ws || ws.readyState !== 1) return;
    if (Date.now() - lastFrame > 60000) { try { ws.close(); } catch (e) { /* ignore */ } ws = null; ready = false; retry(); return; }
    send({ type: 'ping' });
  }, 25000);
  window.addEventListener('online', function () { if (!ws && (token || isOpen)) { attempt = 0; connect(); } });

  function newConversation() {
    // The previous conversation was resolved: the next message starts a fresh one whose
    // sequence numbers begin again.
    rows = {}; lastSeq = 0; agentRead = 0; readSent = 0; seen = 0; store.set('seq', 0);
    if (seenEl) { seenEl.remove(); seenEl = null; }
    closedConv = false;
  }

  function onFrame(f) {
    if (f.conversation_id != null && convId != null && f.conversation_id !== convId && f.type !== 'hello') {
      convId = f.conversation_id;
      newConversation();
    }
    switch (f.type) {
      case 'hello':
        if (f.visitor_token) { token = f.visitor_token; store.set('token', token); }
        if (convId != null && f.conversation_id != null && f.conversation_id !== convId) {
          var was = lastSeq;
          newConversation();
          convId = f.conversation_id;
          if (was) { ws.onclose = null; ws.close(); ws = null; connect(); return; }
        }
        convId = f.conversation_id;
        status = f.status;
        closedConv = status === 'closed';
        setHeader();
        break;
      case 'message': onMessage(f); break;
      case 'ready':
        ready = true; live = true; attempt = 0;
        setHeader();
        flush();
        markRead();
        renderBadge();
        break;
      case 'ack':
        var p = pending[f.client_id];
        if (p) {
          delete pending[f.client_id]; savePending();
          if (p.row && f.seq != null && !rows[f.seq]) { p.row.classList.remove('pend'); setMeta(p.row, time()); accept(f.seq, p.row); }
          else if (p.row && rows[f.seq] !== p.row) p.row.remove();
          updateSeen();
        }
        break;
      case 'typing':
        typingEl.hidden = !f.on;
        clearTimeout(agentTypingTimer);
        if (f.on) {
          var stick = atBottom();
          list.appendChild(typingEl);
          if (stick) scrollDown();
          agentTypingTimer = setTimeout(function () { typingEl.hidden = true; }, 8000);
        }
        break;
      case 'read':
        agentRead = Math.max(agentRead, +f.seq || 0);
        updateSeen();
        break;
      case 'queue':
        if (status === 'agent') break;
        var mins = Math.max(1, Math.round((+f.ewt_secs || 0) / 60));
        var pos = +f.position || 0;
        queueEl.textContent = pos ? 'You are number ' + pos + ' in line, about ' + mins + ' minute' + (mins > 1 ? 's' : '') + '.' : 'An agent will be with you shortly.';
        queueEl.hidden = false;
        break;
      case 'status':
        status = f.status;
        if (f.agent_name) agentName = f.agent_name;
        if (status !== 'queued') queueEl.hidden = true;
        closedConv = status === 'closed';
        if (closedConv) { typingEl.hidden = true; agentName = null; }
        setHeader();
        break;
      case 'error':
        if (f.code && /^(unknown_widget|origin_not_allowed|forbidden|not_found|widget_disabled)$/.test(f.code)) fatal = true;
        if (f.message) { var r = addRow({ sender: 'system', content: f.message }); r.classList.add('err'); }
        break;
    }
  }

  function onMessage(f) {
    var seq = +f.seq;
    if (!seq || rows[seq]) return;
    var row = null;
    if (f.sender === 'customer' && f.client_id && pending[f.client_id]) {
      var p = pending[f.client_id];
      delete pending[f.client_id]; savePending();
      row = p.row;
      if (row) { row.classList.remove('pend'); setMeta(row, time(f.at)); }
    }
    if (!row) row = addRow(f, false);
    if (f.sender !== 'customer') typingEl.hidden = true;
    accept(seq, row);
    if (f.sender === 'customer' || f.sender === 'system') updateSeen();
    if (live && (f.sender === 'agent' || f.sender === 'bot')) {
      if (!isOpen || document.visibilityState !== 'visible') beep();
      markRead();
    }
    renderBadge();
  }

  function flush() {
    for (var id in pending) {
      var p = pending[id];
      if (!p.row) p.row = addRow({ sender: 'customer', content: p.content }, true);
      send({ type: 'message', client_id: id, content: p.content });
    }
    var who = store.get('identity');
    if (who && store.get('identified') !== who) {
      try { var o = JSON.parse(who); o.type = 'identify'; if (send(o)) store.set('identified', who); } catch (e) { store.set('identity', null); }
    }
  }

  function markRead() {
    if (!isOpen || document.visibilityState !== 'visible') return;
    if (lastSeq > seen) { seen = lastSeq; store.set('seq', seen); }
    if (ready && lastSeq > readSent) { readSent = lastSeq; send({ type: 'read', seq: lastSeq }); }
    renderBadge();
  }

  /* ------------------------------------------------------------ actions */
  function submit() {
    var text = input.value.replace(/^\s+|\s+$/g, '');
    if (!text) return;
    if (closedConv) newConversation();
    var id = uuid();
    var row = addRow({ sender: 'customer', content: text }, true);
    pending[id] = { content: text, row: row };
    savePending();
    input.value = '';
    grow();
    stopTyping();
    if (!send({ type: 'message', client_id: id, content: text }) || !ready) connect();
    input.focus();
  }
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingOn) { typingOn = false; send({ type: 'typing', on: false }); }
  }
  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(120, input.scrollHeight) + 'px';
    sendBtn.disabled = !input.value.trim();
  }
  input.addEventListener('input', function () {
    grow();
    if (!input.value.trim()) return stopTyping();
    if (!typingOn && ready) { typingOn = true; send({ type: 'typing', on: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 1500);
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });

  function needsPrechat() {
    var fields = (cfg && cfg.prechat_fields) || [];
    return fields.length && !store.get('identity') && !lastSeq && !convId && !Object.keys(pending).length;
  }
  function buildPrechat() {
    pre.textContent = '';
    pre.appendChild(el('p', null, 'Tell us who you are so we can follow up.'));
    var inputs = {};
    ((cfg && cfg.prechat_fields) || []).forEach(function (name) {
      if (name !== 'name' && name !== 'email') return;
      var lab = el('label', null, name === 'email' ? 'Email' : 'Name');
      var inp = el('input');
      inp.type = name === 'email' ? 'email' : 'text';
      inp.name = name;
      inp.required = true;
      inp.maxLength = 200;
      inp.autocomplete = name;
      lab.appendChild(inp);
      pre.appendChild(lab);
      inputs[name] = inp;
    });
    var go = el('button', 'go', 'Start chat');
    go.type = 'submit';
    pre.appendChild(go);
    pre.onsubmit = function (e) {
      e.preventDefault();
      var o = {};
      for (var k in inputs) {
        var v = inputs[k].value.trim();
        if (!v || (k === 'email' && !inputs[k].checkValidity())) { inputs[k].focus(); inputs[k].reportValidity && inputs[k].reportValidity(); return; }
        o[k] = v;
      }
      store.set('identity', JSON.stringify(o));
      showPrechat(false);
      if (ready) flush(); else connect();
      input.focus();
    };
  }
  function showPrechat(on) {
    pre.hidden = !on;
    form.hidden = on;
    if (on) buildPrechat();
  }

  function open() {
    unlockAudio();
    if (isOpen) return;
    isOpen = true;
    panel.hidden = false;
    w.classList.add('open');
    launcher.setAttribute('aria-expanded', 'true');
    launcher.replaceChild(svg(I_X, 24), launcher.firstChild);
    showPrechat(!!needsPrechat());
    if (!ws) { attempt = 0; connect(); }
    scrollDown();
    var f = pre.hidden ? input : pre.querySelector('input');
    if (f) f.focus();
    markRead();
    renderBadge();
  }
  function close() {
    if (!isOpen) return;
    isOpen = false;
    stopTyping();
    panel.hidden = true;
    w.classList.remove('open');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.replaceChild(svg(I_CHAT, 26), launcher.firstChild);
    renderBadge();
  }
  launcher.addEventListener('click', function () { if (isOpen) close(); else open(); });
  closeBtn.addEventListener('click', function () { close(); launcher.focus(); });
  panel.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { e.stopPropagation(); close(); launcher.focus(); }
  });
  document.addEventListener('visibilitychange', markRead);
  document.addEventListener('pointerdown', unlockAudio, { once: true, capture: true, passive: true });
  window.addEventListener('storage', function (e) {
    if (e.key === K + 'seq') { seen = Number(e.newValue) || 0; renderBadge(); }
    else if (e.key === K + 'token' && e.newValue && e.newValue !== token) { token = e.newValue; if (ws) ws.close(); }
  });

  /* --------------------------------------------------------------- boot */
  function applyConfig(c) {
    cfg = c || {};
    if (cfg.title) title.textContent = cfg.title;
    panel.setAttribute('aria-label', cfg.title || 'Chat');
    var col = cfg.colour || cfg.color;
    if (col && window.CSS && CSS_supports(col)) w.style.setProperty('--a', col);
    w.classList.toggle('left', cfg.position === 'left');
    if (cfg.welcome_message && !list.querySelector('.welcome')) {
      var r = el('div', 'r a welcome');
      r.appendChild(el('div', 'b', cfg.welcome_message));
      list.insertBefore(r, list.firstChild);
    }
    setHeader();
    if (isOpen) showPrechat(!!needsPrechat());
  }
  function CSS_supports(c) { try { return window.CSS.supports('color', c); } catch (e) { return false; } }

  list.appendChild(typingEl);
  function mountHost() {
    if (!document.body) return setTimeout(mountHost, 20);
    document.body.appendChild(host);
  }
  mountHost();
  fetch(ORIGIN + '/widget/config?widget=' + encodeURIComponent(WID), { credentials: 'omit' })
    .then(function (r) {
      // Unknown widget or a site it is not allowed on: stay out of the page entirely.
      if (r.status === 403 || r.status === 404) { fatal = true; if (ws) ws.close(); host.remove(); return null; }
      if (!r.ok) throw new Error('config ' + r.status);
      return r.json().then(applyConfig);
    })
    .catch(function () { applyConfig({}); });
  // A returning visitor reconnects at once (history, unread badge); a new one on first open.
  if (token || Object.keys(pending).length) connect();
  renderBadge();

  window.Switchboard = { version: 1, open: open, close: close, toggle: function () { if (isOpen) close(); else open(); } };
})();
