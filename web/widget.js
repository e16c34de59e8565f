/* Switchboard website chat widget.
 * Embed: <script src="https://HOST/widget.js" data-widget="PUBLIC_ID" async></script>
 * Everything lives in one shadow root; the only global is window.Switchboard.
 * Customer and agent text is always set with textContent, never parsed as markup. */
(() => {
'use strict';
if (window.Switchboard && window.Switchboard.version) return;
const me = document.currentScript || document.querySelector('script[data-widget][src*="widget.js"]') || document.querySelector('script[data-widget]');
const WID = me && me.getAttribute('data-widget');
let ORIGIN;
try { ORIGIN = new URL(me.src, location.href).origin; } catch (e) { return; }
if (!WID || !document.head.attachShadow) return;
const K = 'sb:' + WID + ':';
const load = (k) => { try { return localStorage.getItem(K + k); } catch (e) { return null; } };
const save = (k, v) => { try { if (v == null) localStorage.removeItem(K + k); else localStorage.setItem(K + k, String(v)); } catch (e) { /* private mode */ } };

const CSS = `:host{all:initial}*{box-sizing:border-box}[hidden]{display:none!important}
.w{--a:#4f46e5;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Arial,sans-serif;color:#17171c}
button,input,textarea{font:inherit;color:inherit}button{cursor:pointer}
.l{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;background:var(--a);color:#fff;display:grid;place-items:center;box-shadow:0 6px 20px rgba(0,0,0,.22);transition:transform .15s}
.l:hover{transform:scale(1.06)}.l:focus-visible{outline:3px solid #fff;box-shadow:0 0 0 6px var(--a)}.p :focus-visible{outline:2px solid var(--a);outline-offset:2px}
.left .l,.left .p{right:auto;left:20px}
.n{position:absolute;top:-3px;right:-3px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#dc2626;color:#fff;font-size:11.5px;font-weight:700;line-height:20px;box-shadow:0 0 0 2px #fff}
.p{position:fixed;bottom:88px;right:20px;z-index:2147483000;width:370px;height:min(600px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 18px 50px -8px rgba(0,0,0,.3),0 0 0 1px rgba(0,0,0,.06);animation:in .18s ease-out}
@keyframes in{from{opacity:0;transform:translateY(10px)}}
.h{display:flex;align-items:center;gap:10px;padding:14px 12px 14px 16px;background:var(--a);color:#fff}
.ht{flex:1;min-width:0}.t{font-weight:650;font-size:15.5px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.s{font-size:12.5px;display:flex;align-items:center;gap:6px}.d{width:8px;height:8px;border-radius:50%;background:#4ade80;box-shadow:0 0 0 2px rgba(255,255,255,.35)}.off .d{background:#d4d4d8}
.x{width:34px;height:34px;border:0;border-radius:8px;background:none;color:#fff;display:grid;place-items:center}.x:hover{background:rgba(255,255,255,.16)}
.m{flex:1;overflow-y:auto;padding:16px 14px 8px;background:#f7f7f9;display:flex;flex-direction:column;gap:4px}
.r{display:flex;flex-direction:column;align-items:flex-start;max-width:82%}.r.c{align-self:flex-end;align-items:flex-end}.r.y{align-self:center;max-width:92%;align-items:center}
.b{padding:8px 12px;border-radius:16px 16px 16px 4px;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.07);white-space:pre-wrap;overflow-wrap:anywhere}
.c .b{background:var(--a);color:#fff;border-radius:16px 16px 4px 16px}.y .b{background:none;box-shadow:none;color:#676774;font-size:12.5px;text-align:center;padding:4px 8px}
.pend .b{opacity:.7}.mt{font-size:11.5px;color:#8a8a96;margin:2px 6px 6px}.nm{font-size:12px;font-weight:600;color:#52525b;margin:6px 6px 2px}
.q,.aw{margin:0 12px 8px;padding:8px 12px;border-radius:10px;background:#eef0fe;color:#3730a3;font-size:13px;text-align:center}.aw{background:#fdf4e3;color:#92400e;white-space:pre-wrap}
.ty{display:flex;gap:4px;padding:10px 12px;background:#fff;border-radius:16px;align-self:flex-start;box-shadow:0 1px 2px rgba(0,0,0,.07);margin:2px 0 6px}
.ty i{width:6px;height:6px;border-radius:50%;background:#a1a1aa;animation:bl 1.2s infinite}.ty i:nth-child(2){animation-delay:.2s}.ty i:nth-child(3){animation-delay:.4s}
@keyframes bl{30%{opacity:1}0%,60%,100%{opacity:.3}}
.f{display:flex;align-items:flex-end;gap:8px;padding:10px 10px 10px 14px;border-top:1px solid #ececf0}.f:focus-within{border-top-color:var(--a)}
.f textarea:focus-visible{outline:0}.f textarea{flex:1;resize:none;border:0;max-height:120px;padding:7px 0;background:none}
.sd,.go{border:0;border-radius:10px;background:var(--a);color:#fff}.sd{width:38px;height:38px;flex:none;display:grid;place-items:center}.at{background:none;color:#8a8a96}.at:hover{color:var(--a)}.b img{display:block;min-width:72px;min-height:72px;max-width:100%;max-height:220px;object-fit:contain;background:#f1f1f4;border-radius:10px}.b .fi{display:inline-flex;align-items:center;gap:6px}.fi svg{flex:none}.b a{color:inherit}.sd:disabled{opacity:.4;cursor:default}
.pc{padding:18px 16px;display:flex;flex-direction:column;gap:12px;border-top:1px solid #ececf0}.pc p{margin:0;color:#3f3f48}
.pc label{display:flex;flex-direction:column;gap:4px;font-size:12.5px;font-weight:600;color:#3f3f48}
.pc input{height:38px;padding:0 12px;border:1px solid #d4d4dc;border-radius:8px;font-weight:400}.pc input:focus{border-color:var(--a);outline:0}
.go{height:40px;font-weight:600}.pw{font-size:11px;color:#a1a1aa;text-align:center;padding:0 0 8px}
@media (max-width:480px){.p,.left .p{inset:0;width:auto;height:auto;border-radius:0}.open .l{display:none}}
@media (prefers-reduced-motion:reduce){.p,.ty i{animation:none}}`;

const el = (tag, cls, text, attrs) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = String(text);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  return e;
};
const svg = (d, size) => {
  const s = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  const a = { viewBox: '0 0 24 24', width: size, height: size, fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true' };
  for (const k in a) s.setAttribute(k, a[k]);
  const p = document.createElementNS(s.namespaceURI, 'path');
  p.setAttribute('d', d);
  s.appendChild(p);
  return s;
};
const I_CHAT = 'M5 5.5h14a1.5 1.5 0 0 1 1.5 1.5v8.5A1.5 1.5 0 0 1 19 17h-7l-4.5 3.5V17H5a1.5 1.5 0 0 1-1.5-1.5V7A1.5 1.5 0 0 1 5 5.5z';
const I_X = 'M6 6l12 12M18 6 6 18';
const I_FILE = 'M14 3.5H7A1.5 1.5 0 0 0 5.5 5v14A1.5 1.5 0 0 0 7 20.5h10a1.5 1.5 0 0 0 1.5-1.5V8zM14 3.5V8h4.5M9 13h6M9 16.5h4';

/* ------------------------------------------------------------------ DOM */
const host = document.createElement('switchboard-widget');
const root = host.attachShadow({ mode: 'open' });
try {
  const sheet = new CSSStyleSheet(); // not subject to the host page's style-src
  sheet.replaceSync(CSS);
  root.adoptedStyleSheets = [sheet];
} catch (e) {
  root.appendChild(el('style', null, CSS));
}
const w = el('div', 'w');
const launcher = el('button', 'l', null, { type: 'button', 'aria-expanded': 'false' });
const badge = el('span', 'n', null, { 'aria-hidden': 'true' });
launcher.append(svg(I_CHAT, 26), badge);
const panel = el('div', 'p', null, { role: 'dialog' });
const title = el('div', 't', 'Chat with us');
const subText = el('span', null, 'Connecting…');
const closeBtn = el('button', 'x', null, { type: 'button', 'aria-label': 'Close chat' });
closeBtn.append(svg('m6.5 9.5 5.5 5.5 5.5-5.5', 20));
const head = el('div', 'h');
const headText = el('div', 'ht');
const sub = el('div', 's');
sub.append(el('span', 'd'), subText);
headText.append(title, sub);
head.append(headText, closeBtn);
const list = el('div', 'm', null, { role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
const typingEl = el('div', 'ty', null, { 'aria-label': 'Agent is typing' });
typingEl.append(el('i'), el('i'), el('i'));
list.append(typingEl);
const queueEl = el('div', 'q', null, { role: 'status' });
const awayEl = el('div', 'aw');
const form = el('form', 'f');
const input = el('textarea', null, null, { rows: 1, maxlength: 4000, placeholder: 'Write a message…', 'aria-label': 'Message' });
const sendBtn = el('button', 'sd', null, { type: 'submit', 'aria-label': 'Send message' });
sendBtn.append(svg('M4.5 12 20 4.5 15.5 20l-3-6.5zM12.5 13.5 20 4.5', 18));
const fileIn = el('input', null, null, { type: 'file', hidden: '', accept: 'image/*,.pdf,.txt,.csv,.doc,.docx,.xls,.xlsx,.zip' });
const attachBtn = el('button', 'sd at', null, { type: 'button', 'aria-label': 'Attach a file' });
attachBtn.append(svg('M19 11.5 12 18.5a4.5 4.5 0 0 1-6.4-6.4l7.4-7.4a3 3 0 0 1 4.2 4.2l-7.4 7.4a1.5 1.5 0 0 1-2.1-2.1L14.5 7', 18));
attachBtn.onclick = () => fileIn.click();
fileIn.onchange = () => {
  const f = fileIn.files[0];
  fileIn.value = '';
  if (f && token) upload(f);
};
form.append(fileIn, input, attachBtn, sendBtn);
const pre = el('form', 'pc');
panel.append(head, list, queueEl, awayEl, pre, form, el('div', 'pw', 'Powered by Switchboard'));
w.append(panel, launcher);
root.append(w);
for (const e of [typingEl, queueEl, awayEl, pre, panel, badge]) e.hidden = true;
sendBtn.disabled = true;

/* ---------------------------------------------------------------- state */
let cfg = null;
let token = load('token');
let seen = Number(load('seq')) || 0; // last seq the visitor has seen, shared by tabs (unread badge)
let lastSeq = 0; // highest seq shown from the current conversation
let rows = {}; // seq -> row element
const pending = {}; // client_id -> { content, row }: sent, not yet acknowledged
let convId = null, status = null, closedConv = false, agentName = null, isOpen = false;
let ws = null, ready = false, live = false, attempt = 0, retryTimer = 0, lastFrame = 0, fatal = false;
let typingOn = false, typingTimer = 0, agentTypingTimer = 0;
let readSent = 0, agentRead = 0, seenEl = null, lastKey = null, audio = null;
let draftRow = null; // the assistant's reply while it is being written (streamed)

try {
  for (const p of JSON.parse(load('pending') || '[]')) if (p && p.id) pending[p.id] = { content: p.content };
} catch (e) { /* ignore */ }
const savePending = () => {
  const a = Object.keys(pending).map((id) => ({ id, content: pending[id].content }));
  save('pending', a.length ? JSON.stringify(a) : null);
};
const uuid = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID() : 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2));
const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 60;
const scrollDown = () => { list.scrollTop = list.scrollHeight; };
const time = (at) => {
  const d = new Date(at || Date.now());
  return (isNaN(d) ? new Date() : d).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
};
const isC = (row) => row.classList.contains('c');

/* ------------------------------------------------------------ rendering */
function addRow(m, pend) {
  const stick = atBottom();
  const who = m.sender === 'customer' ? 'c' : m.sender === 'system' ? 'y' : 'a';
  const row = el('div', 'r ' + who + (pend ? ' pend' : ''));
  const key = who + '|' + (m.sender_name || '');
  if (who === 'a' && m.sender_name && key !== lastKey) row.append(el('div', 'nm', m.sender_name));
  lastKey = key;
  row.append(fileEl(m) || el('div', 'b', m.content));
  if (who !== 'y') row.append(el('div', 'mt', pend ? 'Sending…' : time(m.at)));
  list.insertBefore(row, typingEl);
  if (stick || who === 'c') scrollDown();
  return row;
}
// A file in a message: an image inline, anything else as a download link. Only our own
// /media/attachments/ paths are used, so a message can never carry a javascript: link.
function fileEl(m) {
  const a = m.attachment;
  if (!a || !/^\/media\/attachments\/[\w-]+$/.test(a.url)) return null;
  const b = el('div', 'b');
  const link = el('a', null, null, { href: ORIGIN + a.url, target: '_blank', rel: 'noopener' });
  if (/^image\//.test(a.content_type)) link.append(el('img', null, null, { src: ORIGIN + a.url, alt: a.filename || 'image' }));
  else fileName(link, a.filename || m.content);
  b.append(link);
  return b;
}
// A document icon (drawn, not a font glyph) before a file's name.
function fileName(e, name) {
  e.classList.add('fi');
  e.append(svg(I_FILE, 16), el('span', null, name));
  return e;
}
function upload(file) {
  if (file.size > 10485760) return addRow({ sender: 'system', content: 'Files can be up to 10 MB.' });
  const row = addRow({ sender: 'customer', content: '' }, true);
  row.querySelector('.b').replaceWith(fileName(el('div', 'b'), file.name));
  const q = `?widget=${encodeURIComponent(WID)}&token=${encodeURIComponent(token || '')}&filename=${encodeURIComponent(file.name || 'file')}`;
  // An untyped body keeps this a simple cross-origin request (no preflight); the message
  // itself arrives over the socket like any other.
  fetch(ORIGIN + '/widget/attachments' + q, { method: 'POST', body: file.slice(0, file.size, ''), credentials: 'omit' })
    .then((r) => {
      row.remove();
      if (!r.ok) addRow({ sender: 'system', content: r.status === 415 ? "This type of file can't be sent." : r.status === 413 ? 'Files can be up to 10 MB.' : 'The file was not sent.' });
    })
    .catch(() => row.remove());
}

function settle(row, seq, at) {
  row.classList.remove('pend');
  const mt = row.querySelector('.mt');
  if (mt) mt.textContent = time(at);
  rows[seq] = row;
  if (seq > lastSeq) lastSeq = seq;
}
function updateSeen() {
  // "Seen" under the visitor's last message once the agent has read it.
  if (seenEl) seenEl.remove();
  seenEl = null;
  const mine = Object.keys(rows).map(Number).filter((s) => isC(rows[s]));
  const last = Math.max(0, ...mine);
  if (last && last <= agentRead) rows[last].append((seenEl = el('div', 'mt', 'Seen')));
}
function renderBadge() {
  const n = isOpen ? 0 : Object.keys(rows).filter((s) => +s > seen && rows[s].classList.contains('a')).length;
  badge.hidden = !n;
  badge.textContent = n > 9 ? '9+' : n;
  launcher.setAttribute('aria-label', isOpen ? 'Close chat' : n ? `Open chat, ${n} unread message${n > 1 ? 's' : ''}` : 'Open chat');
}
function setHeader() {
  const chatting = status === 'agent';
  const closed = !chatting && cfg && cfg.open === false;
  const online = !closed && (!cfg || cfg.online !== false || chatting);
  w.classList.toggle('off', !online);
  subText.textContent = !ready && attempt > 1 ? 'Reconnecting…' : chatting && agentName ? 'Chatting with ' + agentName : closed ? 'Closed' : online ? 'Online' : 'Away';
  awayEl.textContent = closed ? [cfg.closed_message, backAt(cfg.opens_at)].filter(Boolean).join(' ') : (cfg && cfg.away_message) || '';
  awayEl.hidden = online || !awayEl.textContent;
}
// "We're back at 08:00" today, else with the weekday, in the visitor's own time zone.
function backAt(iso) {
  const t = iso && new Date(iso);
  if (!t || isNaN(t)) return '';
  const opt = { hour: 'numeric', minute: '2-digit' };
  if (t.toDateString() !== new Date().toDateString()) opt.weekday = 'long';
  return "We're back " + (opt.weekday ? 'on ' : 'at ') + t.toLocaleString([], opt) + '.';
}

function beep() {
  if (!audio) return;
  try {
    if (audio.state === 'suspended') audio.resume();
    const t = audio.currentTime, o = audio.createOscillator(), g = audio.createGain();
    o.frequency.setValueAtTime(880, t);
    o.frequency.setValueAtTime(660, t + 0.09);
    g.gain.setValueAtTime(0.0001, t);
    g.gain.exponentialRampToValueAtTime(0.08, t + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
    o.connect(g).connect(audio.destination);
    o.start(t);
    o.stop(t + 0.24);
  } catch (e) { /* no audio */ }
}
// Browsers only allow audio after a user gesture on the page.
const unlockAudio = () => {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!audio && AC) try { audio = new AC(); } catch (e) { /* none */ }
};

/* --------------------------------------------------------------- socket */
const send = (obj) => !!(ws && ws.readyState === 1 && (ws.send(JSON.stringify(obj)), true));
function connect() {
  if (fatal || (ws && ws.readyState < 2)) return;
  clearTimeout(retryTimer);
  let u = ORIGIN.replace(/^http/, 'ws') + '/widget/ws?widget=' + encodeURIComponent(WID);
  if (token) u += '&token=' + encodeURIComponent(token);
  if (lastSeq) u += '&since=' + lastSeq;
  ready = live = false;
  let sock;
  try { sock = new WebSocket(u); } catch (e) { return retry(); }
  ws = sock;
  lastFrame = Date.now();
  sock.onmessage = (ev) => {
    if (sock !== ws) return;
    lastFrame = Date.now();
    let f;
    try { f = JSON.parse(ev.data); } catch (e) { return; }
    if (f && typeof f.type === 'string') onFrame(f);
  };
  sock.onclose = () => {
    if (sock !== ws) return;
    ws = null;
    ready = false;
    retry();
  };
}
function retry() {
  if (fatal) return;
  clearTimeout(retryTimer);
  const base = Math.min(10000, 500 * 2 ** attempt++); // 0.5 s → 10 s, with jitter
  retryTimer = setTimeout(connect, base / 2 + Math.random() * base / 2);
  setHeader();
}
setInterval(() => {
  if (!ws || ws.readyState !== 1) return;
  if (Date.now() - lastFrame > 60000) return ws.close(); // half-dead: reconnect
  send({ type: 'ping' });
}, 25000);
addEventListener('online', () => { if (!ws && (token || isOpen)) { attempt = 0; connect(); } });

// The previous conversation ended: the next one numbers its messages from 1 again.
function newConversation() {
  rows = {};
  lastSeq = agentRead = readSent = seen = 0;
  save('seq', 0);
  updateSeen();
  closedConv = false;
}

function onFrame(f) {
  const t = f.type;
  if (t === 'hello') {
    if (f.visitor_token) save('token', (token = f.visitor_token));
    if (convId != null && f.conversation_id != null && f.conversation_id !== convId && lastSeq) {
      // A different conversation than the one on screen: read it from the start.
      newConversation();
      convId = f.conversation_id;
      ws.onclose = null;
      ws.close();
      ws = null;
      return connect();
    }
    convId = f.conversation_id;
    status = f.status;
    closedConv = status === 'closed';
  } else if (t === 'message') {
    onMessage(f);
  } else if (t === 'ready') {
    ready = live = true;
    attempt = 0;
    flush();
    markRead();
  } else if (t === 'ack') {
    const p = pending[f.client_id];
    if (!p) return;
    delete pending[f.client_id];
    savePending();
    if (p.row && !rows[f.seq]) settle(p.row, f.seq);
    else if (p.row && rows[f.seq] !== p.row) p.row.remove();
    updateSeen();
  } else if (t === 'typing') {
    typingEl.hidden = !f.on;
    clearTimeout(agentTypingTimer);
    if (f.on) {
      const stick = atBottom();
      list.append(typingEl);
      if (stick) scrollDown();
      agentTypingTimer = setTimeout(() => { typingEl.hidden = true; }, 8000);
    }
  } else if (t === 'draft') {
    // Text only, like every message; an empty draft means the reply turned into something else.
    if (!f.text) {
      if (draftRow) draftRow.remove();
      draftRow = null;
    } else {
      if (!draftRow) draftRow = addRow({ sender: 'bot', sender_name: f.sender_name, content: '' }, true);
      draftRow.querySelector('.b').textContent = f.text;
      const meta = draftRow.querySelector('.mt');
      if (meta) meta.textContent = '…';
      typingEl.hidden = true;
    }
  } else if (t === 'read') {
    agentRead = Math.max(agentRead, +f.seq || 0);
    updateSeen();
  } else if (t === 'queue') {
    if (status === 'agent') return;
    const mins = Math.max(1, Math.round((+f.ewt_secs || 0) / 60));
    queueEl.textContent = +f.position ? `You are number ${f.position} in line, about ${mins} minute${mins > 1 ? 's' : ''}.` : 'An agent will be with you shortly.';
    queueEl.hidden = false;
  } else if (t === 'status') {
    status = f.status;
    if (f.agent_name) agentName = f.agent_name;
    if (status !== 'queued') queueEl.hidden = true;
    closedConv = status === 'closed';
    if (closedConv) typingEl.hidden = true;
  } else if (t === 'error') {
    if (/^(not_found|origin_not_allowed|forbidden)$/.test(f.code)) fatal = true;
    if (f.message) addRow({ sender: 'system', content: f.message });
    if (f.client_id && pending[f.client_id]) {
      // Refused for good (e.g. too long): keep the text, drop the send.
      const p = pending[f.client_id];
      delete pending[f.client_id];
      savePending();
      if (p.row) p.row.querySelector('.mt').textContent = 'Not sent';
    }
  }
  setHeader();
  renderBadge();
}

function onMessage(f) {
  const seq = +f.seq;
  if (!seq || rows[seq]) return; // each message once, whatever the replays
  const p = f.sender === 'customer' && f.client_id && pending[f.client_id];
  let row = p && p.row;
  if (p) {
    delete pending[f.client_id];
    savePending();
  }
  if (draftRow && f.sender === 'bot') {
    draftRow.remove();
    draftRow = null;
  }
  if (!row) row = addRow(f, false);
  settle(row, seq, f.at);
  if (f.sender !== 'customer') typingEl.hidden = true;
  updateSeen();
  if (live && (f.sender === 'agent' || f.sender === 'bot')) {
    if (!isOpen || document.hidden) beep();
    markRead();
  }
}

function flush() {
  for (const id in pending) {
    const p = pending[id];
    if (!p.row) p.row = addRow({ sender: 'customer', content: p.content }, true);
    send({ type: 'message', client_id: id, content: p.content });
  }
  const who = load('identity');
  if (who && load('identified') !== who) {
    try {
      if (send(Object.assign({ type: 'identify' }, JSON.parse(who)))) save('identified', who);
    } catch (e) { save('identity', null); }
  }
}

function markRead() {
  if (!isOpen || document.hidden) return;
  if (lastSeq > seen) save('seq', (seen = lastSeq));
  if (ready && lastSeq > readSent && send({ type: 'read', seq: lastSeq })) readSent = lastSeq;
  renderBadge();
}

/* -------------------------------------------------------------- actions */
function submit() {
  const text = input.value.trim();
  if (!text) return;
  if (closedConv) newConversation();
  const id = uuid();
  pending[id] = { content: text, row: addRow({ sender: 'customer', content: text }, true) };
  savePending();
  input.value = '';
  grow();
  stopTyping();
  if (!ready || !send({ type: 'message', client_id: id, content: text })) connect();
  input.focus();
}
function stopTyping() {
  clearTimeout(typingTimer);
  if (typingOn) send({ type: 'typing', on: (typingOn = false) });
}
function grow() {
  input.style.height = 'auto';
  input.style.height = Math.min(120, input.scrollHeight) + 'px';
  sendBtn.disabled = !input.value.trim();
}
input.addEventListener('input', () => {
  grow();
  if (!input.value.trim()) return stopTyping();
  // Typing on at the first key, off after 1.5 s without one.
  if (!typingOn && ready) send({ type: 'typing', on: (typingOn = true) });
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 1500);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});
form.addEventListener('submit', (e) => {
  e.preventDefault();
  submit();
});

const prechatFields = () => ((cfg && cfg.prechat_fields) || []).filter((f) => f === 'name' || f === 'email');
function showPrechat() {
  const on = prechatFields().length > 0 && !load('identity') && !lastSeq && !convId && !Object.keys(pending).length;
  const shown = !pre.hidden;
  pre.hidden = !on;
  form.hidden = on;
  if (!on || shown) return;
  pre.textContent = '';
  pre.append(el('p', null, 'Tell us who you are so we can follow up.'));
  const inputs = {};
  for (const name of prechatFields()) {
    const lab = el('label', null, name === 'email' ? 'Email' : 'Name');
    lab.append((inputs[name] = el('input', null, null, { type: name === 'email' ? 'email' : 'text', name, required: '', maxlength: 200, autocomplete: name })));
    pre.append(lab);
  }
  pre.append(el('button', 'go', 'Start chat', { type: 'submit' }));
  pre.onsubmit = (e) => {
    e.preventDefault();
    const who = {};
    for (const k in inputs) {
      const v = inputs[k].value.trim();
      if (!v || !inputs[k].checkValidity()) return inputs[k].reportValidity(), inputs[k].focus();
      who[k] = v;
    }
    save('identity', JSON.stringify(who));
    showPrechat();
    if (ready) flush();
    else connect();
    input.focus();
  };
}

function open() {
  unlockAudio();
  if (isOpen) return;
  isOpen = true;
  panel.hidden = false;
  w.classList.add('open');
  launcher.setAttribute('aria-expanded', 'true');
  launcher.firstChild.replaceWith(svg(I_X, 24));
  showPrechat();
  if (!ws) {
    attempt = 0;
    connect();
  }
  scrollDown();
  (pre.hidden ? input : pre.querySelector('input')).focus();
  markRead();
}
function close() {
  if (!isOpen) return;
  isOpen = false;
  stopTyping();
  panel.hidden = true;
  w.classList.remove('open');
  launcher.setAttribute('aria-expanded', 'false');
  launcher.firstChild.replaceWith(svg(I_CHAT, 26));
  renderBadge();
}
launcher.addEventListener('click', () => (isOpen ? close() : open()));
closeBtn.addEventListener('click', () => {
  close();
  launcher.focus();
});
// Escape closes from anywhere in the widget (or when focus fell back to the page body).
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || !isOpen || (document.activeElement !== host && document.activeElement !== document.body)) return;
  close();
  launcher.focus();
});
document.addEventListener('visibilitychange', markRead);
document.addEventListener('pointerdown', unlockAudio, { once: true, capture: true, passive: true });
// Other tabs of the same visitor: read state (badge) and a renewed token.
addEventListener('storage', (e) => {
  if (e.key === K + 'seq') {
    seen = Number(e.newValue) || 0;
    renderBadge();
  } else if (e.key === K + 'token' && e.newValue && e.newValue !== token) {
    token = e.newValue;
    if (ws) ws.close();
  }
});

/* ----------------------------------------------------------------- boot */
function applyConfig(c) {
  cfg = c || {};
  if (cfg.title) title.textContent = cfg.title;
  panel.setAttribute('aria-label', cfg.title || 'Chat');
  try {
    if (cfg.colour && window.CSS.supports('color', cfg.colour)) w.style.setProperty('--a', cfg.colour);
  } catch (e) { /* keep the default */ }
  w.classList.toggle('left', cfg.position === 'left');
  if (cfg.welcome_message) {
    const r = el('div', 'r a');
    r.append(el('div', 'b', cfg.welcome_message));
    list.prepend(r);
  }
  setHeader();
  if (isOpen) showPrechat();
}

(function mount() {
  if (document.body) document.body.appendChild(host);
  else setTimeout(mount, 20);
})();
let cfgTimer = 0;
const loadConfig = () => fetch(ORIGIN + '/widget/config?widget=' + encodeURIComponent(WID), { credentials: 'omit' })
  .then((r) => {
    // An unknown widget, or a site it may not run on: stay out of the page entirely.
    if (r.status === 403 || r.status === 404) {
      fatal = true;
      if (ws) ws.close();
      return host.remove();
    }
    if (!r.ok) throw new Error('config ' + r.status);
    return r.json().then((c) => {
      if (cfg) {
        // A refresh (opening time reached): keep the page as it is, update the state only.
        cfg = c;
        setHeader();
      } else applyConfig(c);
      // Ask again when the widget opens (or every hour, as hours and the switch change).
      const wait = c.opens_at ? Date.parse(c.opens_at) - Date.now() + 1000 : 36e5;
      clearTimeout(cfgTimer);
      cfgTimer = setTimeout(loadConfig, Math.min(Math.max(wait, 5000), 36e5));
    });
  })
  .catch(() => cfg || applyConfig({}));
loadConfig();
// A returning visitor reconnects at once (history, unread badge); a new one on first open.
if (token || Object.keys(pending).length) connect();
renderBadge();

// Signed-in users of the site: Switchboard.identify({ user_id, user_hash, name, email, phone }),
// or data-user-id / data-user-hash on the script tag (user_hash = HMAC of user_id, made
// server-side). The phone (E.164) is kept for verified users only: their calls show who they are.
function identify(o) {
  const who = {};
  for (const k of ['name', 'email', 'phone', 'user_id', 'user_hash']) if (o && o[k] != null && o[k] !== '') who[k] = String(o[k]);
  if (!Object.keys(who).length) return;
  save('identity', JSON.stringify(who));
  if (ready) flush();
  else if (token || isOpen) connect();
}
if (me.dataset.userId) identify({ user_id: me.dataset.userId, user_hash: me.dataset.userHash, name: me.dataset.name, email: me.dataset.email });

window.Switchboard = { version: 1, open, close, toggle: () => (isOpen ? close() : open()), identify };
})();
