// Audit log of the current tenant: newest first, paged with a cursor.

import { h, mount, timeEl, formatDateTime, avatar } from '../dom.js';
import { seg } from '../api.js';
import { pageHeader, button, setBusy, skeletonRows, emptyState, errorState } from '../ui.js';

const PAGE = 50;

const VERBS = {
  create: 'created',
  created: 'created',
  update: 'updated',
  updated: 'updated',
  delete: 'deleted',
  deleted: 'deleted',
  remove: 'removed',
  removed: 'removed',
  revoke: 'revoked',
  revoked: 'revoked',
  reset_password: 'reset the password of',
  password_reset: 'reset the password of',
  change_password: 'changed the password of',
  password_change: 'changed the password of',
  activate: 'activated',
  deactivate: 'deactivated',
  add: 'added',
  login: 'signed in as',
};

const TARGETS = { user: 'user', api_key: 'API key', tenant: 'tenant', membership: 'membership', session: 'session' };

/**
 * Turn an action code into words: "user.create" -> "created", "api_key.revoke" -> "revoked".
 * Unknown codes stay readable: "queue.pause_all" -> "queue pause all".
 */
export function describeAction(action) {
  const code = String(action || '');
  const verb = code.includes('.') ? code.slice(code.lastIndexOf('.') + 1) : code;
  if (VERBS[verb]) return VERBS[verb];
  return code.replace(/[._-]+/g, ' ').trim();
}

function describeTarget(type, id, details) {
  if (!type) return null;
  const noun = TARGETS[type] || String(type).replace(/[._-]+/g, ' ');
  const d = details && typeof details === 'object' ? details : {};
  const label = typeof d.email === 'string' ? d.email : typeof d.name === 'string' ? d.name : typeof d.slug === 'string' ? d.slug : null;
  if (label) return `${noun} ${label}`;
  return id !== null && id !== undefined && id !== '' ? `${noun} #${id}` : noun;
}

export async function render(root, ctx) {
  const { api, tenant, signal, toast } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}/audit-log`;
  let items = [];
  let cursor = null;

  const refresh = button('Refresh', { variant: 'secondary', iconName: 'refresh' });
  refresh.addEventListener('click', () => load());
  const listSlot = h('div', { class: 'card card-flush' });
  const moreSlot = h('div', { class: 'load-more' });
  mount(root, pageHeader({ title: 'Audit log', description: ['Every administrative change in ', h('strong', null, tenant.tenant_name), ': who did it, to what, and when.'], actions: refresh }), listSlot, moreSlot);

  async function load(more = false) {
    if (!more) mount(listSlot, skeletonRows(6));
    try {
      const res = await api.get(base, { query: { limit: PAGE, cursor: more ? cursor : null }, signal });
      items = more ? items.concat(res.items || []) : res.items || [];
      cursor = res.next_cursor || null;
      renderList();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      if (more) toast.error(err.message);
      else mount(listSlot, errorState({ title: "Couldn't load the audit log", message: err.message, onRetry: () => load() }));
    }
  }

  function renderList() {
    if (!items.length) {
      mount(listSlot, emptyState({ iconName: 'scroll', title: 'Nothing recorded yet', message: 'Changes to users, roles, API keys and settings will appear here.' }));
      mount(moreSlot);
      return;
    }
    mount(listSlot, h('ol', { class: 'audit-list' }, items.map(entry)));
    if (cursor) {
      const more = button('Load older entries', { variant: 'secondary' });
      more.addEventListener('click', async () => {
        setBusy(more, true);
        await load(true);
      });
      mount(moreSlot, more);
    } else {
      mount(moreSlot, items.length > PAGE ? h('p', { class: 'muted' }, 'That is the beginning of the log.') : null);
    }
  }

  function entry(item) {
    const actor = item.actor_email || (item.actor_user_id ? `User ${item.actor_user_id}` : 'System');
    const target = describeTarget(item.target_type, item.target_id, item.details);
    const hasDetails = item.details && (typeof item.details !== 'object' || Object.keys(item.details).length);
    return h(
      'li',
      { class: 'audit-item' },
      avatar(null, actor, 'sm'),
      h(
        'div',
        { class: 'audit-main' },
        h('p', { class: 'audit-line' }, h('span', { class: 'audit-actor' }, actor), ' ', h('span', { class: 'audit-action', title: item.action }, describeAction(item.action)), target ? [' ', h('span', { class: 'audit-target' }, target)] : null),
        hasDetails
          ? h('details', { class: 'audit-details' }, h('summary', null, 'Details'), h('pre', { class: 'code-block' }, typeof item.details === 'string' ? item.details : JSON.stringify(item.details, null, 2)))
          : null,
      ),
      h('span', { class: 'audit-time', title: formatDateTime(item.created_at) }, timeEl(item.created_at)),
    );
  }

  await load();
}
