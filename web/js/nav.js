// The navigation registry. A feature plugs into the shell by adding one entry
// here (or calling registerNav from its own module) and one page module that
// exports `render(root, ctx)`.
//
// Entry fields:
//   id       unique key, also used as the route when `hash` is '#/<id>'
//   label    text in the sidebar and the document title
//   icon     a name from icons.js
//   hash     the route, e.g. '#/users'
//   section  'workspace' | 'admin' | 'platform' | 'personal'
//   roles    who sees it: tenant roles ('owner', 'admin', 'supervisor', 'agent'),
//            'operator' for platform operators, or '*' for every signed-in user
//   tenant   true when the page works on the current tenant (needs one selected)
//   order    sort key inside its section
//   load     () => import('./pages/x.js'); the module exports render(root, ctx)
//            and may return a cleanup function from render.
//
// ctx passed to render: { api, me, tenant, role, toast, navigate, signal, query, refreshMe,
//                         switchTenant(tenantId, hash?), forbidden(message) }
//   tenant = { tenant_id, tenant_name, tenant_slug, role } or null
//   role   = the user's role in that tenant, or 'operator' for an operator
//            who is not a member of it.

export const SECTIONS = [
  { id: 'workspace', label: null },
  { id: 'admin', label: 'Administration' },
  { id: 'platform', label: 'Platform' },
  { id: 'personal', label: null },
];

const entries = [];

export function registerNav(entry) {
  if (!entry || !entry.id || !entry.hash || typeof entry.load !== 'function') {
    throw new Error('nav entry needs id, hash and load()');
  }
  if (entries.some((e) => e.id === entry.id)) throw new Error(`duplicate nav entry ${entry.id}`);
  entries.push({ section: 'workspace', roles: ['*'], tenant: false, order: 100, ...entry });
  const rank = (e) => {
    const i = SECTIONS.findIndex((x) => x.id === e.section);
    return i < 0 ? SECTIONS.length : i;
  };
  entries.sort((a, b) => rank(a) - rank(b) || a.order - b.order);
}

/** All registered entries (sorted). */
export function navEntries() {
  return entries.slice();
}

/** The entry whose hash path matches `path` ('/users'), or undefined. */
export function entryForPath(path) {
  return entries.find((e) => e.hash === `#${path}`);
}

/**
 * May this user open this entry in the current tenant?
 * `role` is the membership role in the current tenant (or null).
 */
export function canAccess(entry, { me, role }) {
  if (!me) return false;
  const roles = entry.roles || ['*'];
  if (roles.includes('*')) return true;
  if (me.user && me.user.is_operator && roles.includes('operator')) return true;
  return Boolean(role && roles.includes(role));
}

const ADMINS = ['owner', 'admin', 'operator'];
const SUPERVISORS = ['owner', 'admin', 'supervisor', 'operator'];
const MEMBERS = ['owner', 'admin', 'supervisor', 'agent'];

registerNav({ id: 'inbox', label: 'Inbox', icon: 'inbox', hash: '#/inbox', section: 'workspace', roles: MEMBERS, tenant: true, order: 5, load: () => import('./pages/inbox.js') });
registerNav({ id: 'live', label: 'Live queues', icon: 'activity', hash: '#/live', section: 'workspace', roles: SUPERVISORS, tenant: true, order: 20, load: () => import('./pages/live.js') });
registerNav({ id: 'home', label: 'Home', icon: 'home', hash: '#/home', section: 'workspace', roles: ['*'], order: 10, load: () => import('./pages/home.js') });
registerNav({ id: 'users', label: 'Users', icon: 'users', hash: '#/users', section: 'admin', roles: ADMINS, tenant: true, order: 10, load: () => import('./pages/users.js') });
registerNav({ id: 'api-keys', label: 'API keys', icon: 'key', hash: '#/api-keys', section: 'admin', roles: ADMINS, tenant: true, order: 20, load: () => import('./pages/api-keys.js') });
registerNav({ id: 'widgets', label: 'Chat widgets', icon: 'chat', hash: '#/widgets', section: 'admin', roles: ADMINS, tenant: true, order: 25, load: () => import('./pages/widgets.js') });
registerNav({ id: 'canned', label: 'Saved replies', icon: 'note', hash: '#/canned', section: 'admin', roles: ADMINS, tenant: true, order: 27, load: () => import('./pages/canned.js') });
registerNav({ id: 'ai', label: 'AI agent', icon: 'bot', hash: '#/ai', section: 'admin', roles: ADMINS, tenant: true, order: 28, load: () => import('./pages/ai.js') });
registerNav({ id: 'knowledge-base', label: 'Knowledge base', icon: 'book', hash: '#/knowledge-base', section: 'admin', roles: ADMINS, tenant: true, order: 29, load: () => import('./pages/knowledge-base.js') });
registerNav({ id: 'audit', label: 'Audit log', icon: 'scroll', hash: '#/audit', section: 'admin', roles: ADMINS, tenant: true, order: 30, load: () => import('./pages/audit.js') });
registerNav({ id: 'tenants', label: 'Tenants', icon: 'building', hash: '#/tenants', section: 'platform', roles: ['operator'], order: 10, load: () => import('./pages/tenants.js') });
registerNav({ id: 'account', label: 'Account', icon: 'user', hash: '#/account', section: 'personal', roles: ['*'], order: 10, load: () => import('./pages/account.js') });
registerNav({ id: 'flows', label: 'IVR flows', icon: 'phone', hash: '#/flows', section: 'admin', roles: ADMINS, tenant: true, order: 30, load: () => import('./pages/flows.js') });
registerNav({ id: 'dids', label: 'Phone numbers', icon: 'phone', hash: '#/dids', section: 'admin', roles: ADMINS, tenant: true, order: 31, load: () => import('./pages/dids.js') });
registerNav({ id: 'extensions', label: 'Extensions', icon: 'phone', hash: '#/extensions', section: 'admin', roles: ADMINS, tenant: true, order: 32, load: () => import('./pages/extensions.js') });
