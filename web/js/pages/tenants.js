// Tenants (platform operators): list, create, edit limits and features, delete.

import { h, mount, timeEl, uid, tenantMark } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { pageHeader, button, field, formAlert, setBusy, openDialog, confirmDialog, showApiError, dropdown, skeletonRows, emptyState, errorState } from '../ui.js';

const LIMITS = [
  { key: 'max_agents', label: 'Agents', unit: ['agent', 'agents'] },
  { key: 'max_dids', label: 'Phone numbers (DIDs)', unit: ['number', 'numbers'] },
  { key: 'max_concurrent_calls', label: 'Concurrent calls', unit: ['call', 'calls'] },
  { key: 'max_chat_integrations', label: 'Chat integrations', unit: ['integration', 'integrations'] },
];

const FEATURES = [
  { key: 'voice', label: 'Voice', desc: 'Phone numbers, IVR flows and call queues' },
  { key: 'chat', label: 'Chat', desc: 'Website widget and messaging channels' },
  { key: 'ai', label: 'AI agent', desc: 'Automatic answers and hand-over to humans' },
];

const PAGE_SIZE = 50;

export function slugify(text) {
  return String(text || '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
}

export async function render(root, ctx) {
  const { api, toast, signal } = ctx;
  let tenants = [];
  let nextCursor = null;

  const newBtn = button('New tenant', { variant: 'primary', iconName: 'plus', attrs: { 'data-testid': 'new-tenant' } });
  newBtn.addEventListener('click', () => openForm(null));
  const listSlot = h('div', { class: 'card card-flush' });
  const moreSlot = h('div', { class: 'load-more' });
  mount(root, pageHeader({ title: 'Tenants', description: 'Each tenant is a separate contact center with its own users, numbers, channels and limits.', actions: newBtn }), listSlot, moreSlot);

  async function load(append = false) {
    if (!append) mount(listSlot, skeletonRows(4));
    try {
      const res = await api.get('/tenants', { query: { limit: PAGE_SIZE, cursor: append ? nextCursor : null }, signal });
      tenants = append ? tenants.concat(res.items || []) : res.items || [];
      nextCursor = res.next_cursor || null;
      renderList();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      if (append) toast.error(err.message);
      else mount(listSlot, errorState({ title: "Couldn't load tenants", message: err.message, onRetry: () => load() }));
    }
  }

  function renderList() {
    if (!tenants.length) {
      const first = button('Create the first tenant', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', () => openForm(null));
      mount(listSlot, emptyState({ iconName: 'building', title: 'No tenants yet', message: 'Create a tenant for each organisation that runs its contact center on this platform.', action: first }));
      mount(moreSlot);
      return;
    }
    const table = h(
      'table',
      { class: 'table table-tenants' },
      h('caption', { class: 'sr-only' }, 'Tenants'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Tenant'), h('th', { scope: 'col' }, 'Features'), h('th', { scope: 'col', class: 'col-limits' }, 'Limits'), h('th', { scope: 'col', class: 'col-created' }, 'Created'), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, tenants.map(row)),
    );
    mount(listSlot, h('div', { class: 'table-wrap' }, table));
    if (nextCursor) {
      const more = button('Load more', { variant: 'secondary' });
      more.addEventListener('click', async () => {
        setBusy(more, true);
        await load(true);
      });
      mount(moreSlot, more);
    } else {
      mount(moreSlot);
    }
  }

  function row(t) {
    const more = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Actions for ${t.name}` }, icon('more', { size: 18 }));
    dropdown(more, () => [
      { label: 'Manage users', icon: 'users', onSelect: () => manageUsers(t) },
      { label: 'Edit tenant', icon: 'edit', onSelect: () => openForm(t) },
      'separator',
      { label: 'Delete tenant', icon: 'trash', danger: true, onSelect: () => remove(t) },
    ]);
    const features = FEATURES.filter((f) => t.features && t.features[f.key]);
    return h(
      'tr',
      { dataset: { tenantSlug: t.slug, tenantId: String(t.id) } },
      h('td', { class: 'col-tenant' }, h('div', { class: 'tenant-cell' }, tenantMark(t.name, t.slug, 'lg'), h('div', { class: 'user-cell-text' }, h('span', { class: 'user-name' }, t.name), h('span', { class: 'user-email mono' }, t.slug)))),
      h('td', { 'data-label': 'Features' }, features.length ? h('div', { class: 'chips' }, features.map((f) => h('span', { class: 'chip' }, f.label))) : h('span', { class: 'muted' }, 'None')),
      h('td', { class: 'col-limits', 'data-label': 'Limits' }, limitSummary(t.limits)),
      h('td', { class: 'col-created', 'data-label': 'Created' }, timeEl(t.created_at)),
      h('td', { class: 'col-actions' }, h('div', { class: 'menu-anchor' }, more)),
    );
  }

  async function manageUsers(t) {
    // The switcher's list may predate this tenant: refresh it first when needed.
    if (!ctx.switchTenant(t.id, '#/users')) {
      await ctx.refreshMe();
      if (!ctx.switchTenant(t.id, '#/users')) toast.error(`${t.name} is not available in the tenant switcher.`);
    }
  }

  function limitSummary(limits) {
    const l = limits || {};
    return h(
      'ul',
      { class: 'limit-list' },
      LIMITS.map((x) => {
        const v = Number(l[x.key] || 0);
        return h('li', null, h('span', { class: 'limit-value' }, v === 0 ? '∞' : String(v)), ' ', v === 1 ? x.unit[0] : x.unit[1]);
      }),
    );
  }

  function openForm(t) {
    const editing = Boolean(t);
    const name = field({ name: 'name', label: 'Name', value: t ? t.name : '', required: true, autocomplete: 'off', placeholder: 'Acme Support' });
    const slug = field({
      name: 'slug',
      label: 'Slug',
      value: t ? t.slug : '',
      required: true,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'acme-support',
      hint: editing ? 'The slug is fixed once the tenant exists.' : 'Lowercase letters, digits and dashes. Used in URLs and the API.',
      className: 'field-mono',
      readonly: editing,
    });
    let slugTouched = editing;
    slug.input.addEventListener('input', () => {
      slugTouched = true;
    });
    name.input.addEventListener('input', () => {
      if (!slugTouched) slug.input.value = slugify(name.input.value);
    });

    const featureInputs = {};
    const featureGroup = h(
      'fieldset',
      { class: 'field switch-group' },
      h('legend', { class: 'label' }, 'Features'),
      FEATURES.map((f) => {
        const id = uid(`feat-${f.key}`);
        const input = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id, name: `feature-${f.key}`, checked: t ? Boolean(t.features && t.features[f.key]) : true });
        featureInputs[f.key] = input;
        return h('label', { class: 'switch', for: id }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', null, h('span', { class: 'choice-title' }, f.label), h('span', { class: 'choice-desc' }, f.desc)));
      }),
    );

    const limitFields = {};
    const limitGroup = h(
      'fieldset',
      { class: 'field' },
      h('legend', { class: 'label' }, 'Limits'),
      h('p', { class: 'field-hint' }, '0 means unlimited.'),
      h(
        'div',
        { class: 'grid-2' },
        LIMITS.map((x) => {
          const f = field({ name: x.key, label: x.label, type: 'number', min: 0, inputmode: 'numeric', value: String(t && t.limits ? t.limits[x.key] ?? 0 : 0), required: true });
          limitFields[x.key] = f;
          return f.el;
        }),
      ),
    );

    const alertBox = formAlert();
    const formId = uid('tenant-form');
    const submit = button(editing ? 'Save changes' : 'Create tenant', { variant: 'primary', type: 'submit' });
    submit.setAttribute('form', formId);
    const cancel = button('Cancel');
    const form = h('form', { id: formId, class: 'dialog-form', novalidate: true }, alertBox.el, h('div', { class: 'grid-2' }, name.el, slug.el), featureGroup, limitGroup);
    const dlg = openDialog({ title: editing ? `Edit ${t.name}` : 'New tenant', description: editing ? null : 'You can change its limits and features later.', body: form, footer: [cancel, submit], size: 'lg', initialFocus: () => name.input });
    cancel.addEventListener('click', () => dlg.close());

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      const errors = [];
      const nameValue = name.input.value.trim();
      const slugValue = slug.input.value.trim();
      if (!nameValue) errors.push([name, 'Enter a name.']);
      if (!slugValue) errors.push([slug, 'Enter a slug.']);
      else if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(slugValue)) errors.push([slug, 'Use lowercase letters, digits and single dashes, like acme-support.']);
      const limits = {};
      for (const x of LIMITS) {
        const raw = limitFields[x.key].input.value.trim();
        const n = Number(raw);
        if (raw === '' || !Number.isInteger(n) || n < 0) errors.push([limitFields[x.key], 'Enter a whole number, 0 or more.']);
        else limits[x.key] = n;
      }
      for (const [f, msg] of errors) f.setError(msg);
      if (errors.length) return errors[0][0].input.focus();

      const features = Object.fromEntries(FEATURES.map((f) => [f.key, featureInputs[f.key].checked]));
      let body = { name: nameValue, slug: slugValue, limits, features };
      if (editing) {
        body = { limits, features };
        if (nameValue !== t.name) body.name = nameValue;
      }
      setBusy(submit, true);
      try {
        const saved = editing ? await api.patch(`/tenants/${seg(t.id)}`, body) : await api.post('/tenants', body);
        dlg.close(true);
        if (editing) tenants = tenants.map((x) => (String(x.id) === String(saved.id) ? saved : x));
        else tenants = [saved, ...tenants];
        renderList();
        toast.success(editing ? `${saved.name} was updated.` : `${saved.name} was created.`);
        ctx.refreshMe().catch(() => {});
      } catch (err) {
        setBusy(submit, false);
        showApiError(err, { name, slug, ...limitFields }, alertBox, { fieldHints: { max_agents: ['agents'], max_dids: ['dids'] } });
      }
    });
  }

  async function remove(t) {
    let needsForce = false;
    const ok = await confirmDialog({
      title: `Delete ${t.name}?`,
      message: 'The tenant and its users\u2019 access to it are removed. This cannot be undone from the UI.',
      confirmLabel: 'Delete tenant',
      danger: true,
      action: async () => {
        try {
          await api.del(`/tenants/${seg(t.id)}`);
        } catch (err) {
          if (err.code === 'tenant_has_data') {
            needsForce = true;
            return true;
          }
          throw err;
        }
      },
    });
    if (!ok) return;
    if (needsForce && !(await forceDelete(t))) return;
    tenants = tenants.filter((x) => String(x.id) !== String(t.id));
    renderList();
    toast.success(`${t.name} was deleted.`);
    ctx.refreshMe().catch(() => {});
  }

  function forceDelete(t) {
    const confirmField = field({ name: 'confirm-slug', label: `Type ${t.slug} to confirm`, autocomplete: 'off', spellcheck: 'false', required: true, className: 'field-mono' });
    return confirmDialog({
      title: `${t.name} still has data`,
      message: 'This tenant has users or other data. Deleting it anyway removes everyone\u2019s access to that data.',
      confirmLabel: 'Delete anyway',
      danger: true,
      extra: confirmField.el,
      action: async () => {
        if (confirmField.input.value.trim() !== t.slug) {
          confirmField.setError(`That doesn't match. Type ${t.slug} exactly.`);
          confirmField.input.focus();
          return false;
        }
        await api.del(`/tenants/${seg(t.id)}`, { query: { force: 'true' } });
      },
    });
  }

  await load();
}
