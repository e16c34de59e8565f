// Account: your profile, your tenants and roles, and a password change form.

import { h, mount, avatar, tenantMark, formatDate } from '../dom.js';
import { pageHeader, passwordField, formAlert, button, setBusy, roleBadge, fieldMessage } from '../ui.js';

const MIN_PASSWORD = 10;

export function render(root, ctx) {
  const { api, me, toast } = ctx;
  const user = me.user;
  const memberships = me.memberships || [];

  const profile = h(
    'section',
    { class: 'card', 'aria-labelledby': 'acct-profile' },
    h('header', { class: 'card-header' }, h('h2', { id: 'acct-profile', class: 'card-title' }, 'Profile')),
    h(
      'div',
      { class: 'profile' },
      avatar(user.name, user.email, 'lg'),
      h('div', { class: 'profile-text' }, h('p', { class: 'profile-name' }, user.name || user.email), h('p', { class: 'profile-email' }, user.email), user.is_operator ? roleBadge('operator') : null),
    ),
    h('dl', { class: 'detail-list' }, detail('Member since', user.created_at ? formatDate(user.created_at) : '—'), detail('Tenants', String(memberships.length))),
    memberships.length
      ? h(
          'ul',
          { class: 'tenant-list' },
          memberships.map((m) => h('li', { class: 'tenant-row' }, tenantMark(m.tenant_name, m.tenant_slug), h('span', { class: 'tenant-row-text' }, h('span', { class: 'tenant-row-name' }, m.tenant_name), h('span', { class: 'tenant-row-slug' }, m.tenant_slug)), roleBadge(m.role))),
        )
      : null,
    h('p', { class: 'card-note' }, 'To change your name or role, ask an admin of your tenant.'),
  );

  const current = passwordField({ name: 'current_password', label: 'Current password', autocomplete: 'current-password', required: true });
  const next = passwordField({ name: 'new_password', label: 'New password', autocomplete: 'new-password', required: true, hint: `At least ${MIN_PASSWORD} characters. A few unrelated words make a strong, memorable password.` });
  const confirm = passwordField({ name: 'confirm_password', label: 'Confirm new password', autocomplete: 'new-password', required: true });
  const alertBox = formAlert();
  const submit = button('Change password', { variant: 'primary', type: 'submit' });
  const form = h('form', { class: 'stack-form', novalidate: true, 'aria-labelledby': 'acct-password' }, alertBox.el, current.el, next.el, confirm.el, h('div', { class: 'form-actions' }, submit));

  const passwordCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'acct-password' },
    h('header', { class: 'card-header' }, h('div', null, h('h2', { id: 'acct-password', class: 'card-title' }, 'Password'), h('p', { class: 'card-desc' }, 'Other browsers where you are signed in keep their session until it expires.'))),
    form,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    alertBox.clear();
    const errors = [];
    if (!current.input.value) errors.push([current, 'Enter your current password.']);
    if (next.input.value.length < MIN_PASSWORD) errors.push([next, `Use at least ${MIN_PASSWORD} characters.`]);
    else if (next.input.value === current.input.value) errors.push([next, 'Choose a password different from the current one.']);
    if (confirm.input.value !== next.input.value) errors.push([confirm, 'The two new passwords do not match.']);
    for (const [f, msg] of errors) f.setError(msg);
    if (errors.length) return errors[0][0].input.focus();

    setBusy(submit, true);
    try {
      await api.post('/me/password', { current_password: current.input.value, new_password: next.input.value });
      form.reset();
      toast.success('Your password was changed.');
    } catch (err) {
      if (err.code === 'invalid_credentials') {
        current.setError('That is not your current password.');
        current.input.focus();
      } else if (err.code === 'validation') {
        next.setError(fieldMessage(err));
        next.input.focus();
      } else {
        alertBox.show(err.message);
      }
    } finally {
      setBusy(submit, false);
    }
  });

  mount(root, pageHeader({ title: 'Account', description: 'Your profile and sign-in settings.' }), h('div', { class: 'account-grid' }, profile, passwordCard));
}

function detail(term, value) {
  return h('div', { class: 'detail' }, h('dt', null, term), h('dd', null, value));
}
