// Sign-in page (outside the shell).

import { h, mount } from '../dom.js';
import { icon } from '../icons.js';
import { field, passwordField, formAlert, button, setBusy } from '../ui.js';

const INVALID = 'The email or password is incorrect.';

export function render(root, ctx) {
  const email = field({ name: 'email', label: 'Email', type: 'email', autocomplete: 'username', required: true, spellcheck: 'false', inputmode: 'email' });
  const password = passwordField({ name: 'password', label: 'Password', autocomplete: 'current-password', required: true });
  const alertBox = formAlert();
  const submit = button('Sign in', { variant: 'primary', type: 'submit', size: 'lg', className: 'btn-block' });

  const form = h('form', { class: 'auth-form', novalidate: true, 'aria-labelledby': 'login-title' }, alertBox.el, email.el, password.el, submit);

  const reason = ctx.query.get('next') ? h('p', { class: 'auth-note' }, icon('lock', { size: 14 }), 'Sign in to continue to that page.') : null;

  const card = h(
    'section',
    { class: 'auth-card' },
    h('a', { class: 'brand brand-lg', href: '#/login', 'aria-label': 'Switchboard' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, icon('switchboard', { size: 22 })), h('span', { class: 'brand-name' }, 'Switchboard')),
    h('h1', { id: 'login-title', class: 'auth-title' }, 'Sign in'),
    h('p', { class: 'auth-subtitle' }, 'Welcome back. Use the email and password your administrator gave you.'),
    reason,
    form,
    h('p', { class: 'auth-foot' }, 'Forgot your password? Ask an admin of your workspace to reset it.'),
  );

  const aside = h(
    'aside',
    { class: 'auth-aside', 'aria-hidden': 'true' },
    h(
      'div',
      { class: 'auth-aside-inner' },
      h('p', { class: 'auth-aside-kicker' }, 'Contact center'),
      h('h2', { class: 'auth-aside-title' }, 'Every call and every chat, routed to the right person.'),
      h(
        'ul',
        { class: 'auth-points' },
        point('phone', 'Voice with IVR, queues and callbacks'),
        point('inbox', 'Website, WhatsApp, Messenger, SMS and more in one inbox'),
        point('sparkle', 'An AI agent that hands over with context'),
      ),
    ),
  );

  mount(root, h('div', { class: 'auth-layout' }, h('div', { class: 'auth-main' }, card), aside));

  let lockedUntil = 0;
  let timer = null;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    alertBox.clear();
    email.clearError();
    password.clearError();
    if (Date.now() < lockedUntil) return;

    const emailValue = email.input.value.trim();
    const passwordValue = password.input.value;
    let invalid = false;
    if (!emailValue) {
      email.setError('Enter your email address.');
      invalid = true;
    } else if (!/^[^\s@]+@[^\s@]+$/.test(emailValue)) {
      email.setError('Enter a valid email address, like name@company.com.');
      invalid = true;
    }
    if (!passwordValue) {
      password.setError('Enter your password.');
      invalid = true;
    }
    if (invalid) {
      (email.input.getAttribute('aria-invalid') ? email.input : password.input).focus();
      return;
    }

    setBusy(submit, true);
    try {
      const data = await ctx.api.post('/auth/login', { email: emailValue, password: passwordValue });
      await ctx.onLogin(data);
    } catch (err) {
      setBusy(submit, false);
      if (err.code === 'invalid_credentials' || err.status === 401) {
        alertBox.show(INVALID);
        password.input.value = '';
        password.input.focus();
      } else if (err.code === 'rate_limited' || err.status === 429) {
        startLockout(err.retryAfter);
      } else if (err.code === 'validation') {
        alertBox.show(err.message);
      } else {
        alertBox.show(err.message || 'Sign-in failed. Please try again.');
      }
    }
  });

  function startLockout(seconds) {
    const wait = Number.isFinite(seconds) && seconds > 0 ? seconds : 30;
    lockedUntil = Date.now() + wait * 1000;
    submit.disabled = true;
    const tick = () => {
      const left = Math.ceil((lockedUntil - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(timer);
        timer = null;
        submit.disabled = false;
        alertBox.show('You can try signing in again now.');
        return;
      }
      alertBox.show(`Too many sign-in attempts. Try again in ${formatWait(left)}.`);
    };
    tick();
    clearInterval(timer);
    timer = setInterval(tick, 1000);
  }

  email.input.focus();
}

function formatWait(seconds) {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

function point(iconName, text) {
  return h('li', null, h('span', { class: 'auth-point-icon' }, icon(iconName, { size: 18 })), h('span', null, text));
}
