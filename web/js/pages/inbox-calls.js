// Calls in the inbox, beside the chats:
// - the card of the call ringing the agent's phone: who calls, the number they dialled, the
//   queue, and their way through the IVR (each node with the exit taken and the digits, masked
//   where the flow keeps them private). It turns into "On call" with a running timer when the
//   agent picks up and ends when the call does. Agents answer on their SIP phone, so the card
//   has nothing to click to answer. A connected call can be put on hold and resumed, and handed
//   on with Transfer (to an extension, a queue or an outside number): at once (the agent's phone
//   hangs up and the card says where the call went), or after consulting the extension or
//   number while the caller holds (the card then offers Complete transfer, Join all three and
//   Back to caller);
// - calls placed from the inbox: "Call a number" above the call log, "Call back" on a finished
//   call from an outside number (the agent's phone rings first, then the number);
// - the call log (an agent's own calls; every call for supervisors) with each call's timeline
//   and its recordings to play or download;
// - the team's voicemails with a player.
//
// Numbers, caller names and digits come from outside: they reach the page as text nodes only.

import { h, mount, uid, formatDateTime, formatRelative, timeEl, titleCase } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { button, emptyState, errorState, skeletonRows, statusPill, openDialog, field, formAlert, setBusy, showApiError } from '../ui.js';

const LIVE_STATE = {
  ivr: ['In the IVR', 'neutral'],
  queued: ['Waiting', 'warning'],
  ringing: ['Ringing', 'warning'],
  callback: ['Callback pending', 'warning'],
  connected: ['On call', 'success'],
  voicemail: ['Leaving a message', 'warning'],
};

const END_REASON = {
  caller_hangup: 'Caller hung up',
  agent_hangup: 'Agent hung up',
  transfer_hangup: 'Ended after a transfer',
  abandoned: 'Abandoned while waiting',
  flow_hangup: 'Ended by the IVR',
  unrouted: 'Number not routed',
  ivr_guard: 'Stopped by the IVR',
  failed: 'Failed',
  asterisk_restart: 'Lost: Asterisk restarted',
  lost_during_restart: 'Lost while Switchboard restarted',
  callback_failed: 'Callback failed',
  voicemail: 'Voicemail left',
};

// An outside number as the server accepts it (+, country code, at most 15 digits).
const E164 = /^\+[1-9]\d{1,14}$/;

const FILTERS = [
  { id: 'recent', label: 'Recent', state: '' },
  { id: 'live', label: 'Live', state: 'live' },
  { id: 'ended', label: 'Ended', state: 'ended' },
];

// 83 → "1:23", 3723 → "1:02:03".
function clock(totalSecs) {
  const s = Math.max(0, Math.floor(Number(totalSecs) || 0));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

// A transfer node's `to`: `{extension}`, `{number}` or `{queue}`; an agent's transfer says
// `Extension("1002")`, `Queue("sales")` or `Number("+1…")`, a dialled leg its endpoint.
function transferTarget(to) {
  if (typeof to === 'string') {
    const m = /^(Extension|Queue|Number)\("(.*)"\)$/.exec(to);
    if (m) return transferTarget({ [m[1].toLowerCase()]: m[2] });
    return to ? `to ${to}` : null;
  }
  if (!to || typeof to !== 'object') return null;
  if (to.extension) return `to extension ${to.extension}`;
  if (to.number) return `to ${to.number}`;
  if (to.queue) return `to queue ${to.queue}`;
  return null;
}

// ["a", null, node] → ["a", " · ", node]
// The number dialled, after its line's name when routes.yaml gives one: "Support (+14155550100)".
function dialled(line, did) {
  if (!did) return '—';
  return line ? `${line} (${did})` : String(did);
}

function dotted(parts) {
  return parts.filter(Boolean).flatMap((p, i) => (i ? [' · ', p] : [p]));
}

function secondsBetween(from, to) {
  const a = new Date(from).getTime();
  const b = new Date(to).getTime();
  return Number.isFinite(a) && Number.isFinite(b) ? (b - a) / 1000 : null;
}

function endReason(reason) {
  return END_REASON[reason] || (reason ? titleCase(String(reason).replace(/_/g, ' ')) : 'Ended');
}

function stateEl(call) {
  if (call.state === 'ended') return statusPill('Ended', 'neutral');
  const [label, kind] = LIVE_STATE[call.state] || [titleCase(call.state), 'neutral'];
  return statusPill(label, kind);
}

// "options.1" → "option 1", "on_no_agents" → "on no agents".
function exitLabel(exit) {
  return String(exit || '').replace(/^options\./, 'option ').replace(/[._]/g, ' ');
}

/** The IVR steps of a call's timeline, oldest first. */
function ivrSteps(timeline) {
  return (Array.isArray(timeline) ? timeline : []).filter((e) => e && e.kind === 'ivr_node' && e.detail && typeof e.detail === 'object').map((e) => e.detail);
}

// What a caller did in one IVR node: its type, the digits pressed, the exit taken.
function stepParts(step) {
  return [
    step.node_type && step.node_type !== step.node ? h('span', { class: 'call-step-type' }, String(step.node_type)) : null,
    step.digits ? h('span', { class: 'call-step-digits' }, 'pressed ', h('kbd', { title: /\*/.test(step.digits) ? 'Masked: the flow keeps these digits private' : null }, String(step.digits))) : null,
    step.exit ? h('span', { class: 'call-step-exit' }, icon('arrowRight', { size: 12 }), exitLabel(step.exit)) : null,
  ];
}

function ivrStepEl(step) {
  return h('li', { class: 'call-step', dataset: { node: String(step.node || '') } }, h('span', { class: 'call-step-node' }, String(step.node || '?')), stepParts(step));
}

function ivrPath(steps) {
  if (!steps.length) return h('p', { class: 'muted call-path-empty' }, 'No IVR steps.');
  return h('ol', { class: 'call-path', 'aria-label': 'IVR path' }, steps.map(ivrStepEl));
}

/**
 * The calls side of the inbox.
 *   names: { queue(id) → name or '', agent(id) → name or '' }
 *   onOpenCall(id): show a call in the Calls view (from a card or a voicemail)
 *   queues(): the tenant's queues [{ id, name }] (for transfers), toast: the app's toasts
 */
export function createCalls({ api, base, signal, myId, role, names, onOpenCall, queues = () => [], toast = null }) {
  const seesAll = role !== 'agent';
  const cards = new Map(); // call id → { payload, phase, since, endedAt, steps, stepsState }
  const cleanups = [];

  /* ------------------------------------------------------- call cards */

  const dock = h('div', { class: 'call-dock', role: 'region', 'aria-label': 'Calls on your phone', 'aria-live': 'polite', dataset: { testid: 'call-dock' } });

  function renderCards() {
    mount(dock, [...cards.values()].map(cardEl));
    tickCards();
  }

  function cardEl(c) {
    const p = c.payload;
    const number = String(p.caller || '') || 'Unknown number';
    const title = c.phase === 'ringing' ? 'Incoming call' : c.phase === 'connected' ? (p.consult ? (p.consult.joined ? 'Three-way call' : 'Consulting') : p.on_hold ? 'On hold' : 'On call') : c.handedOn ? 'Call transferred' : 'Call ended';
    const queue = p.queue_id != null ? names.queue(p.queue_id) || `Queue #${p.queue_id}` : null;
    const close = c.phase === 'ended' ? h('button', { type: 'button', class: 'icon-btn icon-btn-sm', 'aria-label': 'Dismiss' }, icon('x', { size: 16 })) : null;
    if (close) close.addEventListener('click', () => dismiss(p.call_id));
    const details = h('button', { type: 'button', class: 'btn btn-ghost btn-sm call-card-open' }, 'Call details');
    details.addEventListener('click', () => onOpenCall(p.call_id));
    let controls = null;
    if (c.phase === 'connected') controls = p.consult ? consultControls(p, number) : callControls(p, number);
    const handedOn = c.phase === 'ended' && c.handedOn ? h('span', { class: 'call-handed-on', dataset: { testid: 'call-handed-on' } }, icon('arrowRight', { size: 14 }), `Handed on ${c.handedOn}`) : null;
    return h(
      'section',
      { class: ['offer-card', 'call-card', `is-${c.phase}`], role: 'group', 'aria-label': `${title}: ${number}`, dataset: { testid: 'call-card', callId: String(p.call_id), phase: c.phase } },
      h(
        'div',
        { class: 'offer-top' },
        h('span', { class: 'offer-icon call-icon' }, icon('phone', { size: 18 })),
        h('span', { class: 'offer-title' }, title),
        h('span', { class: 'call-timer', role: 'timer', 'aria-label': c.phase === 'ringing' ? 'Ringing for' : 'Call time' }),
        close,
      ),
      h(
        'div',
        { class: 'call-who' },
        // A known customer by their contact's name; else the name the caller ID gives.
        c.customer && (c.customer.name || c.customer.email) ? h('div', { class: 'call-name', dataset: { testid: 'call-customer' } }, String(c.customer.name || c.customer.email)) : p.caller_name ? h('div', { class: 'call-name' }, String(p.caller_name)) : null,
        h('div', { class: 'call-number', dataset: { testid: 'call-caller' } }, number),
      ),
      h(
        'dl',
        { class: 'call-facts' },
        c.customer && c.customer.email && c.customer.name ? fact('Email', String(c.customer.email)) : null,
        fact('Dialled', dialled(p.line || c.line, p.did)),
        queue ? fact('Queue', queue) : null,
        p.language ? fact('Language', String(p.language)) : null,
      ),
      h('div', { class: 'call-card-path', dataset: { testid: 'call-ivr' } }, h('h3', { class: 'call-subtitle' }, 'IVR path'), c.stepsState === 'loaded' ? ivrPath(c.steps) : h('p', { class: 'muted' }, c.stepsState === 'failed' ? 'Not available.' : 'Loading…')),
      h('p', { class: 'call-hint' }, c.phase === 'ringing' ? [icon('phone', { size: 14 }), ' Answer on your phone.'] : c.phase === 'connected' ? controls : c.phase === 'ended' ? [handedOn, details] : null),
    );
  }

  // Hold or resume, and Transfer (which can consult first).
  function callControls(p, number) {
    const held = Boolean(p.on_hold);
    const hold = button(held ? 'Resume' : 'Hold', { variant: 'secondary', size: 'sm', iconName: held ? 'play' : 'pause', className: 'call-card-hold', attrs: { 'data-testid': held ? 'call-resume' : 'call-hold', 'aria-label': held ? `Take the call from ${number} off hold` : `Put the call from ${number} on hold` } });
    hold.addEventListener('click', () => callAction(p.call_id, hold, held ? 'resume' : 'hold', held ? { on_hold: false } : { on_hold: true }));
    const transfer = button('Transfer', { variant: 'secondary', size: 'sm', iconName: 'arrowRight', className: 'call-card-transfer', attrs: { 'data-testid': 'call-transfer', 'aria-label': `Transfer the call from ${number}` } });
    transfer.addEventListener('click', () => openTransfer(p.call_id));
    return h('span', { class: 'call-controls' }, held ? h('span', { class: 'call-status', dataset: { testid: 'call-status' } }, 'The caller hears music on hold.') : null, hold, transfer);
  }

  // While a colleague is consulted the caller holds: put them through, join all three, or go
  // back to the caller. On a three-way call: leave the other two talking, or drop the colleague.
  function consultControls(p, number) {
    const who = targetLabel(p.consult.to);
    if (p.consult.joined) {
      const leave = button('Leave the call', { variant: 'primary', size: 'sm', iconName: 'arrowRight', className: 'call-card-complete', attrs: { 'data-testid': 'call-consult-complete', 'aria-label': `Leave ${number} talking with ${who}` } });
      leave.addEventListener('click', () => callAction(p.call_id, leave, 'consult/complete', null, who));
      const drop = button(`Drop ${who}`, { variant: 'secondary', size: 'sm', className: 'call-card-cancel', attrs: { 'data-testid': 'call-consult-cancel', 'aria-label': `Hang up ${who} and stay with ${number}` } });
      drop.addEventListener('click', () => callAction(p.call_id, drop, 'consult/cancel', { consult: null, on_hold: false }));
      return h('span', { class: 'call-controls' }, h('span', { class: 'call-status', role: 'status', dataset: { testid: 'call-status' } }, `Three-way call with ${number} and ${who}.`), leave, drop);
    }
    const status = p.consult.answered ? `Talking to ${who}; ${number} is on hold.` : `Calling ${who}… ${number} is on hold.`;
    const complete = button('Complete transfer', { variant: 'primary', size: 'sm', iconName: 'arrowRight', className: 'call-card-complete', attrs: { 'data-testid': 'call-consult-complete', 'aria-label': `Put ${number} through to ${who}` } });
    complete.addEventListener('click', () => callAction(p.call_id, complete, 'consult/complete', null, who));
    let join = null;
    if (p.consult.answered) {
      join = button('Join all three', { variant: 'secondary', size: 'sm', iconName: 'users', className: 'call-card-join', attrs: { 'data-testid': 'call-consult-conference', 'aria-label': `Bring ${number} into your talk with ${who}` } });
      join.addEventListener('click', () => callAction(p.call_id, join, 'consult/conference', { on_hold: false, consult: { ...p.consult, joined: true } }));
    }
    const back = button('Back to caller', { variant: 'secondary', size: 'sm', className: 'call-card-cancel', attrs: { 'data-testid': 'call-consult-cancel', 'aria-label': `Hang up ${who} and talk to ${number} again` } });
    back.addEventListener('click', () => callAction(p.call_id, back, 'consult/cancel', { consult: null, on_hold: false }));
    return h('span', { class: 'call-controls' }, h('span', { class: 'call-status', role: 'status', dataset: { testid: 'call-status' } }, status), complete, join, back);
  }

  // `{extension}`, `{number}` or `{queue}` as the agent asked for it.
  function targetLabel(to) {
    if (!to || typeof to !== 'object') return 'your colleague';
    if (to.extension) return `extension ${to.extension}`;
    if (to.number) return String(to.number);
    if (to.queue) return `queue ${to.queue}`;
    return 'your colleague';
  }

  /**
   * One of the connected call's actions (`hold`, `resume`, `consult/complete`, `consult/cancel`).
   * `patch` updates the card at once (the call's own event follows); a completed consultation
   * ends the card as handed on to `handedTo`.
   */
  async function callAction(callId, btn, path, patch, handedTo = null) {
    setBusy(btn, true);
    try {
      await api.post(`${base}/calls/${seg(callId)}/${path}`, {});
      const card = cards.get(callId);
      if (handedTo && card) {
        card.handedOn = `to ${handedTo}`;
        upsertCard({ call_id: callId, consult: null, on_hold: false }, 'ended', Date.now());
        if (toast) toast.success(`Call transferred to ${handedTo}.`);
      } else if (patch && card && card.phase === 'connected') {
        upsertCard({ call_id: callId, ...patch }, 'connected', Date.now());
      }
      refreshSoon();
    } catch (err) {
      if (err.name === 'AbortError') return;
      setBusy(btn, false);
      if (toast) toast.error(err.message || 'That did not work.');
    }
  }

  function fact(term, value) {
    return h('div', { class: 'detail' }, h('dt', null, term), h('dd', null, value));
  }

  function tickCards() {
    const now = Date.now();
    for (const el of dock.querySelectorAll('.call-card')) {
      const c = cards.get(Number(el.dataset.callId));
      const timer = el.querySelector('.call-timer');
      if (!c || !timer) continue;
      timer.textContent = clock(((c.endedAt || now) - c.since) / 1000);
    }
  }
  const tick = setInterval(() => {
    if (cards.size) tickCards();
  }, 1000);
  cleanups.push(() => clearInterval(tick));

  /* ------------------------------------------------------ transfer */

  // Every member reads the phone directory: the tenant's phones with their names, who uses
  // them and whether each takes a call now (nothing about SIP), less the agent's own phone.
  // Read at every opening, since who is free changes from call to call; without it (an error)
  // the number is typed.
  async function loadDirectory() {
    try {
      const res = await api.get(`${base}/phone-directory`, { signal });
      return ((res && res.items) || []).filter((x) => x && x.number && !x.mine);
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      return null;
    }
  }

  const AVAILABILITY = {
    available: ['Available', 'success'],
    on_call: ['On a call', 'warning'],
    dnd: ['Do not disturb', 'warning'],
    offline: ['Offline', 'neutral'],
    unknown: ['Unknown', 'neutral'],
  };

  // The Extension field: a box to type a number (or part of a name, to narrow the list) with
  // the directory listed under it, as a combobox: the arrow keys move through the phones,
  // Enter or a click puts the chosen one's number in the box, and the focus stays in the box.
  function extensionPicker(entries) {
    const f = field({ name: 'extension', label: 'Extension', required: true, autocomplete: 'off', placeholder: entries && entries.length ? '1002 or a name' : '1002', hint: entries && entries.length ? 'Type the number, or pick a phone from the directory.' : 'The number of the phone to ring (2–10 digits).' });
    f.resolve = () => String(f.input.value || '').trim();
    if (!entries || !entries.length) {
      f.input.setAttribute('inputmode', 'numeric');
      return f;
    }
    const list = h('ul', { id: uid('xfer-directory'), class: 'picker-list', role: 'listbox', 'aria-label': 'Phone directory', dataset: { testid: 'phone-directory' } });
    f.input.setAttribute('role', 'combobox');
    f.input.setAttribute('aria-autocomplete', 'list');
    f.input.setAttribute('aria-controls', list.id);
    f.input.setAttribute('aria-expanded', 'true');
    const options = entries.map((x) => {
      const [label, kind] = AVAILABILITY[x.status] || AVAILABILITY.unknown;
      const who = x.agent_name && x.agent_name !== x.display_name ? `${x.display_name} · ${x.agent_name}` : x.display_name;
      const el = h('li', { id: uid('xfer-phone'), role: 'option', class: 'picker-option', 'aria-selected': 'false', dataset: { number: x.number, status: x.status } }, h('code', null, x.number), h('span', { class: 'picker-name' }, who), statusPill(label, kind));
      // Picking with the mouse leaves the focus in the box.
      el.addEventListener('mousedown', (event) => event.preventDefault());
      el.addEventListener('click', () => choose(x));
      return { x, el, text: `${x.number} ${x.display_name} ${x.agent_name || ''}`.toLowerCase() };
    });
    const none = h('li', { class: 'picker-empty', role: 'presentation' }, 'No phone in the directory matches.');
    let shown = options;
    let active = -1;
    function setActive(i) {
      active = i;
      shown.forEach((o, j) => o.el.classList.toggle('is-active', j === i));
      if (i >= 0 && shown[i]) {
        f.input.setAttribute('aria-activedescendant', shown[i].el.id);
        shown[i].el.scrollIntoView({ block: 'nearest' });
      } else {
        f.input.removeAttribute('aria-activedescendant');
      }
    }
    function render() {
      const typed = String(f.input.value || '').trim();
      const q = typed.toLowerCase();
      const exact = options.find((o) => o.x.number === typed);
      // A picked (or fully typed) number shows the whole directory, with that phone marked.
      shown = exact || !q ? options : options.filter((o) => o.x.number.startsWith(q) || o.text.includes(q));
      for (const o of options) o.el.setAttribute('aria-selected', String(o === exact));
      list.replaceChildren(...(shown.length ? shown.map((o) => o.el) : [none]));
      setActive(-1);
    }
    function choose(x) {
      f.input.value = x.number;
      f.clearError();
      render();
      f.input.focus();
    }
    f.input.addEventListener('input', render);
    f.input.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const n = shown.length;
        if (n) setActive(event.key === 'ArrowDown' ? (active + 1) % n : (active - 1 + n) % n);
      } else if (event.key === 'Enter' && active >= 0 && shown[active]) {
        event.preventDefault();
        choose(shown[active].x);
      }
    });
    f.input.after(list);
    render();
    // Part of a name that leaves one phone stands for its number.
    f.resolve = () => {
      const typed = String(f.input.value || '').trim();
      return !/^\d*$/.test(typed) && shown.length === 1 ? shown[0].x.number : typed;
    };
    return f;
  }

  const KINDS = [
    { id: 'extension', label: 'Extension' },
    { id: 'queue', label: 'Queue' },
    { id: 'number', label: 'Number' },
  ];

  let transferOpen = false;
  async function openTransfer(callId) {
    const c = cards.get(callId);
    if (!c || c.phase !== 'connected' || transferOpen) return;
    transferOpen = true;
    let directory = null;
    try {
      directory = await loadDirectory();
    } catch {
      transferOpen = false;
      return;
    }
    if (!cards.get(callId) || cards.get(callId).phase !== 'connected') {
      transferOpen = false;
      return;
    }
    const queueList = (queues() || []).filter((q) => q && q.name);
    const currentQueue = c.payload.queue_id != null ? queueList.find((q) => q.id === c.payload.queue_id) : null;

    const extField = extensionPicker(directory);
    const queueField = field({
      name: 'queue',
      label: 'Queue',
      type: 'select',
      required: true,
      value: (queueList.find((q) => q !== currentQueue) || currentQueue || {}).name || '',
      options: queueList.length ? queueList.map((q) => ({ value: q.name, label: q === currentQueue ? `${q.name} (current)` : q.name })) : [{ value: '', label: 'No queue' }],
      hint: 'The caller waits in the queue again.',
    });
    const numberField = field({ name: 'number', label: 'Number', type: 'tel', required: true, inputmode: 'tel', autocomplete: 'off', placeholder: '+14155550100', hint: 'In international (E.164) form: + and the country code.' });
    const fields = { extension: extField, queue: queueField, number: numberField };

    const radios = h('div', { class: 'seg seg-3', role: 'radiogroup', 'aria-label': 'Transfer to' });
    let kind = 'extension';
    function pick(next, focus) {
      kind = next;
      for (const b of radios.children) {
        const on = b.dataset.kind === kind;
        b.setAttribute('aria-checked', String(on));
        b.tabIndex = on ? 0 : -1;
      }
      for (const [k, f] of Object.entries(fields)) f.el.hidden = k !== kind;
      // A queue has nobody to talk to first.
      consultBtn.hidden = kind === 'queue';
      alertBox.clear();
      if (focus) radios.querySelector(`[data-kind="${kind}"]`).focus();
    }
    for (const k of KINDS) {
      const b = h('button', { type: 'button', role: 'radio', class: 'seg-btn', dataset: { kind: k.id } }, k.label);
      b.addEventListener('click', () => pick(k.id, false));
      b.addEventListener('keydown', (event) => {
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
        if (!step) return;
        event.preventDefault();
        const i = KINDS.findIndex((x) => x.id === kind);
        pick(KINDS[(i + step + KINDS.length) % KINDS.length].id, true);
      });
      radios.append(b);
    }

    const alertBox = formAlert();
    const submitBtn = button('Transfer', { variant: 'primary', type: 'submit', attrs: { 'data-testid': 'call-transfer-submit' } });
    // Not a submit button: Enter in a field means Transfer, the dialog's primary action.
    const consultBtn = button('Consult first', { variant: 'secondary', attrs: { 'data-testid': 'call-consult-submit', title: 'The caller holds while you talk to them; then put the caller through or go back.' } });
    const cancel = button('Cancel');
    const formId = `call-transfer-${callId}`;
    const form = h('form', { class: 'dialog-form', id: formId, novalidate: true }, alertBox.el, h('div', { class: 'field' }, h('span', { class: 'label', 'aria-hidden': 'true' }, 'Transfer to'), radios), extField.el, queueField.el, numberField.el);
    submitBtn.setAttribute('form', formId);
    pick('extension', false);
    const number = String(c.payload.caller || '') || 'the caller';
    const dlg = openDialog({ title: 'Transfer call', description: `Transfer hands ${number} on at once: your phone hangs up and wrap-up starts. Consult first puts ${number} on hold while you talk to the extension or number.`, body: form, footer: [cancel, consultBtn, submitBtn], initialFocus: () => radios.querySelector('[aria-checked="true"]') });
    dlg.el.dataset.testid = 'call-transfer-dialog';
    cancel.addEventListener('click', () => dlg.close());
    dlg.closed.then(() => {
      transferOpen = false;
      // The card may have been drawn again meanwhile: back to its Transfer button (or the dock).
      if (document.activeElement && document.activeElement !== document.body) return;
      const again = dock.querySelector(`.call-card[data-call-id="${callId}"] .call-card-transfer`) || dock.querySelector(`.call-card[data-call-id="${callId}"] .call-card-open`);
      if (again) again.focus();
    });

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      send(false);
    });
    consultBtn.addEventListener('click', () => send(true));

    async function send(consult) {
      alertBox.clear();
      const f = fields[kind];
      f.clearError();
      const value = kind === 'extension' ? extField.resolve() : String(f.input.value || '').trim();
      let problem = null;
      if (!value) problem = kind === 'extension' ? 'Type or pick an extension.' : kind === 'queue' ? 'Choose a queue.' : 'Enter a number.';
      else if (kind === 'extension' && !/^\d{2,10}$/.test(value)) problem = 'An extension is 2 to 10 digits.';
      else if (kind === 'number' && !E164.test(value)) problem = 'Enter the number in E.164 form, like +14155550100.';
      if (problem) {
        f.setError(problem);
        f.input.focus();
        return;
      }
      const where = kind === 'extension' ? `to extension ${value}` : kind === 'queue' ? `to queue ${value}` : `to ${value}`;
      if (consult && kind !== 'queue') {
        setBusy(consultBtn, true);
        try {
          await api.post(`${base}/calls/${seg(callId)}/consult`, { [kind]: value });
          dlg.close(true);
          if (cards.get(callId)) upsertCard({ call_id: callId, on_hold: true, consult: { to: { [kind]: value }, answered: false } }, 'connected', Date.now());
          refreshSoon();
        } catch (err) {
          if (err.name === 'AbortError') return;
          setBusy(consultBtn, false);
          showApiError(err, { [kind]: f }, alertBox);
        }
        return;
      }
      setBusy(submitBtn, true);
      try {
        // The body is the target itself: {"extension": "1002"}, {"queue": "sales"} or {"number": "+1…"}.
        await api.post(`${base}/calls/${seg(callId)}/transfer`, { [kind]: value });
        dlg.close(true);
        const card = cards.get(callId);
        if (card) {
          card.handedOn = where;
          if (card.phase !== 'ended') upsertCard({ call_id: callId }, 'ended', Date.now());
          else renderCards();
        }
        if (toast) toast.success(`Call transferred ${where}.`);
        refreshSoon();
      } catch (err) {
        if (err.name === 'AbortError') return;
        setBusy(submitBtn, false);
        showApiError(err, { [kind]: f }, alertBox);
      }
    }
  }

  /* ------------------------------------------------------ click-to-call */

  let dialOpen = false;

  /** Places a call: the agent's own phone rings first, then `prefill` (or the number typed)
   * is dialled and the two are connected. */
  function openDial(prefill) {
    if (dialOpen) return;
    dialOpen = true;
    const numberField = field({ name: 'to', label: 'Number', type: 'tel', required: true, inputmode: 'tel', autocomplete: 'off', placeholder: '+14155550100', value: prefill, hint: 'In international (E.164) form: + and the country code.' });
    const alertBox = formAlert();
    const submitBtn = button('Call', { variant: 'primary', type: 'submit', iconName: 'phone', attrs: { 'data-testid': 'call-dial-submit' } });
    const cancel = button('Cancel');
    const formId = uid('call-dial');
    const form = h('form', { class: 'dialog-form', id: formId, novalidate: true }, alertBox.el, numberField.el);
    submitBtn.setAttribute('form', formId);
    const dlg = openDialog({ title: 'Call a number', description: 'Your phone rings first. When you pick up, the number is dialled and you are connected.', body: form, footer: [cancel, submitBtn], initialFocus: () => numberField.input });
    dlg.el.dataset.testid = 'call-dial-dialog';
    cancel.addEventListener('click', () => dlg.close());
    dlg.closed.then(() => {
      dialOpen = false;
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      numberField.clearError();
      // People paste numbers with spaces, dots, dashes and brackets.
      const to = String(numberField.input.value || '').replace(/[\s().-]/g, '');
      if (!E164.test(to)) {
        numberField.setError('Enter the number in E.164 form, like +14155550100.');
        numberField.input.focus();
        return;
      }
      setBusy(submitBtn, true);
      try {
        const call = await api.post(`${base}/calls`, { to });
        dlg.close(true);
        if (toast) toast.success(`Calling ${to}: pick up your phone.`);
        if (log.visible && call && call.id != null) {
          loadLog({ quiet: true });
          select(call.id);
        } else {
          refreshSoon();
        }
      } catch (err) {
        if (err.name === 'AbortError') return;
        setBusy(submitBtn, false);
        showApiError(err, { to: numberField }, alertBox);
      }
    });
  }

  function dismiss(callId) {
    const c = cards.get(callId);
    if (c) clearTimeout(c.dismissTimer);
    if (cards.delete(callId)) renderCards();
  }

  function upsertCard(payload, phase, atMs) {
    const id = Number(payload.call_id);
    if (!Number.isFinite(id)) return;
    let c = cards.get(id);
    if (!c) {
      c = { payload, phase, since: atMs, endedAt: null, steps: [], stepsState: 'loading', dismissTimer: 0 };
      cards.set(id, c);
      loadSteps(id);
    }
    c.payload = { ...c.payload, ...payload };
    if (phase === 'connected' && c.phase !== 'connected') c.since = atMs;
    if (phase === 'ended') {
      c.endedAt = atMs;
      clearTimeout(c.dismissTimer);
      // Long enough to read how it ended; the call stays in the Calls view.
      c.dismissTimer = setTimeout(() => dismiss(id), 15_000);
    }
    c.phase = phase;
    renderCards();
  }

  async function loadSteps(id) {
    try {
      const detail = await api.get(`${base}/calls/${seg(id)}`, { signal });
      const c = cards.get(id);
      if (!c) return;
      c.steps = ivrSteps(detail && detail.timeline);
      c.customer = (detail && detail.customer) || null;
      c.line = (detail && detail.line) || null;
      c.stepsState = 'loaded';
    } catch (err) {
      if (err.name === 'AbortError') return;
      const c = cards.get(id);
      if (!c) return;
      c.stepsState = 'failed';
    }
    renderCards();
  }

  function dropRinging(contactId) {
    let changed = false;
    for (const [id, c] of cards) {
      if (c.phase === 'ringing' && contactId != null && c.payload.contact_id === contactId) {
        cards.delete(id);
        changed = true;
      }
    }
    if (changed) renderCards();
  }

  /** The calls connected to this agent now (after a reload or a reconnect). */
  async function restore() {
    try {
      const res = await api.get(`${base}/calls`, { signal, query: { state: 'connected', agent_id: seesAll ? myId : undefined, limit: 20 } });
      for (const call of (res && res.items) || []) {
        if (call.agent_id !== myId || cards.has(call.id)) continue;
        upsertCard({ call_id: call.id, contact_id: call.contact_id, caller: call.caller, did: call.did, queue_id: call.queue_id }, 'connected', new Date(call.answered_at || call.started_at).getTime());
      }
    } catch {
      /* the cards come with the next events */
    }
  }

  /* ---------------------------------------------------------- call log */

  const log = { filter: 'recent', items: [], nextBefore: null, selectedId: null, seq: 0, detailSeq: 0, visible: false, detail: null };

  const filterTabs = h('div', { class: 'seg seg-3', role: 'tablist', 'aria-label': 'Call filter' });
  for (const f of FILTERS) {
    const b = h('button', { type: 'button', role: 'tab', class: 'seg-btn', 'aria-selected': String(f.id === log.filter), dataset: { filter: f.id } }, f.label);
    b.addEventListener('click', () => {
      log.filter = f.id;
      for (const x of filterTabs.children) x.setAttribute('aria-selected', String(x === b));
      loadLog();
    });
    filterTabs.append(b);
  }
  const logSlot = h('div', { class: 'conv-scroll' });
  const dialBtn = button('Call a number', { variant: 'secondary', size: 'sm', iconName: 'phone', className: 'call-dial', attrs: { 'data-testid': 'call-dial' } });
  dialBtn.addEventListener('click', () => openDial(''));
  const listPane = h('section', { class: 'inbox-list', 'aria-label': 'Call list' }, h('div', { class: 'inbox-filters' }, filterTabs, dialBtn), logSlot);
  const detailPane = h('section', { class: 'inbox-thread call-detail-pane', 'aria-label': 'Call' });

  async function loadLog({ quiet = false, more = false } = {}) {
    const seq = ++log.seq;
    if (!quiet && !more) mount(logSlot, skeletonRows(5));
    const f = FILTERS.find((x) => x.id === log.filter) || FILTERS[0];
    try {
      const res = await api.get(`${base}/calls`, { signal, query: { state: f.state, limit: 50, before: more ? log.nextBefore : undefined } });
      if (seq !== log.seq) return;
      const items = (res && res.items) || [];
      log.items = more ? log.items.concat(items) : items;
      log.nextBefore = res && res.next_before;
      renderLog();
    } catch (err) {
      if (err.name === 'AbortError' || seq !== log.seq) return;
      if (!quiet) mount(logSlot, errorState({ title: "Couldn't load calls", message: err.message, onRetry: () => loadLog() }));
    }
  }

  function renderLog() {
    if (!log.items.length) {
      const [title, message] = {
        live: ['No calls right now', 'Calls in the IVR, waiting or connected show here.'],
        ended: ['No ended calls', 'Finished calls are kept here with their timeline and recordings.'],
      }[log.filter] || ['No calls yet', seesAll ? 'Calls to your numbers show here.' : 'Calls you take on your phone show here.'];
      mount(logSlot, emptyState({ iconName: 'phone', title, message }));
      return;
    }
    const more = log.nextBefore ? button('Show older calls', { variant: 'ghost', size: 'sm', className: 'call-more' }) : null;
    if (more) more.addEventListener('click', () => loadLog({ quiet: true, more: true }));
    mount(logSlot, h('ul', { class: 'conv-list', 'aria-label': 'Calls' }, log.items.map(logRow)), more);
  }

  function logRow(call) {
    const talk = call.answered_at ? secondsBetween(call.answered_at, call.ended_at || new Date()) : null;
    const queue = call.queue_id != null ? names.queue(call.queue_id) || `Queue #${call.queue_id}` : null;
    const agent = seesAll && call.agent_id != null ? (call.agent_id === myId ? 'You' : names.agent(call.agent_id) || `Agent #${call.agent_id}`) : null;
    // A transferred call names whom the caller was put through to, after the agent who did it.
    const handedTo = call.transferred_to ? `→ ${call.transferred_to}` : null;
    const summary = [queue, agent, handedTo, talk != null ? `talked ${clock(talk)}` : call.state === 'ended' ? 'not answered' : null].filter(Boolean).join(' · ');
    const link = h(
      'a',
      { class: ['conv-row', 'call-row', call.id === log.selectedId && 'is-selected'], href: `#/inbox?view=calls&call=${call.id}`, dataset: { callId: String(call.id), testid: 'call-row' }, 'aria-current': call.id === log.selectedId ? 'true' : null },
      h('span', { class: ['call-row-icon', call.state !== 'ended' && 'is-live'], 'aria-hidden': 'true' }, icon('phone', { size: 16 })),
      h(
        'span',
        { class: 'conv-main' },
        h('span', { class: 'conv-top' }, h('span', { class: 'conv-name' }, String(call.caller || 'Unknown number')), h('span', { class: 'conv-time' }, formatRelative(call.started_at))),
        h('span', { class: 'conv-preview' }, summary || `To ${call.did}`),
        h('span', { class: 'conv-meta' }, h('span', { class: 'chip' }, titleCase(call.direction || 'inbound')), stateEl(call), call.state === 'ended' ? h('span', { class: 'muted call-outcome' }, endReason(call.end_reason)) : null),
      ),
    );
    link.addEventListener('click', (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      select(call.id);
    });
    return h('li', null, link);
  }

  function renderNoCall() {
    mount(detailPane, emptyState({ iconName: 'phone', title: 'Pick a call', message: 'Choose a call on the left to see its timeline and recordings.' }));
  }

  function select(id) {
    log.selectedId = id;
    window.history.replaceState(null, '', `#/inbox?view=calls&call=${id}`);
    renderLog();
    onSelected(true);
    loadDetail(id);
  }

  // The layout shows the list or the detail on a phone; the inbox page owns that switch.
  let onSelected = () => {};

  let storedTimer = 0;
  cleanups.push(() => clearTimeout(storedTimer));

  async function loadDetail(id, { quiet = false } = {}) {
    const seq = ++log.detailSeq;
    clearTimeout(storedTimer);
    if (!quiet) mount(detailPane, skeletonRows(4));
    try {
      const call = await api.get(`${base}/calls/${seg(id)}`, { signal });
      if (seq !== log.detailSeq) return;
      log.detail = call;
      renderDetail(call);
      // Recordings are fetched from Asterisk once the call is over: look again until stored.
      if ((call.recordings || []).some((r) => !r.available)) {
        storedTimer = setTimeout(() => {
          if (log.visible && log.selectedId === id) loadDetail(id, { quiet: true });
        }, 2000);
      }
    } catch (err) {
      if (err.name === 'AbortError' || seq !== log.detailSeq) return;
      log.detail = null;
      mount(detailPane, errorState({ title: err.status === 404 ? 'Call not found' : "Couldn't load the call", message: err.message, onRetry: err.status === 404 ? null : () => loadDetail(id) }));
    }
  }

  function renderDetail(call) {
    const back = h('button', { type: 'button', class: 'icon-btn thread-back', 'aria-label': 'Back to calls' }, icon('arrowRight', { size: 18, className: 'flip' }));
    back.addEventListener('click', () => {
      log.selectedId = null;
      window.history.replaceState(null, '', '#/inbox?view=calls');
      onSelected(false);
      renderLog();
    });
    const wait = call.answered_at ? secondsBetween(call.started_at, call.answered_at) : null;
    const talk = call.answered_at && call.ended_at ? secondsBetween(call.answered_at, call.ended_at) : null;
    const total = call.ended_at ? secondsBetween(call.started_at, call.ended_at) : null;
    const queue = call.queue_id != null ? names.queue(call.queue_id) || `#${call.queue_id}` : null;
    const agent = call.agent_id != null ? (call.agent_id === myId ? 'You' : names.agent(call.agent_id) || `#${call.agent_id}`) : null;
    const recordings = Array.isArray(call.recordings) ? call.recordings : [];
    const timeline = Array.isArray(call.timeline) ? call.timeline : [];
    mount(
      detailPane,
      h(
        'header',
        { class: 'thread-head' },
        back,
        h(
          'div',
          { class: 'thread-heading' },
          h('h2', { class: 'thread-title', dataset: { testid: 'call-title' } }, String(call.caller || 'Unknown number')),
          // Call back sits by the call's facts: the dock of call cards covers the header's far end.
          h('div', { class: 'thread-sub' }, h('span', { class: 'chip' }, titleCase(call.direction || 'inbound')), stateEl(call), h('span', { class: 'muted' }, `Call #${call.id}`), callBackButton(call)),
        ),
      ),
      h(
        'div',
        { class: 'call-body', dataset: { testid: 'call-detail' } },
        h(
          'section',
          { class: 'call-section', 'aria-labelledby': `call-${call.id}-facts` },
          h('h3', { class: 'call-subtitle', id: `call-${call.id}-facts` }, 'Details'),
          h(
            'dl',
            { class: 'ctx-details' },
            call.customer ? fact('Customer', h('span', { dataset: { testid: 'call-customer' } }, [call.customer.name, call.customer.email].filter(Boolean).join(' · ') || `Contact #${call.customer.id}`)) : null,
            fact('Dialled', h('span', { dataset: { testid: 'call-dialled' } }, dialled(call.line, call.did))),
            call.flow ? fact('IVR flow', String(call.flow)) : null,
            queue ? fact('Queue', queue) : null,
            agent ? fact('Agent', agent) : null,
            call.transferred_to ? fact('Transferred to', h('span', { dataset: { testid: 'call-transferred-to' } }, String(call.transferred_to))) : null,
            fact('Started', formatDateTime(call.started_at)),
            wait != null ? fact('Answered', `${formatDateTime(call.answered_at)} (after ${clock(wait)})`) : null,
            call.ended_at ? fact('Ended', formatDateTime(call.ended_at)) : null,
            talk != null ? fact('Talk time', clock(talk)) : total != null ? fact('Length', clock(total)) : null,
            call.state === 'ended' ? fact('Outcome', h('span', { dataset: { testid: 'call-outcome' } }, endReason(call.end_reason))) : null,
          ),
        ),
        h(
          'section',
          { class: 'call-section', 'aria-labelledby': `call-${call.id}-recordings` },
          h('h3', { class: 'call-subtitle', id: `call-${call.id}-recordings` }, 'Recordings'),
          recordings.length ? h('ul', { class: 'recording-list' }, recordings.map((r) => recordingEl(r))) : h('p', { class: 'muted' }, 'No recording of this call.'),
        ),
        h(
          'section',
          { class: 'call-section', 'aria-labelledby': `call-${call.id}-timeline` },
          h('h3', { class: 'call-subtitle', id: `call-${call.id}-timeline` }, 'Timeline'),
          timeline.length ? h('ol', { class: 'call-timeline', dataset: { testid: 'call-timeline' } }, timeline.map(timelineEl)) : h('p', { class: 'muted' }, 'Nothing recorded yet.'),
        ),
      ),
    );
  }

  /** "Call back" for a finished call with an outside number (not a colleague's extension). */
  function callBackButton(call) {
    if (call.state !== 'ended' || !E164.test(String(call.caller || ''))) return null;
    const b = button('Call back', { variant: 'secondary', size: 'sm', iconName: 'phone', className: 'call-back', attrs: { 'data-testid': 'call-back' } });
    b.addEventListener('click', () => openDial(String(call.caller)));
    return b;
  }

  function timelineEl(e) {
    const [label, more] = describe(e);
    return h(
      'li',
      { class: ['call-event', `call-event-${String(e.kind).replace(/[^a-z_]/g, '')}`], dataset: { kind: String(e.kind) } },
      h('time', { class: 'call-event-at', datetime: e.at, title: formatDateTime(e.at) }, new Date(e.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })),
      h('span', { class: 'call-event-what' }, h('span', { class: 'call-event-label' }, label), more ? h('span', { class: 'call-event-more' }, more) : null),
    );
  }

  // A timeline entry in words: [what happened, the detail worth showing].
  function describe(e) {
    const d = e.detail && typeof e.detail === 'object' ? e.detail : {};
    const who = (id) => (id === myId ? 'you' : names.agent(id) || `agent #${id}`);
    const why = typeof d.why === 'string' ? d.why : null;
    switch (e.kind) {
      case 'entered':
        return ['Call came in', [d.did ? `to ${dialled(d.line, d.did)}` : null, d.flow ? `flow ${d.flow}` : null].filter(Boolean).join(' · ')];
      case 'ivr_node':
        return [`IVR: ${d.node || '?'}`, stepParts(d)];
      case 'queued':
        return [`Queued in ${d.queue || names.queue(d.queue_id) || 'a queue'}`, d.position != null ? `position ${d.position}` : null];
      case 'announced':
        return ['Place in line announced', d.position != null ? `position ${d.position}` : null];
      case 'offered':
        return [`Rang ${who(d.agent_id)}`, d.extension ? `extension ${d.extension}` : null];
      case 'offer_failed':
        return [`Could not ring ${who(d.agent_id)}`, why];
      case 'answered':
        return [`Answered by ${who(d.agent_id)}`, null];
      case 'requeued':
        return [`Back in the queue after ${who(d.agent_id)} answered`, why];
      case 'recording':
        return ['Recording started', null];
      case 'voicemail':
        return ['Voicemail', d.mailbox ? `mailbox ${d.mailbox}` : null];
      case 'abandoned':
        return ['Caller hung up while waiting', null];
      case 'left_queue':
        return ['Left the queue', why];
      case 'callback_offered':
        return ['Callback offered', d.key ? `key ${d.key}` : null];
      case 'callback_accepted':
        return ['Callback accepted', d.number || null];
      case 'callback_registered':
        return ['Callback registered', [d.queue, d.number].filter(Boolean).join(' · ')];
      case 'callback_dialing':
        return [`Calling back with ${who(d.agent_id)}`, d.number || null];
      case 'transferred_by_agent':
        return [`${d.attended ? (d.conference ? 'Handed over' : 'Put through') : 'Transferred'} by ${d.agent_id != null ? who(d.agent_id) : 'the agent'}`, [transferTarget(d.to), d.attended ? (d.conference ? 'after a three-way call' : d.answered ? 'after consulting' : 'while it rang') : null].filter(Boolean).join(' · ') || null];
      case 'on_hold':
        return [`Put on hold by ${d.agent_id != null ? who(d.agent_id) : 'the agent'}`, null];
      case 'off_hold':
        return ['Taken off hold', null];
      case 'consulting':
        return [`Consulted ${(transferTarget(d.to) || '').replace(/^to /, '') || 'a colleague'}`, d.agent_id != null ? `by ${who(d.agent_id)}` : null];
      case 'consult_answered':
        return ['Consultation answered', 'the caller on hold'];
      case 'consult_failed':
        return ['Consultation failed', why];
      case 'consult_cancelled':
        return ['Back to the caller', 'consultation called off'];
      case 'consult_ended':
        return ['Back to the caller', 'the colleague hung up'];
      case 'conference':
        return [`Three-way call`, d.agent_id != null ? `joined by ${who(d.agent_id)}` : null];
      case 'transferring':
        return ['Transferring', transferTarget(d.to)];
      case 'failover':
        return [`Sent to the number's failover: ${d.to}`, 'the IVR flow could not go on'];
      case 'forwarded':
        return [`Forwarded to ${d.to}`, d.from ? `${d.from} forwards its calls` : null];
      case 'transfer_failed':
        return ['Transfer failed', [transferTarget(d.to), why].filter(Boolean).join(' · ') || null];
      case 'transferred':
        return ['Transferred', null];
      case 'colleague_held':
        return [`With ${who(d.agent_id)} now`, 'busy to routing until the call ends'];
      case 'ended':
        return ['Call ended', endReason(d.reason)];
      default:
        return [titleCase(String(e.kind || 'event').replace(/_/g, ' ')), why];
    }
  }

  /* --------------------------------------------------------- voicemail */

  const vm = { items: [], seq: 0, visible: false, unseen: 0, callers: new Map(), retry: 0 };
  const vmSlot = h('div', { class: 'vm-scroll' });
  const vmPane = h('section', { class: 'vm-pane', 'aria-labelledby': 'vm-title' }, h('header', { class: 'vm-head' }, h('h2', { class: 'thread-title', id: 'vm-title' }, 'Voicemail'), h('p', { class: 'muted' }, 'Messages callers left for the team, newest first.')), vmSlot);
  let onUnseen = () => {};

  async function loadVoicemail({ quiet = false } = {}) {
    const seq = ++vm.seq;
    clearTimeout(vm.retry);
    if (!quiet) mount(vmSlot, skeletonRows(3));
    try {
      const [items, calls] = await Promise.all([
        api.get(`${base}/voicemails`, { signal }),
        // Supervisors may read every call: show who left each message.
        seesAll ? api.get(`${base}/calls`, { signal, query: { limit: 200 } }).catch(() => null) : null,
      ]);
      if (seq !== vm.seq) return;
      vm.items = Array.isArray(items) ? items : [];
      for (const c of (calls && calls.items) || []) vm.callers.set(c.id, c.caller);
      renderVoicemail();
      // A message is playable once Switchboard has fetched it from Asterisk.
      if (vm.items.some((r) => !r.available) && vm.visible) vm.retry = setTimeout(() => loadVoicemail({ quiet: true }), 2000);
    } catch (err) {
      if (err.name === 'AbortError' || seq !== vm.seq) return;
      if (!quiet) mount(vmSlot, errorState({ title: "Couldn't load voicemail", message: err.message, onRetry: () => loadVoicemail() }));
    }
  }
  cleanups.push(() => clearTimeout(vm.retry));

  function renderVoicemail() {
    if (!vm.items.length) {
      mount(vmSlot, emptyState({ iconName: 'voicemail', title: 'No voicemail', message: 'Messages left in the team’s mailboxes, and in your own extension’s, show here.' }));
      return;
    }
    mount(vmSlot, h('ul', { class: 'vm-list', 'aria-label': 'Voicemails' }, vm.items.map(voicemailEl)));
  }

  function voicemailEl(r) {
    const caller = vm.callers.get(r.call_id);
    const box = mailboxLabel(r);
    const open = seesAll ? h('a', { href: `#/inbox?view=calls&call=${r.call_id}`, class: 'vm-call' }, `Call #${r.call_id}`) : null;
    if (open)
      open.addEventListener('click', (event) => {
        event.preventDefault();
        onOpenCall(r.call_id);
      });
    return h(
      'li',
      { class: 'vm-item', dataset: { testid: 'voicemail', recordingId: String(r.id), callId: String(r.call_id) } },
      h(
        'div',
        { class: 'vm-top' },
        h('span', { class: 'offer-icon', 'aria-hidden': 'true' }, icon('voicemail', { size: 18 })),
        h(
          'div',
          { class: 'vm-who' },
          h('div', { class: 'vm-title' }, caller ? String(caller) : box || 'Voicemail'),
          h('div', { class: 'vm-sub muted' }, dotted([caller ? box : null, r.duration_secs != null ? clock(r.duration_secs) : null, timeEl(r.created_at)])),
        ),
        open,
      ),
      recordingPlayer(r, caller ? `Voicemail from ${caller}` : `Voicemail ${r.id}`),
    );
  }

  /* --------------------------------------------------------- recordings */

  // A message in an agent's own box says whose (theirs: "Your mailbox"); others name the box.
  function mailboxLabel(r) {
    if (r.owner_user_id != null) return r.owner_user_id === myId ? 'Your mailbox' : `${names.agent(r.owner_user_id) || `Agent #${r.owner_user_id}`}’s mailbox`;
    return r.mailbox ? `Mailbox ${r.mailbox}` : null;
  }

  function recordingEl(r) {
    const box = r.kind === 'voicemail' ? mailboxLabel(r) : null;
    const label = r.kind === 'voicemail' ? `Voicemail${box ? ` · ${box}` : ''}` : 'Call recording';
    return h(
      'li',
      { class: 'recording', dataset: { testid: 'recording', recordingId: String(r.id) } },
      h('div', { class: 'recording-top' }, h('span', { class: 'recording-label' }, label), h('span', { class: 'muted' }, [r.duration_secs != null ? clock(r.duration_secs) : null, formatDateTime(r.created_at)].filter(Boolean).join(' · '))),
      recordingPlayer(r, label),
    );
  }

  // The audio is served from our own origin with the session cookie; only that path is used.
  function recordingPlayer(r, label) {
    const url = typeof r.audio_url === 'string' && /^\/api\/v1\/tenants\/\d+\/recordings\/\d+\/audio$/.test(r.audio_url) ? r.audio_url : null;
    if (!r.available || !url) return h('p', { class: 'muted recording-pending' }, 'Being stored… it can be played in a moment.');
    return h(
      'div',
      { class: 'recording-player' },
      h('audio', { controls: true, preload: 'metadata', src: url, 'aria-label': label }),
      h('a', { class: 'btn btn-secondary btn-sm', href: `${url}?download=1`, download: '', 'aria-label': `Download ${label.toLowerCase()}` }, icon('download', { size: 16 }), h('span', { class: 'btn-label' }, 'Download')),
    );
  }

  /* ----------------------------------------------------------- events */

  let refreshTimer = 0;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      if (log.visible) {
        loadLog({ quiet: true });
        if (log.selectedId != null && (!log.detail || log.detail.state !== 'ended')) loadDetail(log.selectedId, { quiet: true });
      }
    }, 300);
  }
  cleanups.push(() => clearTimeout(refreshTimer));

  // Calls in the IVR or waiting send no event to agents: poll while live calls are listed.
  const poll = setInterval(() => {
    if (log.visible && (log.items.some((c) => c.state !== 'ended') || (log.detail && log.detail.state !== 'ended'))) refreshSoon();
  }, 5000);
  cleanups.push(() => clearInterval(poll));

  /** One frame of the event stream: `{ kind, payload, user_id, at }`. */
  function onEvent({ kind, payload: p, user_id: target, at }) {
    if (!p || typeof p !== 'object') return;
    const atMs = at ? new Date(at).getTime() : Date.now();
    // Supervisors' streams carry every agent's call events: the cards are for this user's phone.
    const mine = target === myId;
    switch (kind) {
      case 'call_offer':
        if (mine) upsertCard(p, 'ringing', atMs);
        refreshSoon();
        break;
      case 'call_connected':
        if (mine) upsertCard(p, 'connected', atMs);
        refreshSoon();
        break;
      case 'call_ended':
        if (mine && cards.has(Number(p.call_id))) upsertCard(p, 'ended', atMs);
        refreshSoon();
        break;
      case 'offer_withdrawn':
        if (p.agent_id == null || p.agent_id === myId) dropRinging(p.contact_id);
        break;
      case 'assigned':
        if (p.agent_id !== myId) dropRinging(p.contact_id);
        refreshSoon();
        break;
      case 'contact_ended':
      case 'requeued':
        dropRinging(p.contact_id);
        refreshSoon();
        break;
      case 'voicemail':
        if (vm.visible) loadVoicemail({ quiet: true });
        else {
          vm.unseen += 1;
          onUnseen(vm.unseen);
        }
        refreshSoon();
        break;
      default:
        break;
    }
  }

  return {
    dock,
    onEvent,
    restore,
    /** Queue and agent names arrived (the directory loads after the page). */
    refreshNames() {
      if (cards.size) renderCards();
      if (log.visible && log.items.length) renderLog();
      if (log.visible && log.detail) renderDetail(log.detail);
    },
    log: {
      listPane,
      detailPane,
      /** Shows the call log (and `callId` in the detail pane, when given). */
      show(callId) {
        log.visible = true;
        // The call log says how they ended: the ended cards have done their job.
        for (const [id, c] of cards) if (c.phase === 'ended') dismiss(id);
        loadLog();
        if (callId != null) {
          log.selectedId = callId;
          onSelected(true);
          loadDetail(callId);
        } else if (log.selectedId != null) {
          loadDetail(log.selectedId);
        } else {
          renderNoCall();
        }
      },
      hide() {
        log.visible = false;
      },
      get selectedId() {
        return log.selectedId;
      },
      set onSelected(fn) {
        onSelected = fn;
      },
    },
    voicemail: {
      pane: vmPane,
      show() {
        vm.visible = true;
        vm.unseen = 0;
        onUnseen(0);
        loadVoicemail();
      },
      hide() {
        vm.visible = false;
        clearTimeout(vm.retry);
      },
      set onUnseen(fn) {
        onUnseen = fn;
      },
    },
    dispose() {
      for (const fn of cleanups) fn();
    },
  };
}
