// Inbox: the agents' workspace. Conversation list with filters, the thread with its
// composer (replies and private notes), the customer's context, offers from the routing
// engine with their countdown, and the agent's presence switch. Calls sit beside the chats
// (inbox-calls.js): the card of the call ringing the agent's phone, the call log and the
// team's voicemail, as views of the same page. Everything updates live from the event
// stream (/api/v1/ws), which resumes from the last sequence after a drop.
//
// Customer text is untrusted: it only ever reaches the page through text nodes (h()).

import { h, mount, avatar, timeEl, formatDateTime, formatRelative, titleCase } from '../dom.js';
import { icon } from '../icons.js';
import { seg, ApiError } from '../api.js';
import { connectEvents } from '../realtime.js';
import { button, dropdown, setBusy, emptyState, errorState, skeletonRows, statusPill, openDialog, field, formAlert, showApiError } from '../ui.js';
import { CHANNELS as ALL_CHANNELS } from '../channels.js';
import { createCalls } from './inbox-calls.js';

const FILTERS = [
  { id: 'mine', label: 'Mine', query: { status: 'open', mine: 'true' } },
  { id: 'unassigned', label: 'Unassigned', query: { status: 'open', unassigned: 'true' } },
  { id: 'open', label: 'All open', query: { status: 'open' } },
  { id: 'bot', label: 'Bot', query: { status: 'bot' } },
  { id: 'snoozed', label: 'Snoozed', query: { status: 'snoozed' } },
  { id: 'closed', label: 'Closed', query: { status: 'closed' } },
];

const CHANNELS = [{ value: '', label: 'All channels' }, ...ALL_CHANNELS];

const CHANNEL_LABEL = Object.fromEntries(CHANNELS.filter((c) => c.value).map((c) => [c.value, c.label]));

const STATUS = {
  bot: ['Bot', 'bot'],
  queued: ['Waiting', 'warning'],
  agent: ['Open', 'success'],
  closed: ['Resolved', 'neutral'],
  snoozed: ['Snoozed', 'neutral'],
};

const PRESENCE = {
  available: { label: 'Available', cls: 'presence-available' },
  away: { label: 'Away', cls: 'presence-away' },
  offline: { label: 'Offline', cls: 'presence-offline' },
};
const AWAY_REASONS = ['Break', 'Lunch', 'Meeting', 'Training'];

const FILTER_KEY = 'switchboard.inbox.filter';

// The views of the inbox: chats (conversations), the call log, the team's voicemail.
const VIEWS = [
  { id: 'chats', label: 'Chats', icon: 'chat' },
  { id: 'calls', label: 'Calls', icon: 'phone' },
  { id: 'voicemail', label: 'Voicemail', icon: 'voicemail' },
];

function contactName(c) {
  const contact = c.contact || {};
  return (contact.name || '').trim() || (contact.email || '').trim() || `Visitor #${contact.id ?? c.id}`;
}

function formatSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const MAX_UPLOAD = 10 * 1024 * 1024;

// A label's colour comes from the server as #rrggbb; anything else falls back to grey.
function labelColour(l) {
  return /^#[0-9a-fA-F]{6}$/.test(String(l && l.colour)) ? l.colour : '#8a8f98';
}

function labelChips(labels) {
  if (!Array.isArray(labels) || !labels.length) return null;
  return h(
    'span',
    { class: 'label-chips' },
    labels.map((l) => {
      const chip = h('span', { class: 'label-chip', dataset: { labelId: String(l.id) } }, h('span', { class: 'label-dot', 'aria-hidden': 'true' }), l.name);
      chip.style.setProperty('--label', labelColour(l));
      return chip;
    }),
  );
}

// Snooze choices, in local time.
function snoozeChoices(now = new Date()) {
  const hour = new Date(now.getTime() + 60 * 60 * 1000);
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0, 0);
  const daysToMonday = ((8 - now.getDay()) % 7) || 7;
  const nextWeek = new Date(now.getFullYear(), now.getMonth(), now.getDate() + daysToMonday, 9, 0, 0);
  return [
    { id: 'hour', label: 'For 1 hour', until: hour },
    { id: 'tomorrow', label: 'Until tomorrow, 9:00', until: tomorrow },
    { id: 'week', label: 'Until next week', hint: 'Monday, 9:00', until: nextWeek },
  ];
}

function channelLabel(ch) {
  return CHANNEL_LABEL[ch] || titleCase(ch || 'chat');
}

// A conversation's status: the assistant's conversations get a "Bot" badge, the others a pill.
function statusEl(status) {
  if (status === 'bot') return h('span', { class: 'badge badge-bot', dataset: { testid: 'bot-badge' }, title: 'The assistant is answering' }, icon('bot', { size: 13 }), 'Bot');
  const [label, kind] = STATUS[status] || [titleCase(status), 'neutral'];
  return statusPill(label, kind);
}

// Why the assistant handed a conversation over, in words.
function handoffReason(reason) {
  const kind = reason && typeof reason === 'object' ? reason.kind : reason;
  const detail = reason && typeof reason === 'object' && typeof reason.detail === 'string' ? reason.detail : '';
  switch (kind) {
    case 'explicit_request':
      return 'the customer asked for a person';
    case 'keyword':
      return detail ? `the customer mentioned “${detail}”` : 'the customer used a word that goes to people';
    case 'intent':
      return detail ? `the customer wants help with ${detail.replace(/_/g, ' ')}` : 'the topic goes to people';
    case 'negative_sentiment':
      return 'the customer seems unhappy';
    case 'inactivity':
      return 'the customer went quiet';
    case 'low_confidence':
      return 'it was not sure of the answer';
    case 'max_bot_turns':
      return 'it reached its limit of replies';
    case 'model_requested':
      return 'it decided a person should take over';
    case 'provider_failure':
      return 'its AI provider did not answer';
    case 'out_of_scope':
      return 'the question is outside what it may answer';
    case 'manual':
      return 'a teammate took over';
    case 'budget_exhausted':
      return 'its budget ran out';
    default:
      return kind ? String(kind).replace(/_/g, ' ') : 'no reason given';
  }
}

const FIELD_LABEL = { email: 'Email', phone: 'Phone', order_number: 'Order number' };

function fieldLabel(key) {
  return FIELD_LABEL[key] || titleCase(String(key).replace(/_/g, ' '));
}

function signed(x) {
  const n = Number(x) || 0;
  return `${n > 0 ? '+' : n < 0 ? '−' : ''}${Math.abs(n).toFixed(2)}`;
}

function mood(x) {
  const n = Number(x) || 0;
  if (n <= -0.5) return 'negative';
  if (n <= -0.05) return 'a little negative';
  if (n < 0.05) return 'neutral';
  if (n < 0.5) return 'a little positive';
  return 'positive';
}

// Sentiment of each customer message, oldest first, as small bars above (positive) or below
// (negative) a middle line. Drawn with DOM calls, no markup strings.
function sentimentSpark(values) {
  const list = (Array.isArray(values) ? values : []).map(Number).filter(Number.isFinite).slice(-24);
  if (!list.length) return null;
  const NS = 'http://www.w3.org/2000/svg';
  const w = list.length * 8;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} 24`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', '24');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Sentiment of the customer's messages, oldest first: ${list.map(signed).join(', ')}`);
  const mid = document.createElementNS(NS, 'line');
  for (const [k, v] of [['x1', 0], ['x2', w], ['y1', 12], ['y2', 12]]) mid.setAttribute(k, String(v));
  mid.setAttribute('class', 'spark-mid');
  svg.append(mid);
  list.forEach((v, i) => {
    const height = Math.max(2.5, Math.min(1, Math.abs(v)) * 11);
    const rect = document.createElementNS(NS, 'rect');
    rect.setAttribute('x', String(i * 8 + 1.5));
    rect.setAttribute('width', '5');
    rect.setAttribute('y', String(v >= 0 ? 12 - height : 12));
    rect.setAttribute('height', String(height));
    rect.setAttribute('rx', '1');
    rect.setAttribute('class', v <= -0.05 ? 'spark-neg' : v >= 0.05 ? 'spark-pos' : 'spark-zero');
    svg.append(rect);
  });
  return svg;
}

export async function render(root, ctx) {
  const { api, tenant, me, toast, signal } = ctx;
  const tid = tenant.tenant_id;
  const base = `/tenants/${seg(tid)}`;
  const myId = me.user.id;

  const state = {
    view: VIEWS.some((v) => v.id === ctx.query.get('view')) ? ctx.query.get('view') : 'chats',
    filter: FILTERS.some((f) => f.id === localStorage.getItem(FILTER_KEY)) ? localStorage.getItem(FILTER_KEY) : 'mine',
    channel: '',
    items: [],
    nextCursor: null,
    selectedId: ctx.query.get('c') ? Number(ctx.query.get('c')) : null,
    unread: new Map(), // conversation id -> count of customer messages not yet seen here
    offers: new Map(), // conversation id -> { conversation_id, contact_id, deadline, preview, channel }
    myOfferContacts: new Set(), // routing contact ids offered to me (from `offer` events)
    presence: null,
    listSeq: 0,
    queues: null, // for transfers, from the directory; null until loaded
    q: '', // search text (customer name/email, message text)
    label: '', // label id to filter by
    labels: [], // the tenant's labels: [{ id, name, colour }]
    members: null, // colleagues [{ id, name, presence }] for @mentions and transfers, from the directory
  };
  const isAdmin = ['admin', 'owner'].includes(ctx.role);
  let thread = null; // the open conversation (see openThread)
  let listTimer = 0;
  const cleanups = [];

  /* ----------------------------------------------------------- layout */

  const presenceBtn = h('button', { type: 'button', class: 'presence-switch', dataset: { testid: 'presence-switch' } });
  const connEl = h('span', { class: 'conn', role: 'status', 'aria-live': 'polite' });
  const viewTabs = h('div', { class: 'seg seg-3 inbox-views', role: 'tablist', 'aria-label': 'Inbox view' });
  const header = h(
    'header',
    { class: 'inbox-header' },
    h('h1', { class: 'page-title', tabindex: '-1' }, 'Inbox'),
    viewTabs,
    connEl,
    h('div', { class: 'toolbar-spacer' }),
    h('div', { class: 'menu-anchor' }, presenceBtn),
  );

  const tabs = h('div', { class: 'seg', role: 'tablist', 'aria-label': 'Conversation filter' });
  const channelSelect = h('select', { class: 'input select select-compact inbox-channel', 'aria-label': 'Channel' }, CHANNELS.map((c) => h('option', { value: c.value }, c.label)));
  channelSelect.addEventListener('change', () => {
    state.channel = channelSelect.value;
    loadList();
  });
  const searchInput = h('input', { type: 'search', class: 'input inbox-search', placeholder: 'Search name, email or message…', 'aria-label': 'Search conversations', maxlength: 200, dataset: { testid: 'inbox-search' } });
  let searchTimer = 0;
  searchInput.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      const q = searchInput.value.trim();
      if (q === state.q) return;
      state.q = q;
      loadList();
    }, 300);
  });
  cleanups.push(() => clearTimeout(searchTimer));
  const labelSelect = h('select', { class: 'input select select-compact inbox-label', 'aria-label': 'Label', dataset: { testid: 'label-filter' } }, h('option', { value: '' }, 'All labels'));
  labelSelect.addEventListener('change', () => {
    state.label = labelSelect.value;
    loadList();
  });
  function renderLabelOptions() {
    mount(labelSelect, h('option', { value: '' }, 'All labels'), state.labels.map((l) => h('option', { value: String(l.id) }, l.name)));
    if (state.label && !state.labels.some((l) => String(l.id) === state.label)) state.label = '';
    labelSelect.value = state.label;
    labelSelect.hidden = !state.labels.length && !state.label;
  }
  renderLabelOptions();
  const listEl = h('ul', { class: 'conv-list', 'aria-label': 'Conversations' });
  const listSlot = h('div', { class: 'conv-scroll' });
  const listPane = h('section', { class: 'inbox-list', 'aria-label': 'Conversation list' }, h('div', { class: 'inbox-filters' }, searchInput, tabs, h('div', { class: 'inbox-selects' }, channelSelect, labelSelect)), listSlot);

  const threadPane = h('section', { class: 'inbox-thread', 'aria-label': 'Conversation' });
  const contextPane = h('aside', { class: 'inbox-context', 'aria-label': 'Customer' });
  const offersEl = h('div', { class: 'offer-list', role: 'region', 'aria-label': 'Incoming conversations', 'aria-live': 'assertive' });
  const layout = h('div', { class: 'inbox', id: 'inbox-panes', dataset: { thread: state.selectedId ? 'open' : 'none', view: 'chats' } }, listPane, threadPane, contextPane);
  const calls = createCalls({
    api,
    base,
    signal,
    myId,
    role: ctx.role,
    names: {
      queue: (id) => (state.queues || []).find((q) => q.id === id)?.name || '',
      agent: (id) => (state.members || []).find((m) => m.id === id)?.name || '',
    },
    onOpenCall: (id) => setView('calls', { callId: id }),
    queues: () => state.queues || [],
    toast,
  });
  calls.log.onSelected = (open) => {
    layout.dataset.thread = open ? 'open' : 'none';
  };
  mount(root, header, layout, h('div', { class: 'offer-stack' }, calls.dock, offersEl));
  document.body.classList.add('page-inbox');
  cleanups.push(() => document.body.classList.remove('page-inbox'));

  /* ------------------------------------------------------------ views */

  for (const v of VIEWS) {
    const b = h('button', { type: 'button', role: 'tab', class: 'seg-btn', 'aria-controls': 'inbox-panes', 'aria-selected': 'false', dataset: { view: v.id, testid: `view-${v.id}` } }, icon(v.icon, { size: 14 }), h('span', null, v.label), v.id === 'voicemail' ? h('span', { class: 'view-count', hidden: true }) : null);
    b.addEventListener('click', () => setView(v.id));
    viewTabs.append(b);
  }
  calls.voicemail.onUnseen = (n) => {
    const badge = viewTabs.querySelector('[data-view="voicemail"] .view-count');
    badge.hidden = !n;
    mount(badge, n ? [String(n), h('span', { class: 'sr-only' }, ' new')] : null);
  };

  // Chats keep their list, filters and open conversation across views; the thread itself is
  // closed while hidden so nothing is marked read behind the agent's back.
  function setView(view, { callId } = {}) {
    const leaving = layout.dataset.view;
    state.view = view;
    for (const x of viewTabs.children) x.setAttribute('aria-selected', String(x.dataset.view === view));
    layout.dataset.view = view;
    if (leaving === 'chats' && view !== 'chats' && thread) {
      thread.dispose();
      thread = null;
    }
    if (view !== 'calls') calls.log.hide();
    if (view !== 'voicemail') calls.voicemail.hide();
    if (view === 'calls') {
      mount(layout, calls.log.listPane, calls.log.detailPane);
      const id = callId ?? calls.log.selectedId;
      layout.dataset.thread = id != null ? 'open' : 'none';
      window.history.replaceState(null, '', id != null ? `#/inbox?view=calls&call=${id}` : '#/inbox?view=calls');
      calls.log.show(callId);
    } else if (view === 'voicemail') {
      mount(layout, calls.voicemail.pane);
      window.history.replaceState(null, '', '#/inbox?view=voicemail');
      calls.voicemail.show();
    } else {
      mount(layout, listPane, threadPane, contextPane);
      layout.dataset.thread = state.selectedId ? 'open' : 'none';
      window.history.replaceState(null, '', state.selectedId ? `#/inbox?c=${state.selectedId}` : '#/inbox');
      if (leaving && leaving !== 'chats') {
        if (state.selectedId) openThread(state.selectedId);
        else renderNoThread();
        loadList({ quiet: true });
      }
    }
  }

  for (const f of FILTERS) {
    const b = h('button', { type: 'button', role: 'tab', class: 'seg-btn', 'aria-selected': String(f.id === state.filter), dataset: { filter: f.id } }, f.label);
    b.addEventListener('click', () => {
      state.filter = f.id;
      localStorage.setItem(FILTER_KEY, f.id);
      for (const x of tabs.children) x.setAttribute('aria-selected', String(x === b));
      loadList();
    });
    tabs.append(b);
  }

  /* --------------------------------------------------------- presence */

  function renderPresence() {
    const p = state.presence;
    const info = p ? PRESENCE[p.state] || PRESENCE.offline : null;
    mount(
      presenceBtn,
      h('span', { class: ['presence-dot', info ? info.cls : 'presence-unknown'], 'aria-hidden': 'true' }),
      h('span', { class: 'presence-label' }, info ? (p.state === 'away' && p.reason ? `Away · ${p.reason}` : info.label) : 'Set status'),
      icon('chevronDown', { size: 16, className: 'presence-caret' }),
    );
    presenceBtn.setAttribute('aria-label', `Your status: ${info ? presenceBtn.textContent : 'unknown'}. Change status`);
  }
  dropdown(
    presenceBtn,
    () => [
      { heading: 'Your status' },
      { label: 'Available', hint: 'Receive chats', checked: state.presence?.state === 'available', onSelect: () => setPresence('available'), testid: 'presence-available' },
      ...AWAY_REASONS.map((r) => ({ label: `Away · ${r}`, checked: state.presence?.state === 'away' && (state.presence.reason || '').toLowerCase() === r.toLowerCase(), onSelect: () => setPresence('away', r) })),
      { label: 'Offline', hint: 'No new chats', checked: state.presence?.state === 'offline', onSelect: () => setPresence('offline'), testid: 'presence-offline' },
    ],
    { align: 'end', className: 'menu-presence' },
  );

  async function setPresence(next, reason) {
    const before = state.presence;
    state.presence = { state: next, reason: reason || null };
    renderPresence();
    try {
      const res = await api.put(`${base}/me/presence`, reason ? { state: next, reason } : { state: next });
      if (res && res.presence) state.presence = { state: res.presence.state, reason: res.presence.reason || null };
      rememberPresence();
      renderPresence();
      toast.success(next === 'available' ? 'You are available for new chats.' : next === 'away' ? `You are away (${reason}).` : 'You are offline.');
    } catch (err) {
      state.presence = before;
      renderPresence();
      toast.error(`Couldn't change your status: ${err.message}`);
    }
  }

  // The server has no "read my own presence" endpoint for agents (GET …/agents/{uid} is for
  // supervisors and above), so agents start from what this browser last set; `presence`
  // events from the stream correct it.
  const PRESENCE_KEY = `switchboard.presence.${tid}.${myId}`;
  function rememberPresence() {
    if (state.presence) localStorage.setItem(PRESENCE_KEY, JSON.stringify(state.presence));
  }

  async function loadPresence() {
    try {
      const hint = JSON.parse(localStorage.getItem(PRESENCE_KEY) || 'null');
      if (hint && PRESENCE[hint.state]) state.presence = hint;
    } catch {
      /* ignore a bad hint */
    }
    if (['supervisor', 'admin', 'owner'].includes(ctx.role)) {
      try {
        const res = await api.get(`${base}/agents/${seg(myId)}`, { signal });
        if (res && res.presence) state.presence = { state: res.presence.state, reason: res.presence.reason || null };
        rememberPresence();
      } catch (err) {
        if (err.name === 'AbortError') return;
      }
    }
    renderPresence();
  }
  renderPresence();

  /* ------------------------------------------------------------- list */

  async function loadList({ quiet = false } = {}) {
    const seq = ++state.listSeq;
    if (!quiet) mount(listSlot, skeletonRows(5));
    const f = FILTERS.find((x) => x.id === state.filter) || FILTERS[0];
    try {
      const res = await api.get(`${base}/conversations`, { signal, query: { ...f.query, channel: state.channel, q: state.q, label: state.label, limit: 50 } });
      if (seq !== state.listSeq) return;
      state.items = (res && res.items) || [];
      state.nextCursor = res && res.next_cursor;
      renderList();
    } catch (err) {
      if (err.name === 'AbortError' || seq !== state.listSeq) return;
      if (!quiet) mount(listSlot, errorState({ title: "Couldn't load conversations", message: err.message, onRetry: () => loadList() }));
    }
  }

  function refreshListSoon() {
    clearTimeout(listTimer);
    listTimer = setTimeout(() => loadList({ quiet: true }), 250);
  }

  function renderList() {
    if (!state.items.length && (state.q || state.label)) {
      mount(listSlot, emptyState({ iconName: 'inbox', title: 'No matching conversations', message: state.q ? `Nothing matches “${state.q}” here. Try another tab or fewer words.` : 'No conversation here has this label.' }));
      return;
    }
    if (!state.items.length) {
      const messages = {
        mine: ['No conversations assigned to you', 'Set yourself Available to be offered new chats.'],
        unassigned: ['Nothing waiting', 'Every open conversation has an agent.'],
        open: ['No open conversations', 'New chats from your website appear here.'],
        closed: ['No resolved conversations', 'Resolved conversations are kept here.'],
        bot: ['Nothing with the assistant', 'Conversations the assistant is answering show here until it hands them over.'],
        snoozed: ['Nothing snoozed', 'Snoozed conversations come back at their time, or when the customer writes.'],
      }[state.filter] || ['No conversations', ''];
      mount(listSlot, emptyState({ iconName: 'inbox', title: messages[0], message: messages[1] }));
      return;
    }
    const sorted = state.items.slice().sort((a, b) => new Date(b.last_message_at || 0) - new Date(a.last_message_at || 0));
    mount(listEl, sorted.map(listRow));
    mount(listSlot, listEl);
  }

  function listRow(c) {
    const name = contactName(c);
    const last = c.last_message;
    const unread = unreadOf(c);
    const preview = last ? [last.private ? h('span', { class: 'conv-note-tag' }, 'Note: ') : last.sender === 'agent' ? h('span', { class: 'conv-you' }, 'Agent: ') : last.sender === 'bot' ? h('span', { class: 'conv-you' }, 'Assistant: ') : null, last.content] : h('span', { class: 'muted' }, 'No messages yet');
    const link = h(
      'a',
      { class: ['conv-row', c.id === state.selectedId && 'is-selected', unread && 'is-unread'], href: `#/inbox?c=${c.id}`, dataset: { conversationId: String(c.id) }, 'aria-current': c.id === state.selectedId ? 'true' : null },
      avatar(name, (c.contact && c.contact.email) || String(c.contact?.id ?? c.id), 'md'),
      h(
        'span',
        { class: 'conv-main' },
        h('span', { class: 'conv-top' }, h('span', { class: 'conv-name' }, name), h('span', { class: 'conv-time' }, c.last_message_at ? formatRelative(c.last_message_at) : '')),
        h('span', { class: 'conv-preview' }, preview),
        h('span', { class: 'conv-meta' }, h('span', { class: 'chip' }, channelLabel(c.channel)), statusEl(c.status), labelChips(c.labels), unread ? h('span', { class: 'conv-unread', 'aria-label': `${unread} unread`, dataset: { testid: 'unread' } }, String(unread)) : null),
      ),
    );
    link.addEventListener('click', (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      selectConversation(c.id);
    });
    return h('li', null, link);
  }

  // Unread customer messages: the server's count when it sends one, plus what arrived here since.
  function unreadOf(c) {
    if (state.unread.has(c.id)) return state.unread.get(c.id);
    const n = Number(c.unread);
    return Number.isFinite(n) && n > 0 ? n : 0;
  }

  function patchItem(id, patch) {
    const item = state.items.find((c) => c.id === id);
    if (item) Object.assign(item, patch);
    return item;
  }

  function selectConversation(id) {
    // From the calls or voicemail (an accepted offer, a mention): back to the chats first.
    const fromOtherView = state.view !== 'chats';
    state.selectedId = id;
    if (fromOtherView) setView('chats');
    window.history.replaceState(null, '', `#/inbox?c=${id}`);
    state.unread.delete(id);
    patchItem(id, { unread: 0 });
    layout.dataset.thread = 'open';
    renderList();
    if (!fromOtherView) openThread(id);
  }

  /* ----------------------------------------------------------- thread */

  function openThread(id) {
    if (thread) thread.dispose();
    thread = createThread(id);
  }

  function createThread(id) {
    const t = {
      id,
      conversation: null,
      contact: null,
      messages: new Map(), // seq -> message
      rows: new Map(), // seq -> element
      pending: [], // optimistic sends: { content, private, row }
      customerRead: 0,
      customerDelivered: 0,
      readSent: 0,
      loaded: false,
      disposed: false,
      typingOn: false,
      typingTimer: 0,
      customerTypingTimer: 0,
      handoffKey: '', // the handoff record shown, to redraw its card only when it changes
      assistSeq: 0,
    };

    const back = h('button', { type: 'button', class: 'icon-btn thread-back', 'aria-label': 'Back to conversations' }, icon('arrowRight', { size: 18, className: 'flip' }));
    back.addEventListener('click', () => {
      layout.dataset.thread = 'none';
      state.selectedId = null;
      renderList();
    });
    const titleEl = h('h2', { class: 'thread-title' });
    const subEl = h('div', { class: 'thread-sub' });
    const actions = h('div', { class: 'thread-actions' });
    const labelsEl = h('div', { class: 'thread-labels' });
    const log = h('div', { class: 'thread-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
    const typingEl = h('div', { class: 'thread-typing', hidden: true, dataset: { testid: 'customer-typing' } }, h('span', { class: 'typing-dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), h('span', null, 'Customer is typing…'));
    const textarea = h('textarea', { class: 'composer-input', rows: 2, maxlength: 4000, placeholder: 'Reply to the customer…', 'aria-label': 'Message' });
    const noteToggle = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id: `note-${id}` });
    const sendBtn = button('Send', { variant: 'primary', iconName: 'send', attrs: { 'data-testid': 'send' } });
    const fileInput = h('input', { type: 'file', class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true' });
    const attachBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Attach a file', title: 'Attach a file (up to 10 MB)' }, icon('clip', { size: 18 }));
    attachBtn.addEventListener('click', () => fileInput.click());
    fileInput.addEventListener('change', () => {
      const file = fileInput.files && fileInput.files[0];
      fileInput.value = '';
      if (file) uploadFile(file);
    });
    const hint = h('span', { class: 'composer-hint' }, 'Enter sends · Shift+Enter new line · / saved replies');
    const assistId = `assist-${id}`;
    const assistBtn = button('Assist', { variant: 'ghost', size: 'sm', iconName: 'sparkle', className: 'assist-btn', attrs: { 'data-testid': 'assist', 'aria-expanded': 'false', 'aria-controls': assistId, title: 'Summary, suggested replies and knowledge-base entries' } });
    const assistBody = h('div', { class: 'assist-body' });
    const assistRefresh = h('button', { type: 'button', class: 'icon-btn icon-btn-sm', 'aria-label': 'Refresh suggestions', title: 'Refresh' }, icon('refresh', { size: 16 }));
    const assistClose = h('button', { type: 'button', class: 'icon-btn icon-btn-sm', 'aria-label': 'Close assist' }, icon('x', { size: 16 }));
    const assistPanel = h(
      'section',
      { class: 'assist-panel', id: assistId, hidden: true, 'aria-labelledby': `${assistId}-title`, dataset: { testid: 'assist-panel' } },
      h('header', { class: 'assist-head' }, icon('sparkle', { size: 16, className: 'assist-icon' }), h('h3', { class: 'assist-title', id: `${assistId}-title` }, 'Assist'), h('div', { class: 'toolbar-spacer' }), assistRefresh, assistClose),
      assistBody,
    );
    assistBtn.addEventListener('click', () => (assistPanel.hidden ? openAssist() : closeAssist()));
    assistRefresh.addEventListener('click', () => loadAssist());
    assistClose.addEventListener('click', () => closeAssist(true));
    assistPanel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.stopPropagation();
        closeAssist(true);
      }
    });
    const handoffSlot = h('div', { class: 'handoff-slot' });
    const takeOver = button('Take over', { variant: 'secondary', size: 'sm', attrs: { 'data-testid': 'take-over' } });
    takeOver.addEventListener('click', () => act(takeOver, 'take-over', 'You took the conversation over from the assistant. Accept the offer to start.'));
    const botBar = h('div', { class: 'thread-bot', hidden: true, dataset: { testid: 'bot-bar' } }, icon('bot', { size: 16 }), h('span', null, 'The assistant is answering this conversation. It hands over to your team when a rule says so.'), takeOver);
    const cannedPop = h('div', { class: 'canned-pop', role: 'listbox', id: `canned-${id}`, 'aria-label': 'Saved replies', hidden: true });
    textarea.setAttribute('aria-autocomplete', 'list');
    textarea.setAttribute('aria-controls', cannedPop.id);
    textarea.setAttribute('aria-expanded', 'false');
    const mentionPop = h('div', { class: 'mention-pop', role: 'listbox', id: `mention-${id}`, 'aria-label': 'Mention a teammate', hidden: true, dataset: { testid: 'mention-pop' } });
    const composer = h(
      'form',
      { class: 'composer' },
      cannedPop,
      mentionPop,
      textarea,
      h('div', { class: 'composer-bar' }, h('label', { class: 'switch composer-note', for: `note-${id}` }, noteToggle, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', null, 'Private note')), hint, h('div', { class: 'toolbar-spacer' }), assistBtn, fileInput, attachBtn, sendBtn),
    );
    const closedBar = h('div', { class: 'thread-closed', hidden: true }, icon('check', { size: 16 }), h('span', null, 'This conversation is resolved. Reopen it to reply; private notes can still be added.'));

    mount(threadPane, h('header', { class: 'thread-head' }, back, h('div', { class: 'thread-heading' }, titleEl, subEl, labelsEl), actions), handoffSlot, log, typingEl, botBar, closedBar, assistPanel, composer);
    mount(log, skeletonRows(3));
    mount(contextPane);

    noteToggle.addEventListener('change', () => {
      composer.classList.toggle('is-note', noteToggle.checked);
      textarea.placeholder = noteToggle.checked ? 'Write a private note (only your team sees it)…' : 'Reply to the customer…';
      sendBtn.querySelector('.btn-label').textContent = noteToggle.checked ? 'Add note' : 'Send';
      if (noteToggle.checked) stopTyping();
      else hideMentions();
      updateComposer();
      textarea.focus();
    });
    /* saved replies: "/" at the start of the reply box */
    let canned = null; // loaded on first use, rendered for this conversation
    let cannedItems = [];
    let cannedIndex = 0;
    async function showCanned() {
      const m = /^\/(\S*)$/.exec(textarea.value);
      if (!m) return hideCanned();
      if (!canned) {
        try {
          const res = await api.get(`${base}/canned-responses`, { signal, query: { conversation: id } });
          canned = (res && res.items) || [];
        } catch {
          canned = [];
        }
        if (t.disposed) return;
      }
      const q = m[1].toLowerCase();
      cannedItems = canned.filter((c) => c.shortcut.toLowerCase().startsWith(q)).slice(0, 8);
      if (!/^\/(\S*)$/.test(textarea.value)) return hideCanned();
      cannedIndex = Math.min(cannedIndex, Math.max(0, cannedItems.length - 1));
      mount(
        cannedPop,
        cannedItems.length
          ? cannedItems.map((c, i) => {
              const opt = h('div', { class: 'canned-opt', role: 'option', id: `canned-${id}-${i}`, 'aria-selected': String(i === cannedIndex) }, h('span', { class: 'canned-key' }, `/${c.shortcut}`), h('span', { class: 'canned-text' }, c.rendered || c.content));
              opt.addEventListener('mousedown', (event) => {
                event.preventDefault();
                pickCanned(i);
              });
              return opt;
            })
          : h('div', { class: 'canned-empty' }, canned.length ? 'No saved reply starts with that.' : 'No saved replies yet.'),
      );
      cannedPop.hidden = false;
      textarea.setAttribute('aria-expanded', 'true');
      if (cannedItems.length) textarea.setAttribute('aria-activedescendant', `canned-${id}-${cannedIndex}`);
    }
    function hideCanned() {
      cannedPop.hidden = true;
      cannedIndex = 0;
      textarea.setAttribute('aria-expanded', 'false');
      textarea.removeAttribute('aria-activedescendant');
    }
    function pickCanned(i) {
      const c = cannedItems[i];
      if (!c) return;
      textarea.value = c.rendered || c.content;
      hideCanned();
      textarea.focus();
      textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    }
    textarea.addEventListener('blur', () => setTimeout(hideCanned, 100));

    /* @mentions: in private notes, "@" opens the teammates list (when this user may list them) */
    const mentioned = new Map(); // inserted "@Name" -> user id
    let mentionItems = [];
    let mentionIndex = 0;
    let mentionStart = -1;
    async function showMentions() {
      const caret = textarea.selectionStart;
      const m = noteToggle.checked ? /(^|\s)@([^\s@]{0,30})$/.exec(textarea.value.slice(0, caret)) : null;
      if (!m) return hideMentions();
      const members = await loadDirectory();
      if (t.disposed || !members || !members.length) return hideMentions();
      mentionStart = caret - m[2].length - 1;
      const q = m[2].toLowerCase();
      mentionItems = members.filter((u) => u.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)) || u.name.toLowerCase().startsWith(q)).slice(0, 6);
      if (!mentionItems.length) return hideMentions();
      mentionIndex = Math.min(mentionIndex, mentionItems.length - 1);
      mount(
        mentionPop,
        mentionItems.map((u, i) => {
          const opt = h('div', { class: 'mention-opt', role: 'option', id: `mention-${id}-${i}`, 'aria-selected': String(i === mentionIndex) }, avatar(u.name, String(u.id), 'sm'), h('span', null, u.name));
          opt.addEventListener('mousedown', (event) => {
            event.preventDefault();
            pickMention(i);
          });
          return opt;
        }),
      );
      mentionPop.hidden = false;
      textarea.setAttribute('aria-controls', mentionPop.id);
      textarea.setAttribute('aria-expanded', 'true');
      textarea.setAttribute('aria-activedescendant', `mention-${id}-${mentionIndex}`);
    }
    function hideMentions() {
      if (mentionPop.hidden) return;
      mentionPop.hidden = true;
      mentionIndex = 0;
      textarea.setAttribute('aria-controls', cannedPop.id);
      textarea.setAttribute('aria-expanded', 'false');
      textarea.removeAttribute('aria-activedescendant');
    }
    function pickMention(i) {
      const u = mentionItems[i];
      if (!u || mentionStart < 0) return;
      const caret = textarea.selectionStart;
      const insert = `@${u.name} `;
      textarea.value = textarea.value.slice(0, mentionStart) + insert + textarea.value.slice(caret);
      const at = mentionStart + insert.length;
      textarea.setSelectionRange(at, at);
      mentioned.set(`@${u.name}`, u.id);
      hideMentions();
      textarea.focus();
    }
    // The ids of the teammates still mentioned in the text.
    function mentionIds(content) {
      const ids = new Set();
      for (const [tag, uid] of mentioned) if (content.includes(tag)) ids.add(uid);
      return [...ids];
    }
    textarea.addEventListener('blur', () => setTimeout(hideMentions, 100));

    textarea.addEventListener('keydown', (event) => {
      if (!mentionPop.hidden && mentionItems.length) {
        if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
          event.preventDefault();
          mentionIndex = (mentionIndex + (event.key === 'ArrowDown' ? 1 : mentionItems.length - 1)) % mentionItems.length;
          showMentions();
          return;
        }
        if (event.key === 'Enter' || event.key === 'Tab') {
          event.preventDefault();
          pickMention(mentionIndex);
          return;
        }
        if (event.key === 'Escape') {
          event.preventDefault();
          event.stopPropagation();
          hideMentions();
          return;
        }
      }
      if (!cannedPop.hidden) {
        if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
          event.preventDefault();
          if (!cannedItems.length) return;
          cannedIndex = (cannedIndex + (event.key === 'ArrowDown' ? 1 : cannedItems.length - 1)) % cannedItems.length;
          showCanned();
          return;
        }
        if ((event.key === 'Enter' || event.key === 'Tab') && cannedItems.length) {
          event.preventDefault();
          pickCanned(cannedIndex);
          return;
        }
        if (event.key === 'Escape') {
          event.preventDefault();
          event.stopPropagation();
          hideCanned();
          return;
        }
      }
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    textarea.addEventListener('input', () => {
      if (textarea.value.startsWith('/')) showCanned();
      else if (!cannedPop.hidden) hideCanned();
      if (noteToggle.checked && textarea.value.includes('@')) showMentions();
      else hideMentions();
      if (noteToggle.checked || !textarea.value.trim()) {
        stopTyping();
        return;
      }
      if (!t.typingOn && t.conversation && t.conversation.status !== 'closed') {
        t.typingOn = true;
        api.post(`${base}/conversations/${seg(id)}/typing`, { on: true }).catch(() => {});
      }
      clearTimeout(t.typingTimer);
      t.typingTimer = setTimeout(stopTyping, 1500);
    });
    composer.addEventListener('submit', (event) => {
      event.preventDefault();
      submit();
    });

    function stopTyping() {
      clearTimeout(t.typingTimer);
      if (!t.typingOn) return;
      t.typingOn = false;
      api.post(`${base}/conversations/${seg(id)}/typing`, { on: false }).catch(() => {});
    }

    function updateComposer() {
      const closed = t.conversation && t.conversation.status === 'closed';
      closedBar.hidden = !closed;
      const canReply = !closed || noteToggle.checked;
      textarea.disabled = !canReply;
      sendBtn.disabled = !canReply;
    }

    function renderHead() {
      const c = t.conversation;
      if (!c) return;
      const name = contactName({ ...c, contact: t.contact || c.contact });
      titleEl.textContent = name;
      const snoozed = c.snoozed_until && new Date(c.snoozed_until).getTime() > Date.now();
      mount(
        subEl,
        h('span', { class: 'chip' }, channelLabel(c.channel)),
        statusEl(c.status),
        c.assigned_agent_id === myId ? h('span', { class: 'muted' }, 'Assigned to you') : c.assigned_agent_id ? h('span', { class: 'muted' }, 'Assigned to a teammate') : h('span', { class: 'muted' }, 'Unassigned'),
        snoozed ? h('span', { class: 'thread-snoozed', dataset: { testid: 'snoozed-until' } }, icon('clock', { size: 13 }), ` Snoozed until ${new Date(c.snoozed_until).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' })}`) : null,
      );
      const labelsBtn = h('button', { type: 'button', class: 'label-edit', 'aria-label': 'Edit labels', dataset: { testid: 'edit-labels' } }, labelChips(c.labels) || h('span', { class: 'muted' }, 'Add label'), h('span', { class: 'label-edit-plus', 'aria-hidden': 'true' }, '+'));
      labelsBtn.addEventListener('click', () => openLabels(labelsBtn));
      mount(labelsEl, labelsBtn);
      const acts = [];
      if (c.status === 'closed') {
        const reopen = button('Reopen', { variant: 'secondary', iconName: 'refresh', attrs: { 'data-testid': 'reopen' } });
        reopen.addEventListener('click', () => act(reopen, 'reopen', 'Conversation reopened.'));
        acts.push(reopen);
      } else {
        if (((state.queues && state.queues.length) || (state.members && state.members.length)) && (c.assigned_agent_id === myId || ctx.role !== 'agent')) {
          const transfer = button('Transfer', { variant: 'secondary', iconName: 'arrowRight', attrs: { 'data-testid': 'transfer' } });
          transfer.addEventListener('click', () => openTransfer());
          acts.push(transfer);
        }
        const snoozeBtn = button(snoozed ? 'Snoozed' : 'Snooze', { variant: 'secondary', iconName: 'clock', attrs: { 'data-testid': 'snooze' } });
        dropdown(
          snoozeBtn,
          () => [
            { heading: 'Snooze', sub: 'Back in the inbox at that time, or when the customer writes' },
            ...snoozeChoices().map((ch) => ({ label: ch.label, hint: ch.hint || ch.until.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' }), testid: `snooze-${ch.id}`, onSelect: () => snooze(ch.until) })),
            snoozed ? 'separator' : null,
            snoozed ? { label: 'Wake up now', testid: 'snooze-wake', onSelect: () => snooze(null) } : null,
          ],
          { align: 'end', className: 'menu-snooze' },
        );
        acts.push(snoozeBtn);
        const resolve = button('Resolve', { variant: 'primary', iconName: 'check', attrs: { 'data-testid': 'resolve' } });
        resolve.addEventListener('click', () => act(resolve, 'resolve', 'Conversation resolved.'));
        acts.push(resolve);
      }
      mount(actions, acts);
      renderHandoff();
      botBar.hidden = c.status !== 'bot';
      setBusy(takeOver, false);
      updateComposer();
    }

    // What the assistant handed over: why, its summary, the intent, the facts it collected and
    // how the customer's mood went. Redrawn only when the record changes, so a card the agent
    // folded stays folded.
    function renderHandoff() {
      const rec = t.conversation && t.conversation.handoff;
      const key = rec ? JSON.stringify(rec) : '';
      if (key === t.handoffKey) return;
      t.handoffKey = key;
      if (!rec || typeof rec !== 'object') {
        mount(handoffSlot);
        return;
      }
      const fields = rec.fields && typeof rec.fields === 'object' ? Object.entries(rec.fields).filter(([, v]) => typeof v === 'string' && v) : [];
      const trend = Array.isArray(rec.sentiment_trend) ? rec.sentiment_trend : [];
      const spark = sentimentSpark(trend);
      const facts = [
        rec.intent ? ctxDetail('Intent', h('span', { class: 'chip' }, String(rec.intent).replace(/_/g, ' '))) : null,
        ...fields.map(([k, v]) => ctxDetail(fieldLabel(k), h('span', { class: 'handoff-field', dataset: { field: k } }, v))),
        Number.isFinite(Number(rec.bot_turns)) ? ctxDetail('Bot replies', String(rec.bot_turns)) : null,
        rec.language ? ctxDetail('Language', h('span', { class: 'chip chip-lang' }, String(rec.language))) : null,
        spark ? ctxDetail('Sentiment', h('span', { class: 'handoff-spark' }, spark, h('span', { class: 'muted' }, `${mood(trend[trend.length - 1])} (${signed(trend[trend.length - 1])})`))) : null,
      ].filter(Boolean);
      mount(
        handoffSlot,
        h(
          'details',
          { class: 'handoff-card', open: true, dataset: { testid: 'handoff-card', reason: String((rec.reason && rec.reason.kind) || '') } },
          h(
            'summary',
            { class: 'handoff-head' },
            h('span', { class: 'handoff-icon' }, icon('bot', { size: 16 })),
            h('span', { class: 'handoff-title' }, 'Handed over by the assistant: ', h('strong', null, handoffReason(rec.reason))),
            rec.at ? h('span', { class: 'handoff-at' }, formatRelative(rec.at)) : null,
            icon('chevronDown', { size: 16, className: 'handoff-caret' }),
          ),
          h('div', { class: 'handoff-body' }, rec.summary ? h('p', { class: 'handoff-summary', dataset: { testid: 'handoff-summary' } }, rec.summary) : null, facts.length ? h('dl', { class: 'handoff-facts' }, facts) : null),
        ),
      );
    }

    /* assist: summary, suggested replies and relevant entries for the agent */
    function openAssist() {
      // Assist repeats the summary: fold the handoff card to leave room for the messages.
      const card = handoffSlot.querySelector('details');
      if (card) card.open = false;
      assistPanel.hidden = false;
      assistBtn.setAttribute('aria-expanded', 'true');
      assistBtn.classList.add('is-active');
      loadAssist();
    }
    function closeAssist(focusButton = false) {
      t.assistSeq += 1;
      assistPanel.hidden = true;
      assistBtn.setAttribute('aria-expanded', 'false');
      assistBtn.classList.remove('is-active');
      if (focusButton) assistBtn.focus();
    }
    async function loadAssist() {
      const seq = ++t.assistSeq;
      mount(assistBody, h('div', { class: 'assist-loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Reading the conversation…'));
      try {
        const res = await api.post(`${base}/conversations/${seg(id)}/assist`, {});
        if (t.disposed || seq !== t.assistSeq) return;
        renderAssist(res || {});
      } catch (err) {
        if (err.name === 'AbortError' || t.disposed || seq !== t.assistSeq) return;
        const retry = button('Try again', { variant: 'secondary', size: 'sm', iconName: 'refresh' });
        retry.addEventListener('click', () => loadAssist());
        mount(assistBody, h('div', { class: 'alert alert-error', role: 'alert' }, icon('alert', { size: 18 }), h('span', { class: 'alert-text' }, `Couldn't get suggestions: ${err.message}`)), retry);
      }
    }
    function useSuggestion(text) {
      if (textarea.disabled) {
        toast.info('Reopen the conversation to reply.');
        return;
      }
      if (noteToggle.checked) {
        noteToggle.checked = false;
        noteToggle.dispatchEvent(new Event('change'));
      }
      textarea.value = text;
      hideCanned();
      textarea.focus();
      textarea.setSelectionRange(text.length, text.length);
      textarea.scrollTop = textarea.scrollHeight;
    }
    function renderAssist(res) {
      const suggestions = Array.isArray(res.suggestions) ? res.suggestions.filter((x) => x && typeof x.text === 'string' && x.text.trim()) : [];
      const entries = Array.isArray(res.entries) ? res.entries : [];
      const fields = res.fields && typeof res.fields === 'object' ? Object.entries(res.fields).filter(([, v]) => typeof v === 'string' && v) : [];
      mount(
        assistBody,
        h('div', { class: 'assist-block' }, h('h4', { class: 'assist-label' }, 'Summary'), h('p', { class: 'assist-summary', dataset: { testid: 'assist-summary' } }, res.summary || 'Nothing to summarise yet.'), fields.length ? h('div', { class: 'chips assist-fields' }, fields.map(([k, v]) => h('span', { class: 'chip' }, `${fieldLabel(k)}: `, h('strong', null, v)))) : null),
        res.model_error ? h('p', { class: 'callout callout-warning' }, icon('alert', { size: 16 }), h('span', null, `No AI draft this time: ${res.model_error}`)) : null,
        h(
          'div',
          { class: 'assist-block' },
          h('h4', { class: 'assist-label' }, 'Suggested replies'),
          suggestions.length
            ? h(
                'ul',
                { class: 'assist-suggestions' },
                suggestions.map((sug, i) => {
                  const use = button('Use', { variant: 'secondary', size: 'sm', attrs: { 'data-testid': 'assist-use', 'aria-describedby': `${assistId}-s${i}` } });
                  use.addEventListener('click', () => useSuggestion(sug.text));
                  return h(
                    'li',
                    { class: 'assist-suggestion', dataset: { source: String(sug.source || '') } },
                    h('p', { class: 'assist-text', id: `${assistId}-s${i}` }, sug.text),
                    h('div', { class: 'assist-actions' }, h('span', { class: 'assist-source' }, sug.source === 'model' ? [icon('sparkle', { size: 12 }), ' Drafted by AI'] : [icon('book', { size: 12 }), ' Knowledge base']), use),
                  );
                }),
              )
            : h('p', { class: 'muted' }, 'No suggestion for the latest message. Check the knowledge base below, or write your own reply.'),
        ),
        entries.length
          ? h(
              'div',
              { class: 'assist-block' },
              h('h4', { class: 'assist-label' }, 'Relevant entries'),
              h(
                'ul',
                { class: 'assist-entries' },
                entries.map((e) =>
                  h(
                    'li',
                    null,
                    h('details', { class: 'assist-entry' }, h('summary', null, h('span', { class: 'assist-entry-q' }, e.question), h('span', { class: 'assist-entry-meta' }, `${e.category} · ${Math.round((Number(e.coverage) || 0) * 100)}% match`)), h('p', { class: 'assist-entry-a' }, e.answer)),
                  ),
                ),
              ),
            )
          : null,
      );
    }

    function applyView(view) {
      if (!view || view.id !== id) return;
      t.conversation = { ...t.conversation, ...view };
      patchItem(id, view);
      renderHead();
      renderList();
    }

    async function snooze(until) {
      try {
        const res = await api.post(`${base}/conversations/${seg(id)}/snooze`, { until: until ? until.toISOString() : null });
        applyView(res && (res.conversation || res));
        if (!res || res.id !== id) t.conversation.snoozed_until = until ? until.toISOString() : null;
        renderHead();
        refreshListSoon();
        toast.success(until ? `Snoozed until ${until.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' })}.` : 'Conversation is back in the inbox.');
      } catch (err) {
        toast.error(`Couldn't snooze: ${err.message}`);
      }
    }

    // Labels: a popover of checkboxes; admins can also add a label there.
    let labelPop = null;
    function closeLabels() {
      if (!labelPop) return;
      labelPop.remove();
      labelPop = null;
      document.removeEventListener('mousedown', onLabelsOutside, true);
    }
    function onLabelsOutside(event) {
      if (labelPop && !labelPop.contains(event.target) && !labelsEl.contains(event.target)) closeLabels();
    }
    async function openLabels(anchor) {
      if (labelPop) return closeLabels();
      await loadLabels();
      if (t.disposed) return;
      const current = new Set(((t.conversation && t.conversation.labels) || []).map((l) => l.id));
      const list = h('div', { class: 'label-pop-list' });
      const boxes = [];
      function addBox(l, checked) {
        const cb = h('input', { type: 'checkbox', value: String(l.id), checked });
        boxes.push(cb);
        const dot = h('span', { class: 'label-dot', 'aria-hidden': 'true' });
        dot.style.setProperty('--label', labelColour(l));
        list.append(h('label', { class: 'label-pop-opt' }, cb, dot, h('span', null, l.name)));
        cb.addEventListener('change', save);
      }
      for (const l of state.labels) addBox(l, current.has(l.id));
      if (!state.labels.length) list.append(h('p', { class: 'muted label-pop-empty' }, isAdmin ? 'No labels yet. Add the first one below.' : 'No labels yet. An admin can add them.'));
      let saving = Promise.resolve();
      function save() {
        const ids = boxes.filter((b) => b.checked).map((b) => Number(b.value));
        saving = saving.then(async () => {
          try {
            const res = await api.put(`${base}/conversations/${seg(id)}/labels`, ids);
            applyView(res && (res.conversation || res));
          } catch (err) {
            toast.error(`Couldn't change labels: ${err.message}`);
          }
        });
      }
      let adder = null;
      if (isAdmin) {
        const nameIn = h('input', { type: 'text', class: 'input', placeholder: 'New label', 'aria-label': 'New label name', maxlength: 40 });
        const colourIn = h('input', { type: 'color', class: 'label-colour', value: '#0f766e', 'aria-label': 'New label colour' });
        const add = h('button', { type: 'submit', class: 'btn btn-secondary btn-sm' }, 'Add');
        adder = h('form', { class: 'label-pop-add' }, nameIn, colourIn, add);
        adder.addEventListener('submit', async (event) => {
          event.preventDefault();
          const name = nameIn.value.trim();
          if (!name) return;
          try {
            const l = await api.post(`${base}/labels`, { name, colour: colourIn.value });
            state.labels.push(l);
            renderLabelOptions();
            list.querySelector('.label-pop-empty')?.remove();
            addBox(l, true);
            nameIn.value = '';
            save();
          } catch (err) {
            toast.error(`Couldn't add the label: ${err.message}`);
          }
        });
      }
      labelPop = h('div', { class: 'label-pop', role: 'dialog', 'aria-label': 'Labels', dataset: { testid: 'labels-popover' } }, h('div', { class: 'menu-heading' }, 'Labels'), list, adder);
      labelPop.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') {
          event.stopPropagation();
          closeLabels();
          anchor.focus();
        }
      });
      document.body.append(labelPop);
      const r = anchor.getBoundingClientRect();
      labelPop.style.top = `${Math.round(Math.min(r.bottom + 6, window.innerHeight - labelPop.offsetHeight - 8))}px`;
      labelPop.style.left = `${Math.round(Math.max(8, Math.min(r.left, window.innerWidth - labelPop.offsetWidth - 8)))}px`;
      document.addEventListener('mousedown', onLabelsOutside, true);
      (labelPop.querySelector('input') || labelPop).focus();
    }

    function openTransfer() {
      const c = t.conversation;
      const queues = state.queues || [];
      const members = (state.members || []).filter((m) => m.id !== c.assigned_agent_id);
      // A conversation goes to a queue (whoever is free next) or to one colleague, who is
      // offered it like any other contact: their capacity and presence still apply.
      const targetOptions = [
        ...queues.map((q) => ({ value: `queue:${q.id}`, label: q.id === c.queue_id ? `Queue: ${q.name} (current)` : `Queue: ${q.name}` })),
        ...members.map((m) => ({ value: `agent:${m.id}`, label: `Agent: ${m.name}${m.presence && m.presence !== 'available' ? ` (${m.presence})` : ''}` })),
      ];
      const firstOther = queues.find((q) => q.id !== c.queue_id);
      const initial = firstOther ? `queue:${firstOther.id}` : targetOptions[0] ? targetOptions[0].value : '';
      const target = field({ name: 'target', label: 'Transfer to', type: 'select', value: initial, options: targetOptions, required: true, hint: 'A queue, or one colleague (offered to them when they are available).' });
      const note = field({ name: 'note', label: 'Note for the next agent', type: 'textarea', hint: 'Kept as a private note: the customer never sees it.' });
      note.input.rows = 3;
      note.input.maxLength = 1000;
      const alertBox = formAlert();
      const submitBtn = button('Transfer', { variant: 'primary', type: 'submit' });
      const cancel = button('Cancel');
      const formId = `transfer-${id}`;
      const form = h('form', { class: 'dialog-form', id: formId, novalidate: true }, alertBox.el, target.el, note.el);
      submitBtn.setAttribute('form', formId);
      const dlg = openDialog({ title: 'Transfer conversation', description: 'It leaves your inbox and waits for the queue or colleague you pick, keeping its place by start time.', body: form, footer: [cancel, submitBtn], initialFocus: () => target.input });
      cancel.addEventListener('click', () => dlg.close());
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        alertBox.clear();
        const [kind, rawId] = target.input.value.split(':');
        const body = kind === 'agent' ? { agent_id: Number(rawId) } : { queue_id: Number(rawId) };
        if (note.input.value.trim()) body.note = note.input.value.trim();
        setBusy(submitBtn, true);
        try {
          const res = await api.post(`${base}/conversations/${seg(id)}/transfer`, body);
          if (res && res.id === id) {
            t.conversation = { ...t.conversation, ...res };
            patchItem(id, res);
          }
          dlg.close(true);
          renderHead();
          refreshListSoon();
          const picked = targetOptions.find((o) => o.value === target.input.value);
          toast.success(`Conversation transferred${picked ? ` to ${picked.label.replace(/^(Queue|Agent): /, '')}` : ''}.`);
        } catch (err) {
          setBusy(submitBtn, false);
          showApiError(err, { queue_id: target, agent_id: target, note }, alertBox, { fieldHints: { queue_id: ['queue'], agent_id: ['agent'] } });
        }
      });
    }

    async function act(btn, action, done) {
      setBusy(btn, true);
      try {
        const res = await api.post(`${base}/conversations/${seg(id)}/${action}`, {});
        const conv = res && (res.conversation || res);
        if (conv && conv.id === id) {
          t.conversation = { ...t.conversation, ...conv };
          patchItem(id, conv);
        } else {
          t.conversation.status = action === 'resolve' ? 'closed' : t.conversation.assigned_agent_id ? 'agent' : 'queued';
        }
        renderHead();
        refreshListSoon();
        toast.success(done);
      } catch (err) {
        setBusy(btn, false);
        toast.error(err.message);
      }
    }

    function renderContext() {
      const c = t.conversation;
      const contact = t.contact || (c && c.contact) || {};
      const name = contactName({ ...c, contact });
      mount(
        contextPane,
        h(
          'div',
          { class: 'ctx-card' },
          h('div', { class: 'ctx-profile' }, avatar(name, contact.email || String(contact.id), 'lg'), h('div', { class: 'ctx-name' }, name), contact.email ? h('div', { class: 'ctx-email' }, contact.email) : h('div', { class: 'muted' }, 'No email given')),
          h(
            'dl',
            { class: 'ctx-details' },
            ctxDetail('Contact', contact.id != null ? `#${contact.id}` : '—'),
            ctxDetail('Channel', channelLabel(c && c.channel)),
            ctxDetail('Conversation', `#${id}`),
            c && c.started_at ? ctxDetail('Started', formatDateTime(c.started_at)) : null,
            c && c.language ? ctxDetail('Language', c.language) : null,
          ),
        ),
        h('div', { class: 'ctx-card' }, h('h3', { class: 'ctx-title' }, 'Channels'), h('div', { class: 'ctx-channels' }, h('span', { class: 'muted' }, 'Loading…'))),
        h('div', { class: 'ctx-card' }, h('h3', { class: 'ctx-title' }, 'Other conversations'), h('div', { class: 'ctx-others' }, h('span', { class: 'muted' }, 'Loading…'))),
        c && c.bot_turns > 0 ? h('div', { class: 'ctx-card', dataset: { testid: 'bot-turns' } }, h('h3', { class: 'ctx-title' }, 'Assistant'), h('div', { class: 'ctx-bot' }, h('span', { class: 'muted' }, 'Loading…'))) : null,
      );
      loadContact(contact.id);
      if (c && c.bot_turns > 0) loadBotTurns();
    }

    // What the assistant did here: who answered (local bot, small or large model), tokens, cost.
    async function loadBotTurns() {
      const slot = contextPane.querySelector('.ctx-bot');
      if (!slot) return;
      let res = null;
      try {
        res = await api.get(`${base}/conversations/${seg(id)}/bot-turns`, { signal });
      } catch (err) {
        if (err.name === 'AbortError') return;
        mount(slot, h('span', { class: 'muted' }, 'Not available.'));
        return;
      }
      if (t.disposed || !res) return;
      const tiers = { local: 'built-in bot', small: 'small model', large: 'large model', model: 'model' };
      const split = Object.entries(res.by_tier || {}).map(([k, n]) => `${n} × ${tiers[k] || k}`).join(', ');
      const tokens = (res.input_tokens || 0) + (res.output_tokens || 0);
      mount(
        slot,
        h(
          'dl',
          { class: 'ctx-details' },
          ctxDetail('Turns', split || '—'),
          ctxDetail('Tokens', tokens ? tokens.toLocaleString() : 'none'),
          res.cost_micros ? ctxDetail('Cost', (res.cost_micros / 1e6).toLocaleString(undefined, { maximumFractionDigits: 6 })) : null,
        ),
      );
    }

    // The customer's channels and past conversations (GET …/contacts/{id}).
    async function loadContact(contactId) {
      const channelsSlot = contextPane.querySelector('.ctx-channels');
      const slot = contextPane.querySelector('.ctx-others');
      if (contactId == null || !slot) return;
      let detail = null;
      try {
        detail = await api.get(`${base}/contacts/${seg(contactId)}`, { signal });
      } catch (err) {
        if (err.name === 'AbortError') return;
      }
      if (t.disposed) return;
      const identities = (detail && detail.identities) || [];
      const channels = [...new Set(identities.map((i) => i.channel).concat(t.conversation ? [t.conversation.channel] : []))];
      mount(channelsSlot, h('div', { class: 'chips' }, channels.map((ch) => h('span', { class: 'chip' }, channelLabel(ch)))));
      const others = ((detail && detail.conversations) || state.items.filter((x) => x.contact && x.contact.id === contactId)).filter((x) => x.id !== id);
      if (!others.length) {
        mount(slot, h('p', { class: 'muted' }, 'None'));
        return;
      }
      mount(
        slot,
        h(
          'ul',
          { class: 'ctx-list' },
          others.map((o) => {
            const [label] = STATUS[o.status] || [o.status];
            const preview = o.last_message && !o.last_message.private ? o.last_message.content : '';
            const a = h(
              'a',
              { href: `#/inbox?c=${o.id}`, class: 'ctx-link' },
              h('span', { class: 'ctx-link-top' }, h('span', null, `#${o.id} · ${channelLabel(o.channel)}`), h('span', { class: 'muted' }, `${label} · ${formatRelative(o.last_message_at)}`)),
              preview ? h('span', { class: 'ctx-link-preview' }, preview) : null,
            );
            a.addEventListener('click', (event) => {
              event.preventDefault();
              selectConversation(o.id);
            });
            return h('li', null, a);
          }),
        ),
      );
    }

    /* messages */
    function messageRow(m, { pending = false } = {}) {
      const who = m.private ? 'note' : m.sender === 'customer' ? 'customer' : m.sender === 'system' ? 'system' : m.sender === 'bot' ? 'bot' : 'agent';
      if (who === 'system') return h('div', { class: 'msg msg-system', dataset: { seq: String(m.seq ?? '') } }, h('span', { class: 'msg-system-text' }, m.content));
      const author = who === 'customer' ? contactName({ ...t.conversation, contact: t.contact || t.conversation?.contact }) : who === 'bot' ? m.sender_name || 'Assistant' : m.sender_id === myId ? 'You' : m.sender_name || 'Agent';
      const when = m.created_at || m.at;
      return h(
        'div',
        { class: ['msg', `msg-${who}`, pending && 'is-pending'], dataset: { seq: String(m.seq ?? ''), author: `${who}:${m.sender_id ?? ''}`, at: String(new Date(when || Date.now()).getTime()) } },
        h('div', { class: 'msg-author' }, who === 'note' ? [icon('note', { size: 13 }), ' Private note · '] : who === 'bot' ? [icon('bot', { size: 13 }), ' '] : null, author),
        h('div', { class: 'msg-bubble' }, attachmentEl(m) || m.content),
        h('div', { class: 'msg-meta' }, pending ? 'Sending…' : when ? h('time', { datetime: when, title: formatDateTime(when) }, new Date(when).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })) : null),
      );
    }

    // Consecutive messages from the same author within five minutes show the name once.
    function regroup() {
      let prev = null;
      for (const el of log.children) {
        const same = prev && prev.dataset.author && prev.dataset.author === el.dataset.author && Math.abs(Number(el.dataset.at) - Number(prev.dataset.at)) < 300_000;
        el.classList.toggle('is-cont', Boolean(same));
        prev = el;
      }
    }

    function nearBottom() {
      return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    }

    function renderAll() {
      const sorted = [...t.messages.values()].sort((a, b) => a.seq - b.seq);
      t.rows.clear();
      if (!sorted.length && !t.pending.length) {
        mount(log, h('p', { class: 'thread-empty muted' }, 'No messages yet.'));
        return;
      }
      mount(
        log,
        sorted.map((m) => {
          const row = messageRow(m);
          t.rows.set(m.seq, row);
          return row;
        }),
        t.pending.map((p) => p.row),
      );
      updateSeen();
      regroup();
      log.scrollTop = log.scrollHeight;
    }

    function addMessage(m, { fromEvent = false } = {}) {
      if (m.seq == null || t.messages.has(m.seq)) return false;
      t.messages.set(m.seq, m);
      if (!t.loaded) return true; // merged when the thread's fetch completes
      const stick = nearBottom() || m.sender_id === myId;
      // Adopt an optimistic copy of our own message.
      let row = null;
      if (m.sender === 'agent' && m.sender_id === myId) {
        const i = t.pending.findIndex((p) => p.content === m.content && Boolean(p.private) === Boolean(m.private));
        if (i >= 0) {
          const p = t.pending.splice(i, 1)[0];
          row = messageRow(m);
          p.row.replaceWith(row);
        }
      }
      if (!row) {
        row = messageRow(m);
        const empty = log.querySelector('.thread-empty');
        if (empty) empty.remove();
        // Keep sequence order even if frames arrive out of order.
        const later = [...t.rows.entries()].filter(([s]) => s > m.seq).sort((a, b) => a[0] - b[0])[0];
        if (later) log.insertBefore(row, later[1]);
        else if (t.pending.length) log.insertBefore(row, t.pending[0].row);
        else log.append(row);
      }
      t.rows.set(m.seq, row);
      if (m.sender === 'customer') typingEl.hidden = true;
      if (stick) log.scrollTop = log.scrollHeight;
      if (fromEvent) markRead();
      updateSeen();
      regroup();
      return true;
    }

    // Under the agent's last message to the customer: "Seen" once the customer read it,
    // "Delivered" once their widget showed it.
    function updateSeen() {
      for (const el of log.querySelectorAll('.msg-seen')) el.remove();
      let last = null;
      for (const [seq, m] of t.messages) if (m.sender === 'agent' && !m.private && (!last || seq > last.seq)) last = m;
      if (!last) return;
      const row = t.rows.get(last.seq);
      if (!row) return;
      const seen = last.seq <= t.customerRead || last.read_at || last.delivery_status === 'read';
      const delivered = seen || last.delivery_status === 'delivered' || last.seq <= t.customerDelivered;
      if (seen || delivered) row.append(h('div', { class: ['msg-seen', !seen && 'is-delivered'], dataset: { testid: 'delivery' } }, seen ? 'Seen' : 'Delivered'));
    }

    function markRead() {
      if (!t.loaded || document.visibilityState !== 'visible' || t.disposed) return;
      let last = 0;
      for (const [seq, m] of t.messages) if (m.sender === 'customer' && seq > last) last = seq;
      if (last > t.readSent) {
        t.readSent = last;
        api
          .post(`${base}/conversations/${seg(id)}/read`, { seq: last })
          .then(() => {
            const item = state.items.find((c) => c.id === id);
            if (t.disposed || !item || (!item.unread && !state.unread.has(id))) return;
            state.unread.delete(id);
            item.unread = 0;
            renderList();
          })
          .catch(() => {});
      }
    }

    async function submit() {
      const content = textarea.value.trim();
      if (!content || textarea.disabled) return;
      const isNote = noteToggle.checked;
      if (content.length > 4000) {
        toast.error('A message can have at most 4000 characters.');
        return;
      }
      stopTyping();
      const p = { content, private: isNote, row: null };
      p.row = messageRow({ sender: 'agent', sender_id: myId, content, private: isNote }, { pending: true });
      t.pending.push(p);
      const empty = log.querySelector('.thread-empty');
      if (empty) empty.remove();
      log.append(p.row);
      regroup();
      log.scrollTop = log.scrollHeight;
      textarea.value = '';
      try {
        const mentions = isNote ? mentionIds(content) : [];
        const path = `${base}/conversations/${seg(id)}/messages`;
        let m;
        try {
          m = await api.post(path, isNote ? (mentions.length ? { content, private: true, mentions } : { content, private: true }) : { content });
        } catch (err) {
          // A server without mentions rejects the field: keep the note, drop the notifications.
          if (!(mentions.length && err instanceof ApiError && (err.status === 400 || err.status === 422) && !/^mentions\[/.test(String(err.field || '')))) throw err;
          m = await api.post(path, { content, private: true });
          toast.info(`Note added, but nobody was notified: ${err.message}`);
        }
        if (isNote) mentioned.clear();
        const i = t.pending.indexOf(p);
        if (i >= 0) {
          t.pending.splice(i, 1);
          if (m && m.seq != null && !t.messages.has(m.seq)) {
            t.messages.set(m.seq, m);
            const row = messageRow(m);
            p.row.replaceWith(row);
            t.rows.set(m.seq, row);
          } else {
            p.row.remove();
          }
        }
        updateSeen();
        regroup();
      } catch (err) {
        const i = t.pending.indexOf(p);
        if (i >= 0) t.pending.splice(i, 1);
        p.row.classList.remove('is-pending');
        p.row.classList.add('is-failed');
        const retry = h('button', { type: 'button', class: 'msg-retry' }, 'Not sent. Retry');
        retry.addEventListener('click', () => {
          p.row.remove();
          textarea.value = content;
          noteToggle.checked = isNote;
          noteToggle.dispatchEvent(new Event('change'));
          submit();
        });
        mount(p.row.querySelector('.msg-meta'), retry);
        if (!(err instanceof ApiError && err.status === 401)) toast.error(`Message not sent: ${err.message}`);
      }
    }

    async function uploadFile(file) {
      if (file.size > MAX_UPLOAD) {
        toast.error(`${file.name} is larger than 10 MB.`);
        return;
      }
      if (textarea.disabled) return;
      const isNote = noteToggle.checked;
      attachBtn.disabled = true;
      try {
        await api.upload(`${base}/conversations/${seg(id)}/attachments`, file, { query: { filename: file.name || 'file', private: isNote ? 'true' : undefined } });
        // The message itself arrives on the event stream.
      } catch (err) {
        toast.error(err.status === 415 ? `${file.name}: this type of file can't be sent.` : `${file.name} was not sent: ${err.message}`);
      } finally {
        attachBtn.disabled = false;
      }
    }

    async function load() {
      try {
        const res = await api.get(`${base}/conversations/${seg(id)}`, { signal });
        if (t.disposed) return;
        t.conversation = res.conversation;
        t.contact = res.contact || res.conversation.contact || null;
        for (const m of res.messages || []) if (!t.messages.has(m.seq)) t.messages.set(m.seq, m);
        t.loaded = true;
        renderHead();
        renderAll();
        renderContext();
        markRead();
        if (!textarea.disabled) textarea.focus({ preventScroll: true });
      } catch (err) {
        if (err.name === 'AbortError' || t.disposed) return;
        mount(threadPane, errorState({ title: err.status === 404 ? 'Conversation not found' : "Couldn't load the conversation", message: err.message, onRetry: err.status === 404 ? null : () => openThread(id) }));
      }
    }
    load();

    function onVisible() {
      markRead();
    }
    document.addEventListener('visibilitychange', onVisible);

    return {
      id: t.id,
      addMessage,
      onConversation(p) {
        if (!t.conversation) return;
        if (t.conversation.status === 'bot' && p.status && p.status !== 'bot') {
          // The assistant handed over: fetch the conversation for its handoff record.
          t.conversation.status = p.status;
          load();
          return;
        }
        t.conversation = { ...t.conversation, status: p.status ?? t.conversation.status, assigned_agent_id: p.assigned_agent_id !== undefined ? p.assigned_agent_id : t.conversation.assigned_agent_id, queue_id: p.queue_id ?? t.conversation.queue_id };
        if (p.snoozed_until !== undefined) t.conversation.snoozed_until = p.snoozed_until;
        if (Array.isArray(p.labels)) t.conversation.labels = p.labels;
        renderHead();
      },
      onTyping(on) {
        typingEl.hidden = !on;
        clearTimeout(t.customerTypingTimer);
        if (on) t.customerTypingTimer = setTimeout(() => (typingEl.hidden = true), 8000);
      },
      onRead(seq) {
        t.customerRead = Math.max(t.customerRead, seq);
        updateSeen();
      },
      onDelivered(seq) {
        t.customerDelivered = Math.max(t.customerDelivered, seq);
        updateSeen();
      },
      reload() {
        if (t.loaded) load();
      },
      refreshHead() {
        if (t.conversation) renderHead();
      },
      dispose() {
        t.disposed = true;
        closeLabels();
        stopTyping();
        t.assistSeq += 1;
        clearTimeout(t.customerTypingTimer);
        document.removeEventListener('visibilitychange', onVisible);
      },
    };
  }

  // A file sent in a message: images inline, other files as a download link. Only our own
  // /media/attachments/ paths are ever used as a link target.
  function attachmentEl(m) {
    const a = m.attachment;
    if (!a || typeof a.url !== 'string' || !/^\/media\/attachments\/[A-Za-z0-9_-]+$/.test(a.url)) return null;
    const name = a.filename || m.content || 'file';
    if (String(a.content_type || '').startsWith('image/')) {
      return h('a', { class: 'msg-image', href: a.url, target: '_blank', rel: 'noopener' }, h('img', { src: a.url, alt: name, loading: 'lazy' }));
    }
    return h('a', { class: 'msg-file', href: a.url, download: name, rel: 'noopener' }, icon('note', { size: 16 }), h('span', { class: 'msg-file-name' }, name), h('span', { class: 'msg-file-size' }, formatSize(a.size_bytes)));
  }

  function ctxDetail(term, value) {
    return h('div', { class: 'detail' }, h('dt', null, term), h('dd', null, value));
  }

  function renderNoThread() {
    mount(threadPane, emptyState({ iconName: 'chat', title: 'Pick a conversation', message: 'Choose a conversation on the left, or wait for a new one to be offered to you.' }));
    mount(contextPane);
  }

  /* ----------------------------------------------------------- offers */

  let offerTick = 0;
  function renderOffers() {
    const now = Date.now();
    for (const [cid, o] of state.offers) if (o.deadlineMs && o.deadlineMs < now - 1000) state.offers.delete(cid);
    const cards = [...state.offers.values()].map(offerCard);
    mount(offersEl, cards);
    clearInterval(offerTick);
    if (state.offers.size) offerTick = setInterval(tickOffers, 250);
  }

  function tickOffers() {
    const now = Date.now();
    let expired = false;
    for (const card of offersEl.querySelectorAll('.offer-card')) {
      const o = state.offers.get(Number(card.dataset.conversationId));
      if (!o) continue;
      const left = Math.max(0, Math.ceil((o.deadlineMs - now) / 1000));
      card.querySelector('.offer-secs').textContent = o.deadlineMs ? `${left}s` : '';
      const bar = card.querySelector('.offer-bar-fill');
      if (bar && o.deadlineMs) bar.style.transform = `scaleX(${Math.max(0, Math.min(1, (o.deadlineMs - now) / o.totalMs))})`;
      if (o.deadlineMs && now > o.deadlineMs + 1000) expired = true;
    }
    if (expired) renderOffers();
  }

  function offerCard(o) {
    const accept = button('Accept', { variant: 'primary', iconName: 'check', attrs: { 'data-testid': 'offer-accept' } });
    const decline = button('Decline', { variant: 'secondary', attrs: { 'data-testid': 'offer-decline' } });
    const card = h(
      'div',
      { class: 'offer-card', role: 'group', 'aria-label': `New ${channelLabel(o.channel).toLowerCase()} conversation`, dataset: { conversationId: String(o.conversation_id), testid: 'offer' } },
      h('div', { class: 'offer-top' }, h('span', { class: 'offer-icon' }, icon('chat', { size: 18 })), h('span', { class: 'offer-title' }, `New ${channelLabel(o.channel).toLowerCase()}`), h('span', { class: 'offer-secs', 'aria-label': 'seconds left' })),
      h('p', { class: 'offer-preview' }, o.preview || 'No message yet.'),
      h('div', { class: 'offer-bar', 'aria-hidden': 'true' }, h('span', { class: 'offer-bar-fill' })),
      h('div', { class: 'offer-actions' }, decline, accept),
    );
    accept.addEventListener('click', async () => {
      setBusy(accept, true);
      decline.disabled = true;
      try {
        await api.post(`${base}/conversations/${seg(o.conversation_id)}/accept`, {});
        state.offers.delete(o.conversation_id);
        renderOffers();
        toast.success('Conversation accepted.');
        if (state.filter === 'closed') {
          state.filter = 'mine';
          for (const x of tabs.children) x.setAttribute('aria-selected', String(x.dataset.filter === 'mine'));
        }
        await loadList({ quiet: true });
        selectConversation(o.conversation_id);
      } catch (err) {
        state.offers.delete(o.conversation_id);
        renderOffers();
        toast.error(err.status === 409 || err.status === 404 ? 'This conversation is no longer available.' : `Couldn't accept: ${err.message}`);
      }
    });
    decline.addEventListener('click', async () => {
      setBusy(decline, true);
      accept.disabled = true;
      try {
        await api.post(`${base}/conversations/${seg(o.conversation_id)}/decline`, {});
      } catch (err) {
        if (!(err.status === 404 || err.status === 409)) toast.error(`Couldn't decline: ${err.message}`);
      }
      state.offers.delete(o.conversation_id);
      renderOffers();
    });
    queueMicrotask(tickOffers);
    return card;
  }

  function addOffer(p) {
    const deadlineMs = p.deadline ? new Date(p.deadline).getTime() : 0;
    if (deadlineMs && deadlineMs < Date.now()) return;
    const totalMs = deadlineMs ? Math.max(1000, deadlineMs - Date.now()) : 0;
    state.offers.set(p.conversation_id, { ...p, deadlineMs, totalMs });
    renderOffers();
  }

  function removeOfferByContact(contactId) {
    for (const [cid, o] of state.offers) if (o.contact_id === contactId) state.offers.delete(cid);
    renderOffers();
  }

  /* --------------------------------------------------------- realtime */

  function onEvent(frame) {
    calls.onEvent(frame);
    const { kind, payload: p, user_id: target } = frame;
    if (!p || typeof p !== 'object') return;
    switch (kind) {
      case 'offer':
        if (p.agent_id === myId) state.myOfferContacts.add(p.contact_id);
        break;
      case 'conversation_offer': {
        // Supervisors see every event: show only the offers made to us.
        const mine = p.agent_id != null ? p.agent_id === myId : ctx.role === 'agent' || state.myOfferContacts.has(p.contact_id);
        if (mine) addOffer(p);
        break;
      }
      case 'offer_withdrawn':
        if (p.agent_id == null || p.agent_id === myId) removeOfferByContact(p.contact_id);
        break;
      case 'assigned':
      case 'contact_ended':
        removeOfferByContact(p.contact_id);
        refreshListSoon();
        break;
      case 'conversation':
        if (p.status && p.status !== 'queued') {
          if (state.offers.delete(p.conversation_id)) renderOffers();
        }
        patchItem(p.conversation_id, { status: p.status, assigned_agent_id: p.assigned_agent_id, ...(p.snoozed_until !== undefined ? { snoozed_until: p.snoozed_until } : {}), ...(Array.isArray(p.labels) ? { labels: p.labels } : {}) });
        if (thread && thread.id === p.conversation_id) thread.onConversation(p);
        refreshListSoon();
        break;
      case 'message': {
        const cid = p.conversation_id;
        const item = patchItem(cid, { last_message_at: p.at, last_message: { seq: p.seq, sender: p.sender, content: p.content, private: p.private } });
        const isOpen = thread && thread.id === cid;
        if (isOpen) thread.addMessage({ ...p, created_at: p.at }, { fromEvent: true });
        if (p.sender === 'customer' && !(isOpen && document.visibilityState === 'visible')) state.unread.set(cid, (item ? unreadOf(item) : state.unread.get(cid) || 0) + 1);
        if (p.sender === 'customer' && item && item.snoozed_until) item.snoozed_until = null;
        if (item) renderList();
        else refreshListSoon();
        break;
      }
      case 'typing':
        if (thread && thread.id === p.conversation_id) thread.onTyping(Boolean(p.on));
        break;
      case 'read':
        if (thread && thread.id === p.conversation_id) thread.onRead(Number(p.seq) || 0);
        break;
      case 'delivered':
        if (thread && thread.id === p.conversation_id) thread.onDelivered(Number(p.seq) || 0);
        break;
      case 'mention':
        if (p.by !== myId && mentionIsForMe(p, target)) showMention(p);
        break;
      case 'presence':
        if (p.user_id === myId) {
          state.presence = { state: p.state, reason: p.reason || null };
          rememberPresence();
          renderPresence();
        }
        break;
      default:
        break;
    }
  }

  // A mention is addressed to one user. Agents only receive their own; supervisors' streams
  // carry everyone's, so unless the event names its target, look for "@Me" in the excerpt.
  function mentionIsForMe(p, target) {
    const to = target ?? p.user_id ?? p.mentioned_user_id;
    if (to != null) return Number(to) === myId;
    if (ctx.role === 'agent') return true;
    const myName = String(me.user.name || '').trim();
    return Boolean(myName) && typeof p.excerpt === 'string' && p.excerpt.toLowerCase().includes(`@${myName.toLowerCase()}`);
  }

  function showMention(p) {
    const cid = Number(p.conversation_id);
    if (!Number.isFinite(cid)) return;
    const byMember = state.members && state.members.find((m) => m.id === p.by);
    const by = (typeof p.by_name === 'string' && p.by_name) || (byMember && byMember.name) || 'A teammate';
    const link = h('a', { href: `#/inbox?c=${cid}`, class: 'toast-link' }, 'Open');
    link.addEventListener('click', (event) => {
      event.preventDefault();
      selectConversation(cid);
    });
    const excerpt = typeof p.excerpt === 'string' && p.excerpt ? h('span', { class: 'toast-excerpt' }, ` “${p.excerpt.length > 80 ? `${p.excerpt.slice(0, 80)}…` : p.excerpt}”`) : null;
    toast.info(h('span', { dataset: { testid: 'mention-toast' } }, `${by} mentioned you in conversation #${cid}`, excerpt, link), { timeout: 10_000 });
  }

  // Colleagues to @mention and queues to transfer to: the directory every member may read.
  let directoryLoaded = null;
  function loadDirectory() {
    if (directoryLoaded) return directoryLoaded;
    directoryLoaded = api
      .get(`${base}/directory`, { signal })
      .then((res) => {
        state.queues = (res && res.queues) || [];
        state.members = ((res && res.members) || [])
          .map((u) => ({ id: Number(u.user_id), name: String(u.name || '').trim(), presence: u.presence }))
          .filter((u) => Number.isFinite(u.id) && u.name && u.id !== myId);
        if (thread) thread.refreshHead();
        calls.refreshNames();
        return state.members;
      })
      .catch((err) => {
        if (err.name !== 'AbortError') directoryLoaded = null;
        state.queues = state.queues || [];
        return null;
      });
    return directoryLoaded;
  }

  function setConn(s) {
    connEl.className = `conn conn-${s}`;
    mount(connEl, s === 'live' ? null : [h('span', { class: 'conn-dot', 'aria-hidden': 'true' }), s === 'reconnecting' ? 'Reconnecting…' : 'Connecting…']);
    layout.dataset.conn = s;
  }

  const rt = connectEvents(tid, {
    onEvent,
    onState: setConn,
    onReady({ reconnected }) {
      // The replay covered everything; a quiet refresh of the list catches changes to
      // conversations the client was not tracking.
      if (reconnected) {
        refreshListSoon();
        calls.restore();
      }
    },
  });
  setConn('connecting');
  cleanups.push(() => rt.close());
  cleanups.push(() => clearInterval(offerTick));
  cleanups.push(() => clearTimeout(listTimer));
  cleanups.push(() => thread && thread.dispose());
  cleanups.push(() => calls.dispose());

  const rel = setInterval(() => {
    for (const el of listEl.querySelectorAll('.conv-row')) {
      const item = state.items.find((c) => String(c.id) === el.dataset.conversationId);
      const tEl = el.querySelector('.conv-time');
      if (item && tEl) tEl.textContent = item.last_message_at ? formatRelative(item.last_message_at) : '';
    }
  }, 30_000);
  cleanups.push(() => clearInterval(rel));

  let labelsLoaded = null;
  function loadLabels({ force = false } = {}) {
    if (labelsLoaded && !force) return labelsLoaded;
    labelsLoaded = api
      .get(`${base}/labels`, { signal })
      .then((res) => {
        state.labels = (res && res.items) || [];
        renderLabelOptions();
      })
      .catch(() => {
        labelsLoaded = null;
      });
    return labelsLoaded;
  }

  loadPresence();
  loadLabels();
  loadDirectory();
  calls.restore();
  if (state.view === 'chats') {
    setView('chats');
    if (state.selectedId) openThread(state.selectedId);
    else renderNoThread();
  } else {
    const callId = Number(ctx.query.get('call'));
    setView(state.view, { callId: Number.isFinite(callId) && callId > 0 ? callId : undefined });
  }
  await loadList();

  return () => {
    for (const fn of cleanups) fn();
  };
}
