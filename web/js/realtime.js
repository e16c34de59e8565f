// The agent event stream: one WebSocket on /api/v1/ws per page that needs it, with
// reconnect (exponential backoff with jitter, 0.5 s → 10 s) that passes the last sequence
// number seen, so the server replays whatever was missed while the socket was down.
//
//   const rt = connectEvents(tenantId, { onEvent(e), onReady({ reconnected }), onState(state) });
//   rt.close();
//
// Events are `{ seq, kind, payload, at }`; each seq is delivered at most once.

export function connectEvents(tenantId, { onEvent, onReady, onState } = {}) {
  let ws = null;
  let lastSeq = null; // null: not connected yet, the server starts at "now"
  let attempt = 0;
  let timer = 0;
  let pingTimer = 0;
  let lastFrame = 0;
  let closed = false;
  let everReady = false;
  let state = 'connecting';

  function setState(next) {
    if (state === next) return;
    state = next;
    if (onState) onState(next);
  }

  function url() {
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ tenant: String(tenantId) });
    if (lastSeq !== null) q.set('since', String(lastSeq));
    return `${proto}//${window.location.host}/api/v1/ws?${q}`;
  }

  function connect() {
    if (closed) return;
    clearTimeout(timer);
    setState(attempt ? 'reconnecting' : 'connecting');
    let sock;
    try {
      sock = new WebSocket(url());
    } catch {
      scheduleRetry();
      return;
    }
    ws = sock;
    lastFrame = Date.now();
    sock.addEventListener('message', (ev) => {
      if (sock !== ws) return;
      lastFrame = Date.now();
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!frame || typeof frame !== 'object') return;
      if (frame.type === 'event') {
        if (lastSeq !== null && frame.seq <= lastSeq) return;
        lastSeq = frame.seq;
        try {
          onEvent && onEvent(frame);
        } catch (err) {
          console.error(err);
        }
      } else if (frame.type === 'ready') {
        if (lastSeq === null || frame.seq > lastSeq) lastSeq = frame.seq;
        const reconnected = everReady;
        everReady = true;
        attempt = 0;
        setState('live');
        onReady && onReady({ reconnected });
      }
    });
    sock.addEventListener('close', () => {
      if (sock !== ws) return;
      ws = null;
      scheduleRetry();
    });
  }

  function scheduleRetry() {
    if (closed) return;
    const base = Math.min(10_000, 500 * 2 ** attempt);
    attempt += 1;
    setState('reconnecting');
    timer = setTimeout(connect, base / 2 + Math.random() * (base / 2));
  }

  // Keep-alive, and detect a half-dead connection (no frame at all for a minute).
  pingTimer = setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastFrame > 60_000) {
      ws.close();
      return;
    }
    ws.send(JSON.stringify({ type: 'ping' }));
  }, 25_000);

  function onOnline() {
    if (!ws && !closed) {
      attempt = 0;
      connect();
    }
  }
  window.addEventListener('online', onOnline);

  connect();

  return {
    get state() {
      return state;
    },
    get socket() {
      return ws;
    },
    /** Drop the connection now (the client reconnects with `since`); for tests and "retry now". */
    reconnect() {
      if (ws) ws.close();
      else onOnline();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(pingTimer);
      window.removeEventListener('online', onOnline);
      if (ws) {
        const s = ws;
        ws = null;
        s.close();
      }
    },
  };
}
