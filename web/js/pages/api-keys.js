// API keys of the current tenant: list, create (secret shown once), revoke.

import { h, mount, timeEl } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { pageHeader, button, field, formAlert, setBusy, openDialog, confirmDialog, secretDialog, showApiError, roleBadge, statusPill, skeletonRows, emptyState, errorState } from '../ui.js';

const ROLES = [
  { value: 'agent', label: 'Agent' },
  { value: 'supervisor', label: 'Supervisor' },
  { value: 'admin', label: 'Admin' },
];

export async function render(root, ctx) {
  const { api, tenant, toast, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}/api-keys`;
  let keys = [];

  const newBtn = button('Create API key', { variant: 'primary', iconName: 'plus' });
  newBtn.addEventListener('click', openCreate);
  const listSlot = h('div', { class: 'card card-flush' });
  const help = h(
    'p',
    { class: 'callout callout-info' },
    icon('info', { size: 16 }),
    h('span', null, 'Send a key as ', h('code', null, 'Authorization: Bearer <key>'), '. It acts with the role you give it, only inside this tenant.'),
  );
  mount(root, pageHeader({ title: 'API keys', description: ['Keys let your own systems use the Switchboard API for ', h('strong', null, tenant.tenant_name), '.'], actions: newBtn }), help, listSlot);

  async function load() {
    mount(listSlot, skeletonRows(3));
    try {
      const res = await api.get(base, { signal });
      keys = res.items || [];
      renderList();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(listSlot, errorState({ title: "Couldn't load API keys", message: err.message, onRetry: load }));
    }
  }

  function renderList() {
    if (!keys.length) {
      const first = button('Create API key', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', openCreate);
      mount(listSlot, emptyState({ iconName: 'key', title: 'No API keys yet', message: 'Create a key for each system that talks to Switchboard, so you can revoke one without affecting the others.', action: first }));
      return;
    }
    const sorted = keys.slice().sort((a, b) => Number(Boolean(a.revoked_at)) - Number(Boolean(b.revoked_at)));
    const table = h(
      'table',
      { class: 'table table-keys' },
      h('caption', { class: 'sr-only' }, 'API keys'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col', class: 'col-lastlogin' }, 'Last used'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, sorted.map(row)),
    );
    mount(listSlot, h('div', { class: 'table-wrap' }, table));
  }

  function row(k) {
    const revoked = Boolean(k.revoked_at);
    let action = null;
    if (!revoked) {
      action = h('button', { type: 'button', class: 'btn btn-ghost btn-sm btn-danger-text', 'aria-label': `Revoke ${k.name}` }, 'Revoke');
      action.addEventListener('click', () => revoke(k));
    }
    return h(
      'tr',
      { class: [revoked && 'is-inactive'], dataset: { keyId: String(k.id) } },
      h('td', { class: 'col-name' }, h('div', { class: 'user-cell-text' }, h('span', { class: 'user-name' }, k.name), h('span', { class: 'user-email' }, 'Created ', timeEl(k.created_at)))),
      h('td', { 'data-label': 'Key' }, h('code', { class: 'key-prefix' }, `${k.prefix}…`)),
      h('td', { 'data-label': 'Role' }, roleBadge(k.role)),
      h('td', { class: 'col-lastlogin', 'data-label': 'Last used' }, timeEl(k.last_used_at, 'Never')),
      h('td', { 'data-label': 'Status' }, revoked ? statusPill('Revoked', 'danger') : statusPill('Active', 'success')),
      h('td', { class: 'col-actions' }, action),
    );
  }

  function openCreate() {
    const name = field({ name: 'name', label: 'Name', required: true, autocomplete: 'off', placeholder: 'CRM sync', hint: 'Say which system uses it, so you know what breaks if you revoke it.' });
    const role = field({ name: 'role', label: 'Role', type: 'select', value: 'agent', options: ROLES, required: true, hint: 'Give the key the smallest role that does the job.' });
    const alertBox = formAlert();
    const submit = button('Create key', { variant: 'primary', type: 'submit' });
    submit.setAttribute('form', 'create-key-form');
    const cancel = button('Cancel');
    const form = h('form', { id: 'create-key-form', class: 'dialog-form', novalidate: true }, alertBox.el, name.el, role.el);
    const dlg = openDialog({ title: 'Create API key', body: form, footer: [cancel, submit], initialFocus: () => name.input });
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      if (!name.input.value.trim()) {
        name.setError('Enter a name.');
        return name.input.focus();
      }
      setBusy(submit, true);
      try {
        const res = await api.post(base, { name: name.input.value.trim(), role: role.input.value });
        dlg.close(true);
        keys.unshift(res.api_key);
        renderList();
        toast.success(`API key ${res.api_key.name} was created.`);
        await secretDialog({ title: 'Your new API key', message: 'Store this key in your system\u2019s secret store. Switchboard keeps only a hash of it.', secret: res.secret, label: 'API key' });
      } catch (err) {
        setBusy(submit, false);
        showApiError(err, { name, role }, alertBox);
      }
    });
  }

  async function revoke(k) {
    await confirmDialog({
      title: `Revoke ${k.name}?`,
      message: 'Requests made with this key will be refused from now on. This cannot be undone.',
      confirmLabel: 'Revoke key',
      danger: true,
      action: async () => {
        await api.del(`${base}/${seg(k.id)}`);
        keys = keys.map((x) => (String(x.id) === String(k.id) ? { ...x, revoked_at: new Date().toISOString() } : x));
        renderList();
        toast.success(`${k.name} was revoked.`);
      },
    });
  }

  await load();
}
