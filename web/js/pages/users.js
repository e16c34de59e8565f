// Users of the current tenant: list, add, edit role/name, activate/deactivate,
// reset password, remove from the tenant.

import { h, mount, avatar, timeEl } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import {
  pageHeader,
  button,
  field,
  passwordField,
  formAlert,
  setBusy,
  openDialog,
  confirmDialog,
  secretDialog,
  showApiError,
  dropdown,
  roleBadge,
  statusPill,
  skeletonRows,
  emptyState,
  errorState,
} from '../ui.js';

const ROLES = [
  { value: 'agent', label: 'Agent', hint: 'Answers conversations and calls' },
  { value: 'supervisor', label: 'Supervisor', hint: 'Follows queues, agents and reports' },
  { value: 'admin', label: 'Admin', hint: 'Manages users, keys and settings' },
  { value: 'owner', label: 'Owner', hint: 'Full control of the tenant' },
];

export async function render(root, ctx) {
  const { api, tenant, me, toast, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}/users`;
  const canGrantOwner = ctx.role === 'owner' || ctx.role === 'operator' || me.user.is_operator;
  const roleOptions = ROLES.filter((r) => r.value !== 'owner' || canGrantOwner);

  let users = [];
  let filterText = '';
  let filterRole = '';

  const addBtn = button('Add user', { variant: 'primary', iconName: 'plus', attrs: { 'data-testid': 'add-user' } });
  addBtn.addEventListener('click', () => openCreate());

  const search = h('input', { type: 'search', class: 'input input-search', placeholder: 'Search by name or email', 'aria-label': 'Search users', autocomplete: 'off' });
  search.addEventListener('input', () => {
    filterText = search.value.trim().toLowerCase();
    renderList();
  });
  const roleFilter = h('select', { class: 'input select select-compact', 'aria-label': 'Filter by role' }, h('option', { value: '' }, 'All roles'), ROLES.map((r) => h('option', { value: r.value }, r.label)));
  roleFilter.addEventListener('change', () => {
    filterRole = roleFilter.value;
    renderList();
  });
  const countEl = h('span', { class: 'toolbar-count', 'aria-live': 'polite' });
  const toolbar = h('div', { class: 'toolbar' }, h('div', { class: 'search-box' }, icon('search', { size: 16, className: 'search-icon' }), search), roleFilter, h('div', { class: 'toolbar-spacer' }), countEl);

  const listSlot = h('div', { class: 'card card-flush' });
  mount(
    root,
    pageHeader({ title: 'Users', description: ['People who can sign in to ', h('strong', null, tenant.tenant_name), ', and what each of them may do.'], actions: addBtn }),
    toolbar,
    listSlot,
  );

  async function load() {
    mount(listSlot, skeletonRows(5));
    toolbar.hidden = true;
    try {
      users = await api.listAll(base, { signal });
      toolbar.hidden = false;
      renderList();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(listSlot, errorState({ title: "Couldn't load users", message: err.message, onRetry: load }));
    }
  }

  function renderList() {
    const visible = users.filter((u) => (!filterRole || u.role === filterRole) && (!filterText || `${u.name || ''} ${u.email}`.toLowerCase().includes(filterText)));
    const total = users.length === 1 ? '1 user' : `${users.length} users`;
    countEl.textContent = visible.length === users.length ? total : `${visible.length} of ${total}`;
    if (!users.length) {
      const first = button('Add the first user', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', () => openCreate());
      toolbar.hidden = true;
      mount(listSlot, emptyState({ iconName: 'users', title: 'No users yet', message: 'Add the people who will answer conversations, supervise queues or manage this tenant.', action: first }));
      return;
    }
    toolbar.hidden = false;
    if (!visible.length) {
      mount(listSlot, emptyState({ iconName: 'search', title: 'No matching users', message: 'Try another name, email or role.' }));
      return;
    }
    const table = h(
      'table',
      { class: 'table table-users' },
      h('caption', { class: 'sr-only' }, `Users of ${tenant.tenant_name}`),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'User'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col', class: 'col-lastlogin' }, 'Last sign-in'), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, visible.map(row)),
    );
    mount(listSlot, h('div', { class: 'table-wrap' }, table));
  }

  function row(u) {
    const isSelf = String(u.id) === String(me.user.id);
    const more = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Actions for ${u.name || u.email}` }, icon('more', { size: 18 }));
    const cell = h('div', { class: 'menu-anchor' }, more);
    dropdown(more, () => [
      { label: 'Edit user', icon: 'edit', onSelect: () => openEdit(u) },
      { label: 'Reset password', icon: 'key', onSelect: () => resetPassword(u) },
      u.active
        ? { label: 'Deactivate', icon: 'power', onSelect: () => setActive(u, false), disabled: isSelf }
        : { label: 'Activate', icon: 'power', onSelect: () => setActive(u, true) },
      'separator',
      { label: 'Remove from tenant', icon: 'trash', danger: true, onSelect: () => removeUser(u), disabled: isSelf },
    ]);
    return h(
      'tr',
      { dataset: { userEmail: u.email, userId: String(u.id) }, class: [!u.active && 'is-inactive'] },
      h(
        'td',
        { class: 'col-user' },
        h('div', { class: 'user-cell' }, avatar(u.name, u.email), h('div', { class: 'user-cell-text' }, h('span', { class: 'user-name' }, u.name || u.email, isSelf ? h('span', { class: 'tag' }, 'You') : null), h('span', { class: 'user-email' }, u.email))),
      ),
      h('td', { class: 'col-role', 'data-label': 'Role' }, roleBadge(u.role)),
      h('td', { class: 'col-status', 'data-label': 'Status' }, u.active ? statusPill('Active', 'success') : statusPill('Deactivated', 'neutral')),
      h('td', { class: 'col-lastlogin', 'data-label': 'Last sign-in' }, timeEl(u.last_login_at, 'Never')),
      h('td', { class: 'col-actions' }, cell),
    );
  }

  function upsert(member) {
    const i = users.findIndex((x) => String(x.id) === String(member.id));
    if (i >= 0) users[i] = member;
    else users.push(member);
    renderList();
  }

  function openCreate() {
    const name = field({ name: 'name', label: 'Full name', required: true, autocomplete: 'off', placeholder: 'Ada Lovelace' });
    const email = field({ name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'ada@company.com' });
    const role = field({ name: 'role', label: 'Role', type: 'select', value: 'agent', options: roleOptions.map((r) => ({ value: r.value, label: `${r.label} — ${r.hint}` })), required: true });
    const generate = h('input', { type: 'radio', name: 'pw-mode', value: 'generate', checked: true, id: 'pw-generate' });
    const manual = h('input', { type: 'radio', name: 'pw-mode', value: 'manual', id: 'pw-manual' });
    const password = passwordField({ name: 'password', label: 'Password', required: true, autocomplete: 'new-password', hint: 'At least 10 characters.' });
    password.el.hidden = true;
    const pwChoice = h(
      'fieldset',
      { class: 'field choice-group' },
      h('legend', { class: 'label' }, 'Password'),
      h('label', { class: 'choice', for: 'pw-generate' }, generate, h('span', null, h('span', { class: 'choice-title' }, 'Generate a password'), h('span', { class: 'choice-desc' }, "You'll see it once, to hand over securely."))),
      h('label', { class: 'choice', for: 'pw-manual' }, manual, h('span', null, h('span', { class: 'choice-title' }, 'Set a password'), h('span', { class: 'choice-desc' }, 'Type the initial password yourself.'))),
    );
    for (const radio of [generate, manual]) {
      radio.addEventListener('change', () => {
        password.el.hidden = !manual.checked;
        if (manual.checked) password.input.focus();
      });
    }
    const alertBox = formAlert();
    const submit = button('Add user', { variant: 'primary', type: 'submit' });
    const cancel = button('Cancel');
    const form = h('form', { class: 'dialog-form', novalidate: true, id: 'create-user-form' }, alertBox.el, name.el, email.el, role.el, pwChoice, password.el);
    submit.setAttribute('form', 'create-user-form');
    const dlg = openDialog({ title: 'Add user', description: `They will be able to sign in to ${tenant.tenant_name}.`, body: form, footer: [cancel, submit], initialFocus: () => name.input });
    cancel.addEventListener('click', () => dlg.close());

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      const errors = [];
      if (!name.input.value.trim()) errors.push([name, 'Enter a name.']);
      const emailValue = email.input.value.trim();
      if (!emailValue) errors.push([email, 'Enter an email address.']);
      else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(emailValue)) errors.push([email, 'Enter a valid email address, like name@company.com.']);
      if (manual.checked && password.input.value.length < 10) errors.push([password, 'Use at least 10 characters.']);
      for (const [f, msg] of errors) f.setError(msg);
      if (errors.length) return errors[0][0].input.focus();

      const body = { name: name.input.value.trim(), email: emailValue, role: role.input.value };
      if (manual.checked) body.password = password.input.value;
      setBusy(submit, true);
      try {
        const res = await api.post(base, body);
        dlg.close(true);
        upsert(res.user);
        toast.success(`${res.user.name || res.user.email} was added.`);
        if (!res.generated_password && !body.password) {
          toast.info(`${res.user.email} already had a Switchboard account: they sign in with their existing password.`, { timeout: 8000 });
        }
        if (res.generated_password) {
          await secretDialog({
            title: 'Share the password',
            message: `${res.user.name || res.user.email} can sign in with this password. Send it through a safe channel; they can change it under Account.`,
            secret: res.generated_password,
            label: 'Generated password',
          });
        }
      } catch (err) {
        setBusy(submit, false);
        if (err.code === 'limit_reached') alertBox.show(`${err.message} Ask the platform operator to raise the tenant's limit.`);
        else showApiError(err, { email, name, password, role }, alertBox, { conflictField: 'email' });
      }
    });
  }

  function openEdit(u) {
    const isSelf = String(u.id) === String(me.user.id);
    const name = field({ name: 'name', label: 'Full name', value: u.name || '', required: true, autocomplete: 'off' });
    const options = roleOptions.some((r) => r.value === u.role) ? roleOptions : ROLES.filter((r) => r.value === u.role).concat(roleOptions);
    const role = field({ name: 'role', label: 'Role', type: 'select', value: u.role, options: options.map((r) => ({ value: r.value, label: `${r.label} — ${r.hint}` })), required: true, disabled: isSelf, hint: isSelf ? 'You cannot change your own role.' : undefined });
    const activeInput = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id: 'edit-active', checked: u.active, disabled: isSelf });
    const activeField = h(
      'div',
      { class: 'field' },
      h('label', { class: 'switch', for: 'edit-active' }, activeInput, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', null, h('span', { class: 'choice-title' }, 'Active'), h('span', { class: 'choice-desc' }, 'Deactivated users cannot sign in; their history is kept.'))),
    );
    const alertBox = formAlert();
    const submit = button('Save changes', { variant: 'primary', type: 'submit' });
    const cancel = button('Cancel');
    const form = h('form', { class: 'dialog-form', novalidate: true, id: 'edit-user-form' }, alertBox.el, h('div', { class: 'dialog-user' }, avatar(u.name, u.email), h('span', { class: 'user-email' }, u.email)), name.el, role.el, activeField);
    submit.setAttribute('form', 'edit-user-form');
    const dlg = openDialog({ title: 'Edit user', body: form, footer: [cancel, submit], initialFocus: () => name.input });
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      if (!name.input.value.trim()) {
        name.setError('Enter a name.');
        return name.input.focus();
      }
      const patch = {};
      if (name.input.value.trim() !== (u.name || '')) patch.name = name.input.value.trim();
      if (!isSelf && role.input.value !== u.role) patch.role = role.input.value;
      if (!isSelf && activeInput.checked !== u.active) patch.active = activeInput.checked;
      if (!Object.keys(patch).length) return dlg.close();
      setBusy(submit, true);
      try {
        const updated = await api.patch(`${base}/${seg(u.id)}`, patch);
        dlg.close(true);
        upsert(updated);
        toast.success('Changes saved.');
      } catch (err) {
        setBusy(submit, false);
        showApiError(err, { name, role }, alertBox);
      }
    });
  }

  async function setActive(u, active) {
    const who = u.name || u.email;
    if (!active) {
      await confirmDialog({
        title: `Deactivate ${who}?`,
        message: `${who} will no longer be able to sign in to ${tenant.tenant_name}. You can activate them again at any time.`,
        confirmLabel: 'Deactivate',
        danger: true,
        action: async () => {
          const updated = await api.patch(`${base}/${seg(u.id)}`, { active: false });
          upsert(updated);
          toast.success(`${who} was deactivated.`);
        },
      });
      return;
    }
    try {
      const updated = await api.patch(`${base}/${seg(u.id)}`, { active: true });
      upsert(updated);
      toast.success(`${who} was activated.`);
    } catch (err) {
      toast.error(err.message);
    }
  }

  async function resetPassword(u) {
    const who = u.name || u.email;
    let password = null;
    const ok = await confirmDialog({
      title: `Reset password for ${who}?`,
      message: 'A new password is generated and their current password stops working. You will see the new one once.',
      confirmLabel: 'Reset password',
      action: async () => {
        const res = await api.post(`${base}/${seg(u.id)}/reset-password`, {});
        password = res.password;
      },
    });
    if (ok && password) {
      await secretDialog({ title: 'New password', message: `Give this password to ${who} through a safe channel.`, secret: password, label: 'New password' });
    }
  }

  async function removeUser(u) {
    const who = u.name || u.email;
    await confirmDialog({
      title: `Remove ${who} from ${tenant.tenant_name}?`,
      message: 'They lose access to this tenant. Their account and their access to other tenants are kept.',
      confirmLabel: 'Remove',
      danger: true,
      action: async () => {
        await api.del(`${base}/${seg(u.id)}`);
        users = users.filter((x) => String(x.id) !== String(u.id));
        renderList();
        toast.success(`${who} was removed from ${tenant.tenant_name}.`);
      },
    });
  }

  await load();
}

