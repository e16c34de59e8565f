// Home: who you are, where you belong, and what you can do from here.

import { h, mount, avatar, tenantMark, titleCase, formatDate } from '../dom.js';
import { icon } from '../icons.js';
import { roleBadge } from '../ui.js';
import { navEntries, canAccess } from '../nav.js';

const ROLE_SUMMARY = {
  owner: 'Owners manage everything in the tenant, including its admins.',
  admin: 'Admins manage users, roles, API keys and settings of the tenant.',
  supervisor: "Supervisors follow their tenant's queues, agents and reports.",
  agent: 'Agents answer the conversations and calls routed to their queues.',
  operator: 'Platform operators manage tenants and their limits.',
};

const ENTRY_TEXT = {
  inbox: 'Answer website chats and other conversations in real time, accept offers and set your status.',
  live: 'Follow every queue live: who is waiting, for how long, and what each agent is doing.',
  widgets: 'Create the chat widget for your website and copy its embed snippet.',
  canned: 'Save the answers agents send often; they insert them with / in the inbox.',
  ai: 'Let the assistant answer first, choose its provider and decide when it hands over to your team.',
  'knowledge-base': 'Write, import and test the answers the assistant gives.',
  users: 'Add people to the tenant, change roles, reset passwords and deactivate accounts.',
  'api-keys': 'Create API keys for integrations and revoke them when they are no longer used.',
  audit: 'See who changed what in the tenant, and when.',
  tenants: 'Create tenants, set their limits and switch features on or off.',
  account: 'Update your password and see the tenants you belong to.',
};

function greeting(now = new Date()) {
  const hour = now.getHours();
  if (hour < 5) return 'Good evening';
  if (hour < 12) return 'Good morning';
  if (hour < 18) return 'Good afternoon';
  return 'Good evening';
}

export function render(root, ctx) {
  const { me, tenant, role } = ctx;
  const user = me.user;
  const firstName = (user.name || '').trim().split(/\s+/)[0] || user.email;
  const memberships = me.memberships || [];

  const header = h(
    'header',
    { class: 'home-hero' },
    avatar(user.name, user.email, 'lg'),
    h(
      'div',
      { class: 'home-hero-text' },
      h('h1', { class: 'page-title', tabindex: '-1' }, `${greeting()}, ${firstName}`),
      h(
        'p',
        { class: 'page-desc' },
        tenant ? ['You are working in ', h('strong', null, tenant.tenant_name), ` as ${articleFor(role)} ${titleCase(role)}.`] : user.is_operator ? 'You are signed in as a platform operator.' : 'You are signed in.',
      ),
    ),
  );

  // What you can do: every page this user may open, with a one-line explanation.
  const actions = navEntries().filter((e) => e.id !== 'home' && canAccess(e, { me, role }) && (!e.tenant || tenant));
  const actionList = h(
    'ul',
    { class: 'action-list' },
    actions.map((e) =>
      h(
        'li',
        null,
        h(
          'a',
          { class: 'action-card', href: e.hash },
          h('span', { class: 'action-icon' }, icon(e.icon, { size: 20 })),
          h('span', { class: 'action-text' }, h('span', { class: 'action-title' }, e.label), h('span', { class: 'action-desc' }, ENTRY_TEXT[e.id] || `Open ${e.label}.`)),
          icon('arrowRight', { size: 16, className: 'action-arrow' }),
        ),
      ),
    ),
  );
  if (memberships.length > 1) {
    actionList.append(
      h(
        'li',
        null,
        h('div', { class: 'action-card action-card-static' }, h('span', { class: 'action-icon' }, icon('chevronUpDown', { size: 20 })), h('span', { class: 'action-text' }, h('span', { class: 'action-title' }, 'Switch tenant'), h('span', { class: 'action-desc' }, 'You belong to several tenants: pick one with the switcher at the top right.'))),
      ),
    );
  }

  const tenantsCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'home-tenants' },
    h('header', { class: 'card-header' }, h('h2', { id: 'home-tenants', class: 'card-title' }, 'Your tenants'), h('span', { class: 'card-count' }, String(memberships.length))),
    memberships.length
      ? h(
          'ul',
          { class: 'tenant-list' },
          memberships.map((m) =>
            h(
              'li',
              { class: ['tenant-row', tenant && String(m.tenant_id) === String(tenant.tenant_id) && 'is-current'] },
              tenantMark(m.tenant_name, m.tenant_slug),
              h('span', { class: 'tenant-row-text' }, h('span', { class: 'tenant-row-name' }, m.tenant_name), h('span', { class: 'tenant-row-slug' }, m.tenant_slug)),
              roleBadge(m.role),
            ),
          ),
        )
      : h('p', { class: 'card-empty' }, user.is_operator ? 'You are not a member of any tenant. As an operator you can still open every tenant from the switcher.' : 'You are not a member of any tenant yet. Ask an administrator to add you.'),
  );

  const roleKey = tenant ? role : user.is_operator ? 'operator' : null;
  const profileCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'home-profile' },
    h('header', { class: 'card-header' }, h('h2', { id: 'home-profile', class: 'card-title' }, 'Your profile')),
    h(
      'dl',
      { class: 'detail-list' },
      detail('Name', user.name || '—'),
      detail('Email', user.email),
      roleKey ? detail('Role here', [roleBadge(roleKey), h('span', { class: 'detail-note' }, ROLE_SUMMARY[roleKey] || '')]) : null,
      user.is_operator && tenant && roleKey !== 'operator' ? detail('Platform', [roleBadge('operator'), h('span', { class: 'detail-note' }, ROLE_SUMMARY.operator)]) : null,
      user.created_at ? detail('Member since', formatDate(user.created_at)) : null,
    ),
  );

  mount(
    root,
    header,
    h('div', { class: 'home-grid' }, h('section', { class: 'home-actions', 'aria-labelledby': 'home-can' }, h('h2', { id: 'home-can', class: 'section-title' }, 'What you can do here'), actionList), h('div', { class: 'home-side' }, profileCard, tenantsCard)),
  );
}

function detail(term, value) {
  return h('div', { class: 'detail' }, h('dt', null, term), h('dd', null, value));
}

function articleFor(word) {
  return /^[aeiou]/i.test(word || '') ? 'an' : 'a';
}
