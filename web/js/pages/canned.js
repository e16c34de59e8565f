// Saved replies of the current tenant (admins): agents insert them in the inbox by typing
// "/" and the shortcut. Variables are filled per conversation.

import { h, mount } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { pageHeader, button, field, formAlert, setBusy, openDialog, confirmDialog, showApiError, dropdown, skeletonRows, emptyState, errorState } from '../ui.js';

const VARIABLES = ['{{contact.name}}', '{{contact.email}}', '{{agent.name}}'];

export async function render(root, ctx) {
  const { api, tenant, toast, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}/canned-responses`;
  let items = [];

  const newBtn = button('New saved reply', { variant: 'primary', iconName: 'plus', attrs: { 'data-testid': 'new-canned' } });
  newBtn.addEventListener('click', () => openEditor(null));
  const listSlot = h('div', { class: 'card card-flush' });
  const help = h(
    'p',
    { class: 'callout callout-info' },
    icon('info', { size: 16 }),
    h('span', null, 'In the inbox, type ', h('code', null, '/'), ' and a shortcut to insert a reply. Variables: ', VARIABLES.map((v, i) => [i ? ', ' : '', h('code', null, v)]), '.'),
  );
  mount(root, pageHeader({ title: 'Saved replies', description: ['Answers your agents send often, for ', h('strong', null, tenant.tenant_name), '.'], actions: newBtn }), help, listSlot);

  async function load() {
    mount(listSlot, skeletonRows(3));
    try {
      const res = await api.get(base, { signal });
      items = (res && res.items) || [];
      renderList();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(listSlot, errorState({ title: "Couldn't load saved replies", message: err.message, onRetry: load }));
    }
  }

  function renderList() {
    if (!items.length) {
      const first = button('Add the first saved reply', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', () => openEditor(null));
      mount(listSlot, emptyState({ iconName: 'chat', title: 'No saved replies yet', message: 'Save the answers your team gives every day: greetings, opening hours, delivery times.', action: first }));
      return;
    }
    const sorted = items.slice().sort((a, b) => a.shortcut.localeCompare(b.shortcut));
    mount(
      listSlot,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table' },
          h('caption', { class: 'sr-only' }, 'Saved replies'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Shortcut'), h('th', { scope: 'col' }, 'Reply'), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
          h('tbody', null, sorted.map(row)),
        ),
      ),
    );
  }

  function row(c) {
    const more = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Actions for /${c.shortcut}` }, icon('more', { size: 18 }));
    dropdown(more, () => [
      { label: 'Edit', icon: 'edit', onSelect: () => openEditor(c) },
      'separator',
      { label: 'Delete', icon: 'trash', danger: true, onSelect: () => remove(c) },
    ]);
    return h(
      'tr',
      { dataset: { shortcut: c.shortcut } },
      h('td', { class: 'col-name' }, h('code', { class: 'key-prefix' }, `/${c.shortcut}`)),
      h('td', { 'data-label': 'Reply' }, h('span', { class: 'canned-cell' }, c.content)),
      h('td', { class: 'col-actions' }, h('div', { class: 'menu-anchor' }, more)),
    );
  }

  function openEditor(c) {
    const shortcut = field({ name: 'shortcut', label: 'Shortcut', value: c ? c.shortcut : '', required: true, placeholder: 'hours', spellcheck: 'false', hint: 'Lowercase letters, digits, - and _; agents type /shortcut.' });
    const content = field({ name: 'content', label: 'Reply', type: 'textarea', value: c ? c.content : '', required: true, placeholder: 'Hi {{contact.name}}, we are open 9:00–18:00, Monday to Friday.' });
    content.input.rows = 5;
    content.input.maxLength = 4000;
    const alertBox = formAlert();
    const submit = button(c ? 'Save changes' : 'Save reply', { variant: 'primary', type: 'submit' });
    const cancel = button('Cancel');
    const formId = c ? 'edit-canned-form' : 'new-canned-form';
    const form = h('form', { class: 'dialog-form', id: formId, novalidate: true }, alertBox.el, shortcut.el, content.el);
    submit.setAttribute('form', formId);
    const dlg = openDialog({ title: c ? 'Edit saved reply' : 'New saved reply', body: form, footer: [cancel, submit], initialFocus: () => shortcut.input });
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      const key = shortcut.input.value.trim().replace(/^\//, '');
      const text = content.input.value.trim();
      const errors = [];
      if (!/^[a-z0-9_-]{1,40}$/.test(key)) errors.push([shortcut, 'Use 1–40 lowercase letters, digits, - or _.']);
      if (!text) errors.push([content, 'Write the reply.']);
      for (const [f, msg] of errors) f.setError(msg);
      if (errors.length) return errors[0][0].input.focus();
      setBusy(submit, true);
      try {
        const body = { shortcut: key, content: text };
        const saved = c ? await api.put(`${base}/${seg(c.id)}`, body) : await api.post(base, body);
        items = c ? items.map((x) => (x.id === c.id ? saved : x)) : items.concat(saved);
        dlg.close(true);
        renderList();
        toast.success(c ? 'Saved reply updated.' : `/${key} was added.`);
      } catch (err) {
        setBusy(submit, false);
        showApiError(err, { shortcut, content }, alertBox, { conflictField: 'shortcut' });
      }
    });
  }

  async function remove(c) {
    await confirmDialog({
      title: `Delete /${c.shortcut}?`,
      message: 'Agents will no longer be able to insert this reply.',
      confirmLabel: 'Delete',
      danger: true,
      action: async () => {
        await api.del(`${base}/${seg(c.id)}`);
        items = items.filter((x) => x.id !== c.id);
        renderList();
        toast.success(`/${c.shortcut} was deleted.`);
      },
    });
  }

  await load();
}
