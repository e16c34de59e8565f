// Application bootstrap: session, hash router and the navigation shell
// (sidebar, top bar with tenant switcher and user menu, content area).

import { api, setCsrfToken, onUnauthorized, ApiError } from './api.js';
import { h, mount, avatar, tenantMark, titleCase } from './dom.js';
import { icon } from './icons.js';
import { SECTIONS, navEntries, entryForPath, canAccess } from './nav.js';
import { toast, dropdown, loadingState, errorState, forbiddenState, emptyState, button } from './ui.js';
import * as loginPage from './pages/login.js';

const TENANT_KEY = 'switchboard.tenant';
const root = document.getElementById('app');

const state = {
  me: null, // { user, memberships, csrf_token }
  tenants: [], // [{ tenant_id, tenant_name, tenant_slug, role }] — memberships, plus every tenant for operators
  tenantId: null,
  shell: null, // DOM references of the rendered shell
  pageCleanup: null,
  pageAbort: null,
  routeSeq: 0,
};

/* --------------------------------------------------------------- routing */

function parseHash() {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart = ''] = raw.split('?');
  const path = pathPart.startsWith('/') ? pathPart : `/${pathPart}`;
  return { path: path.replace(/\/+$/, '') || '/', query: new URLSearchParams(queryPart) };
}

export function navigate(hash, { replace = false } = {}) {
  const target = hash.startsWith('#') ? hash : `#${hash}`;
  if (window.location.hash === target) {
    route();
  } else if (replace) {
    window.history.replaceState(null, '', target);
    route();
  } else {
    window.location.hash = target;
  }
}

function currentTenant() {
  return state.tenants.find((t) => String(t.tenant_id) === String(state.tenantId)) || null;
}

/** Role in the current tenant; an operator who is not a member acts as 'operator'. */
function currentRole() {
  const t = currentTenant();
  if (!t) return state.me && state.me.user.is_operator ? 'operator' : null;
  return t.role;
}

async function route() {
  const seq = ++state.routeSeq;
  const { path, query } = parseHash();

  if (path === '/login') {
    if (state.me) return navigate(query.get('next') || '#/home', { replace: true });
    teardownPage();
    state.shell = null;
    document.title = 'Sign in · Switchboard';
    loginPage.render(root, { api, navigate, toast, query, onLogin: handleLogin });
    return;
  }

  if (!state.me) {
    const next = path === '/' ? '' : `?next=${encodeURIComponent(`#${path}`)}`;
    return navigate(`#/login${next}`, { replace: true });
  }

  if (path === '/') return navigate('#/home', { replace: true });

  ensureShell();
  teardownPage();
  const entry = entryForPath(path);
  markActiveNav(entry);
  closeSidebar();
  const main = state.shell.main;
  const role = currentRole();
  const tenant = currentTenant();

  if (!entry) {
    document.title = 'Not found · Switchboard';
    setTopTitle('Not found');
    const home = button('Go to Home', { variant: 'primary', iconName: 'home' });
    home.addEventListener('click', () => navigate('#/home'));
    mount(main, emptyState({ iconName: 'search', title: 'Page not found', message: `There is no page at #${path}.`, action: home }));
    return;
  }

  document.title = `${entry.label} · Switchboard`;
  setTopTitle(entry.label, entry);

  if (!canAccess(entry, { me: state.me, role })) {
    const where = tenant ? ` in ${tenant.tenant_name}` : '';
    const roleText = role ? `Your role${where} is ${titleCase(role)}, which` : 'Your account';
    const message =
      entry.roles.length === 1 && entry.roles[0] === 'operator'
        ? 'This page is for platform operators only.'
        : `${roleText} doesn't include ${entry.label.toLowerCase()}. Ask an owner or admin of your workspace if you need access.`;
    mount(main, forbiddenState({ message, navigate }));
    return;
  }

  if (entry.tenant && !tenant) {
    mount(
      main,
      emptyState({
        iconName: 'building',
        title: 'No tenant selected',
        message: state.me.user.is_operator ? 'Create a tenant on the Tenants page, then pick it in the tenant switcher.' : 'Your account is not a member of any tenant yet.',
      }),
    );
    return;
  }

  mount(main, loadingState());
  let mod;
  try {
    mod = await entry.load();
  } catch (err) {
    if (seq !== state.routeSeq) return;
    mount(main, errorState({ title: "Couldn't load this page", message: 'The page failed to load. Reload the browser tab to try again.', onRetry: () => route() }));
    console.error(err);
    return;
  }
  if (seq !== state.routeSeq) return;

  const abort = new AbortController();
  state.pageAbort = abort;
  const pageRoot = h('div', { class: 'page', dataset: { page: entry.id } });
  mount(main, pageRoot);
  const ctx = {
    api,
    me: state.me,
    tenant,
    role,
    toast,
    navigate,
    query,
    signal: abort.signal,
    refreshMe,
    switchTenant,
    forbidden: (message) => mount(pageRoot, forbiddenState({ message, navigate })),
  };
  try {
    const cleanup = await mod.render(pageRoot, ctx);
    if (typeof cleanup === 'function') state.pageCleanup = cleanup;
  } catch (err) {
    if (abort.signal.aborted || (err && err.name === 'AbortError')) return;
    if (err instanceof ApiError && err.status === 403) {
      mount(pageRoot, forbiddenState({ message: err.message, navigate }));
    } else if (!(err instanceof ApiError && err.status === 401)) {
      console.error(err);
      mount(pageRoot, errorState({ message: err.message || 'Unexpected error.', onRetry: () => route() }));
    }
  }
  focusPageHeading(pageRoot);
}

function teardownPage() {
  if (state.pageAbort) state.pageAbort.abort();
  state.pageAbort = null;
  if (state.pageCleanup) {
    try {
      state.pageCleanup();
    } catch (err) {
      console.error(err);
    }
  }
  state.pageCleanup = null;
}

function focusPageHeading(pageRoot) {
  const active = document.activeElement;
  const inNav = active && state.shell && state.shell.sidebar.contains(active);
  if (active && active !== document.body && !inNav) return;
  const heading = pageRoot.querySelector('.page-title');
  if (heading) heading.focus({ preventScroll: true });
}

/* --------------------------------------------------------------- session */

async function loadMe() {
  try {
    const me = await api.get('/me');
    await acceptSession(me);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return false;
    throw err;
  }
}

async function acceptSession(me) {
  state.me = me;
  setCsrfToken(me.csrf_token);
  const members = (me.memberships || []).map((m) => ({ ...m }));
  let tenants = members;
  if (me.user && me.user.is_operator) {
    try {
      const all = await listAllTenants();
      const known = new Set(members.map((m) => String(m.tenant_id)));
      tenants = members.concat(
        all.filter((t) => !known.has(String(t.id))).map((t) => ({ tenant_id: t.id, tenant_name: t.name, tenant_slug: t.slug, role: 'operator' })),
      );
    } catch (err) {
      console.warn('could not list tenants for the switcher', err);
    }
  }
  state.tenants = tenants;
  const saved = localStorage.getItem(TENANT_KEY);
  const pick = tenants.find((t) => String(t.tenant_id) === saved) || tenants[0] || null;
  state.tenantId = pick ? pick.tenant_id : null;
}

function listAllTenants() {
  return api.listAll('/tenants');
}

/** Re-read /me (after tenant or membership changes) and redraw the shell. */
export async function refreshMe() {
  const ok = await loadMe();
  if (!ok) return;
  if (state.shell) renderShellChrome();
}

async function handleLogin(data) {
  await acceptSession(data);
  const { query } = parseHash();
  const next = query.get('next');
  navigate(next && next.startsWith('#/') && !next.startsWith('#/login') ? next : '#/home', { replace: true });
}

async function logout() {
  try {
    await api.post('/auth/logout');
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      toast.error(`Sign out failed: ${err.message}`);
      return;
    }
  }
  clearSession();
  navigate('#/login', { replace: true });
  toast.info('You are signed out.');
}

function clearSession() {
  teardownPage();
  state.me = null;
  state.tenants = [];
  state.tenantId = null;
  state.shell = null;
  setCsrfToken(null);
}

onUnauthorized(() => {
  if (!state.me) return;
  const { path } = parseHash();
  clearSession();
  toast.info('Your session has ended. Please sign in again.');
  navigate(`#/login?next=${encodeURIComponent(`#${path}`)}`, { replace: true });
});

/** Make `tenantId` the current tenant; then open `hash`, or stay on the page if allowed. */
function switchTenant(tenantId, hash) {
  if (!state.tenants.some((t) => String(t.tenant_id) === String(tenantId))) return false;
  state.tenantId = tenantId;
  localStorage.setItem(TENANT_KEY, String(tenantId));
  renderShellChrome();
  const t = currentTenant();
  toast.info(`Switched to ${t ? t.tenant_name : 'tenant'}.`);
  if (hash) {
    navigate(hash);
    return true;
  }
  const { path } = parseHash();
  const entry = entryForPath(path);
  if (entry && !canAccess(entry, { me: state.me, role: currentRole() })) navigate('#/home');
  else route();
  return true;
}

/* ----------------------------------------------------------------- shell */

function ensureShell() {
  if (state.shell && root.contains(state.shell.el)) return;
  const skip = h('a', { class: 'skip-link', href: '#main' }, 'Skip to content');
  skip.addEventListener('click', (event) => {
    event.preventDefault();
    state.shell.main.focus();
  });
  const sidebar = h('aside', { class: 'sidebar', id: 'sidebar', 'aria-label': 'Main navigation' });
  const scrim = h('div', { class: 'scrim', 'aria-hidden': 'true' });
  scrim.addEventListener('click', () => closeSidebar());
  const menuBtn = h('button', { type: 'button', class: 'icon-btn menu-toggle', 'aria-label': 'Open navigation', 'aria-controls': 'sidebar', 'aria-expanded': 'false' }, icon('menu', { size: 20 }));
  menuBtn.addEventListener('click', () => (document.body.classList.contains('sidebar-open') ? closeSidebar() : openSidebar()));
  const title = h('div', { class: 'topbar-title', 'aria-hidden': 'true' });
  const tenantSlot = h('div', { class: 'topbar-tenant menu-anchor' });
  const userSlot = h('div', { class: 'topbar-user menu-anchor' });
  const topbar = h('header', { class: 'topbar' }, menuBtn, title, h('div', { class: 'topbar-spacer' }), tenantSlot, userSlot);
  const main = h('main', { class: 'content', id: 'main', tabindex: '-1' });
  const el = h('div', { class: 'shell' }, skip, sidebar, scrim, h('div', { class: 'main-col' }, topbar, main));
  mount(root, el);
  state.shell = { el, sidebar, scrim, menuBtn, title, tenantSlot, userSlot, main, navLinks: new Map() };
  renderShellChrome();
}

function renderShellChrome() {
  const s = state.shell;
  if (!s) return;
  renderSidebar();
  renderTenantSwitcher(s.tenantSlot);
  renderUserMenu(s.userSlot);
  markActiveNav(entryForPath(parseHash().path));
}

function renderSidebar() {
  const s = state.shell;
  const role = currentRole();
  const brand = h('a', { class: 'brand', href: '#/home' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, icon('switchboard', { size: 20 })), h('span', { class: 'brand-name' }, 'Switchboard'));
  const closeBtn = h('button', { type: 'button', class: 'icon-btn sidebar-close', 'aria-label': 'Close navigation' }, icon('x', { size: 18 }));
  closeBtn.addEventListener('click', () => closeSidebar(true));
  const nav = h('nav', { class: 'nav', 'aria-label': 'Primary' });
  s.navLinks = new Map();
  let personal = null;
  for (const section of SECTIONS) {
    const visible = navEntries().filter((e) => e.section === section.id && canAccess(e, { me: state.me, role }));
    if (!visible.length) continue;
    const list = h('ul', { class: 'nav-list' });
    for (const entry of visible) {
      const link = h('a', { class: 'nav-link', href: entry.hash, dataset: { nav: entry.id } }, icon(entry.icon, { size: 18 }), h('span', null, entry.label));
      s.navLinks.set(entry.id, link);
      list.append(h('li', null, link));
    }
    const group = h('div', { class: 'nav-section' }, section.label ? h('h2', { class: 'nav-section-title' }, section.label) : null, list);
    if (section.id === 'personal') personal = group;
    else nav.append(group);
  }
  const footer = h('div', { class: 'sidebar-footer' }, personal);
  mount(s.sidebar, h('div', { class: 'sidebar-head' }, brand, closeBtn), nav, footer);
}

function markActiveNav(entry) {
  if (!state.shell) return;
  for (const [id, link] of state.shell.navLinks) {
    if (entry && id === entry.id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function setTopTitle(text, entry) {
  if (!state.shell) return;
  const section = entry && SECTIONS.find((x) => x.id === entry.section);
  mount(
    state.shell.title,
    section && section.label ? [h('span', null, section.label), h('span', { class: 'crumb-sep', 'aria-hidden': 'true' }, '/')] : null,
    h('span', { class: 'crumb-current' }, text),
  );
}

function renderTenantSwitcher(slot) {
  const t = currentTenant();
  if (!state.tenants.length) {
    mount(slot, state.me.user.is_operator ? h('span', { class: 'tenant-empty' }, icon('building', { size: 16 }), 'No tenants yet') : null);
    return;
  }
  const trigger = h(
    'button',
    { type: 'button', class: 'tenant-switcher', 'aria-label': `Current tenant: ${t ? t.tenant_name : 'none'}. Switch tenant`, dataset: { testid: 'tenant-switcher' } },
    tenantMark(t ? t.tenant_name : '?', t ? t.tenant_slug : '', 'sm'),
    h('span', { class: 'tenant-text' }, h('span', { class: 'tenant-name' }, t ? t.tenant_name : 'Choose tenant'), t ? h('span', { class: 'tenant-role' }, titleCase(t.role)) : null),
    icon('chevronUpDown', { size: 16, className: 'tenant-caret' }),
  );
  mount(slot, trigger);
  dropdown(
    trigger,
    () => [
      { heading: 'Switch tenant' },
      ...state.tenants.map((item) => ({
        label: item.tenant_name,
        hint: titleCase(item.role),
        checked: String(item.tenant_id) === String(state.tenantId),
        onSelect: () => {
          if (String(item.tenant_id) !== String(state.tenantId)) switchTenant(item.tenant_id);
        },
      })),
    ],
    { align: 'end', className: 'menu-tenants' },
  );
}

function renderUserMenu(slot) {
  const user = state.me.user;
  const trigger = h('button', { type: 'button', class: 'user-button', 'aria-label': `Account menu for ${user.name || user.email}`, dataset: { testid: 'user-menu' } }, avatar(user.name, user.email, 'sm'));
  mount(slot, trigger);
  dropdown(
    trigger,
    () => [
      { heading: user.name || user.email, sub: user.email },
      user.is_operator ? { heading: '', sub: 'Platform operator' } : null,
      'separator',
      { label: 'Account settings', icon: 'user', onSelect: () => navigate('#/account') },
      { label: 'Sign out', icon: 'logout', onSelect: logout, testid: 'logout' },
    ],
    { align: 'end', className: 'menu-user' },
  );
}

function openSidebar() {
  document.body.classList.add('sidebar-open');
  if (!state.shell) return;
  state.shell.menuBtn.setAttribute('aria-expanded', 'true');
  const first = state.shell.sidebar.querySelector('.nav-link');
  if (first) first.focus();
}

function closeSidebar(returnFocus = false) {
  const wasOpen = document.body.classList.contains('sidebar-open');
  document.body.classList.remove('sidebar-open');
  if (!state.shell) return;
  state.shell.menuBtn.setAttribute('aria-expanded', 'false');
  if (wasOpen && returnFocus) state.shell.menuBtn.focus();
}

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && document.body.classList.contains('sidebar-open') && !document.querySelector('dialog[open]')) {
    closeSidebar(true);
  }
});

/* ------------------------------------------------------------------ boot */

async function boot() {
  mount(root, h('div', { class: 'boot' }, loadingState('Loading Switchboard…')));
  try {
    await loadMe();
  } catch (err) {
    const retry = () => boot();
    mount(root, h('div', { class: 'boot' }, errorState({ title: "Can't reach Switchboard", message: err.message, onRetry: retry })));
    return;
  }
  window.addEventListener('hashchange', () => route());
  route();
}

boot();
