// Live queues (supervisors): for every queue, who is waiting and for how long, the
// service level, and what each member is doing. Refreshed on routing events from the
// event stream and every 5 seconds.

import { h, mount, avatar } from '../dom.js';
import { seg } from '../api.js';
import { connectEvents } from '../realtime.js';
import { pageHeader, skeletonRows, emptyState, errorState } from '../ui.js';

const STATES = [
  ['available', 'Available'],
  ['busy', 'Busy'],
  ['ringing', 'Ringing'],
  ['wrapup', 'Wrap-up'],
  ['away', 'Away'],
  ['offline', 'Offline'],
];
const STATE_LABEL = Object.fromEntries(STATES);
const RELEVANT = new Set(['offer', 'offer_withdrawn', 'assigned', 'requeued', 'contact_ended', 'overflow', 'rejected', 'presence', 'conversation', 'conversation_offer']);

function duration(secs) {
  const s = Math.max(0, Math.round(Number(secs) || 0));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export async function render(root, ctx) {
  const { api, tenant, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}`;
  const updated = h('span', { class: 'live-updated', 'aria-live': 'off' });
  const grid = h('div', { class: 'live-grid' });
  mount(root, pageHeader({ title: 'Live queues', description: 'Waiting contacts, service level and agent states, as they happen.', actions: updated }), grid);
  mount(grid, h('div', { class: 'card card-flush' }, skeletonRows(4)));

  let queues = [];
  let loading = false;
  let again = false;
  let debounce = 0;

  async function refresh() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const list = await api.get(`${base}/queues`, { signal });
      queues = (list && list.items) || [];
      const lives = await Promise.all(queues.map((q) => api.get(`${base}/queues/${seg(q.id)}/live`, { signal }).catch((err) => (err.name === 'AbortError' ? Promise.reject(err) : null))));
      renderAll(lives);
      updated.textContent = `Updated ${new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`;
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      if (!grid.querySelector('.live-card')) mount(grid, errorState({ title: "Couldn't load the queues", message: err.message, onRetry: refresh }));
    } finally {
      loading = false;
      if (again && !signal.aborted) {
        again = false;
        refresh();
      }
    }
  }

  function renderAll(lives) {
    if (!queues.length) {
      mount(grid, emptyState({ iconName: 'activity', title: 'No queues yet', message: 'Queues appear here once an admin creates them.' }));
      return;
    }
    mount(
      grid,
      queues.map((q, i) => card(q, lives[i])),
    );
  }

  function card(q, live) {
    if (!live) return h('section', { class: 'card live-card' }, h('header', { class: 'live-head' }, h('h2', { class: 'live-name' }, q.name)), h('p', { class: 'card-note' }, 'Live data is not available for this queue.'));
    const st = live.stats || {};
    const counts = st.agents || {};
    const sl = st.service_level;
    const slText = sl == null ? '—' : `${Math.round(sl * 100)}%`;
    const waitCls = st.longest_wait_secs > 120 ? 'is-bad' : st.longest_wait_secs > 45 ? 'is-warn' : null;
    const slCls = sl != null && sl < 0.6 ? 'is-bad' : sl != null && sl < 0.8 ? 'is-warn' : null;
    const agents = live.agents || [];
    return h(
      'section',
      { class: 'card live-card', dataset: { queueId: String(q.id) }, 'aria-labelledby': `live-q-${q.id}` },
      h('header', { class: 'live-head' }, h('h2', { class: 'live-name', id: `live-q-${q.id}` }, live.name || q.name)),
      h(
        'div',
        { class: 'live-stats' },
        stat('Waiting', String(st.waiting ?? 0), null, 'waiting'),
        stat('Longest wait', duration(st.longest_wait_secs), waitCls, 'longest'),
        stat('Service level', slText, slCls, 'sl', `${st.answered ?? 0} answered · ${st.abandoned ?? 0} abandoned`),
        stat('Mean handle', duration(st.mean_handle_secs), null, 'aht'),
      ),
      h(
        'div',
        { class: 'agent-states', 'aria-label': 'Agents by state' },
        STATES.map(([key, label]) => h('span', { class: 'state-chip', dataset: { state: key } }, h('span', { class: ['presence-dot', `agent-state-${key}`], 'aria-hidden': 'true' }), label, h('b', null, String(counts[key] ?? 0)))),
      ),
      agents.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'table' },
              h('caption', { class: 'sr-only' }, `Members of ${q.name}`),
              h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Agent'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Chats'), h('th', { scope: 'col' }, 'Calls'))),
              h(
                'tbody',
                null,
                agents.map((a) => {
                  const presence = a.presence && a.presence.state === 'away' && a.presence.reason ? ` (${a.presence.reason})` : '';
                  const extra = a.state === 'wrapup' && a.wrapup_secs_left ? ` · ${duration(a.wrapup_secs_left)} left` : a.state === 'ringing' && a.offered_contact ? ` · contact #${a.offered_contact}` : '';
                  return h(
                    'tr',
                    { dataset: { userId: String(a.user_id) } },
                    h('td', null, h('div', { class: 'user-cell' }, avatar(a.name, String(a.user_id), 'sm'), h('span', { class: 'user-name' }, a.name))),
                    h('td', { 'data-label': 'State' }, h('span', { class: 'state-chip' }, h('span', { class: ['presence-dot', `agent-state-${a.state}`], 'aria-hidden': 'true' }), `${STATE_LABEL[a.state] || a.state}${presence}${extra}`)),
                    h('td', { 'data-label': 'Chats' }, String(a.chat_contacts ?? 0)),
                    h('td', { 'data-label': 'Calls' }, String(a.voice_contacts ?? 0)),
                  );
                }),
              ),
            ),
          )
        : h('p', { class: 'card-note live-empty' }, 'This queue has no members.'),
    );
  }

  function stat(label, value, cls, key, sub) {
    return h('div', { class: 'stat', dataset: { stat: key } }, h('div', { class: 'stat-label' }, label), h('div', { class: ['stat-value', cls] }, value), sub ? h('div', { class: 'stat-sub' }, sub) : null);
  }

  const rt = connectEvents(tenant.tenant_id, {
    onEvent(e) {
      if (!RELEVANT.has(e.kind)) return;
      clearTimeout(debounce);
      debounce = setTimeout(refresh, 300);
    },
    onReady({ reconnected }) {
      if (reconnected) refresh();
    },
  });
  const timer = setInterval(refresh, 5000);
  await refresh();
  return () => {
    rt.close();
    clearInterval(timer);
    clearTimeout(debounce);
  };
}
