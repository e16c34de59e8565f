// Phone numbers (DIDs) of the current tenant and the IVR flow each one starts, as
// routes.yaml in the tenant's flow folder says. The file is the source of truth: this page
// shows it with its problems and links to the file in the flows editor.

import { h, mount } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { pageHeader, button, skeletonRows, emptyState, errorState, statusPill } from '../ui.js';

export async function render(root, ctx) {
  const { api, tenant, signal, navigate } = ctx;
  const editBtn = button('Edit routes.yaml', { iconName: 'edit', attrs: { 'data-testid': 'edit-routes' } });
  editBtn.addEventListener('click', () => navigate('#/flows?file=routes.yaml'));
  const slot = h('div', { class: 'card card-flush' });
  const problems = h('div');
  mount(root, pageHeader({ title: 'Phone numbers', description: ['The numbers callers dial for ', h('strong', null, tenant.tenant_name), ' and the flow each one starts (routes.yaml).'], actions: editBtn }), problems, slot);

  async function load() {
    mount(slot, skeletonRows(3));
    try {
      const view = await api.get(`/tenants/${seg(tenant.tenant_id)}/dids`, { signal });
      mount(
        problems,
        view.diagnostics.map((d) => h('p', { class: ['callout', d.severity === 'error' ? 'callout-danger' : 'callout-warning'] }, icon('alert', { size: 16 }), h('span', null, `${d.code}: ${d.message}`))),
      );
      if (!view.routes.length) {
        mount(slot, emptyState({ iconName: 'phone', title: 'No numbers routed', message: view.has_routes_file ? 'routes.yaml lists no numbers yet.' : 'Create routes.yaml in the flow folder to send numbers to flows.', action: editBtn.cloneNode(true) }));
        return;
      }
      mount(
        slot,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'table', 'data-testid': 'dids' },
            h('caption', { class: 'sr-only' }, 'Phone numbers'),
            h('thead', null, h('tr', null, ['Number', 'Flow', 'Variables', 'Failover', 'File line', 'State'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              null,
              view.routes.map((r) =>
                h(
                  'tr',
                  { dataset: { number: r.number } },
                  h(
                    'td',
                    { class: 'col-name' },
                    h('code', null, r.kind === 'did_prefix' ? `${r.number}…` : r.number),
                    r.kind === 'did_prefix' ? h('span', { class: 'field-hint' }, ' (block)') : null,
                    r.caller_id_name ? h('div', { class: 'field-hint', dataset: { testid: 'did-name' } }, r.caller_id_name) : null,
                    // Emergency calling is the one note an admin must not miss.
                    r.emergency_notes ? h('div', { class: ['field-hint', 'did-emergency'], dataset: { testid: 'did-emergency' } }, icon('alert', { size: 12 }), h('span', null, `Emergency: ${r.emergency_notes}`)) : null,
                  ),
                  h('td', { 'data-label': 'Flow' }, r.flow_name ? `${r.flow_name} ` : '', h('code', null, r.flow)),
                  h('td', { 'data-label': 'Variables' }, Object.keys(r.set || {}).length ? Object.entries(r.set).map(([k, v]) => h('code', { class: 'kv' }, `${k}=${v}`)) : '—'),
                  h('td', { 'data-label': 'Failover', dataset: { testid: 'did-failover' } }, r.failover || '—'),
                  h('td', { 'data-label': 'File line' }, r.line ? String(r.line) : '—'),
                  h('td', { 'data-label': 'State' }, r.diagnostics.length ? statusPill(r.diagnostics[0].message, r.diagnostics.some((d) => d.severity === 'error') ? 'danger' : 'warning') : statusPill('OK', 'success')),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(slot, errorState({ title: "Couldn't load the numbers", message: err.message, onRetry: load }));
    }
  }
  await load();
}
