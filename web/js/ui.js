// Reusable UI pieces: toasts, modal dialogs, dropdown menus, form fields with
// inline errors, and the loading / empty / error / no-access states.

import { h, uid, append } from './dom.js';
import { icon } from './icons.js';

/* ------------------------------------------------------------------ toasts */

let toastRegion = null;

function ensureToastRegion() {
  if (toastRegion && document.body.contains(toastRegion)) return toastRegion;
  toastRegion = h('div', { class: 'toast-region', role: 'status', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  document.body.append(toastRegion);
  return toastRegion;
}

/**
 * Show a short notification. kind: 'success' | 'error' | 'info'.
 *   toast('User created')            toast.error('Could not save')
 */
export function toast(message, { kind = 'success', timeout = 4500 } = {}) {
  const region = ensureToastRegion();
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss notification' }, icon('x', { size: 16 }));
  const iconName = kind === 'error' ? 'alert' : kind === 'info' ? 'info' : 'check';
  const el = h('div', { class: ['toast', `toast-${kind}`] }, h('span', { class: 'toast-icon' }, icon(iconName, { size: 18 })), h('span', { class: 'toast-text' }, message), close);
  const remove = () => {
    el.classList.add('toast-leaving');
    setTimeout(() => el.remove(), 180);
  };
  close.addEventListener('click', remove);
  region.append(el);
  if (timeout) setTimeout(remove, timeout);
  return remove;
}
toast.success = (message, opts) => toast(message, { ...opts, kind: 'success' });
toast.error = (message, opts) => toast(message, { ...opts, kind: 'error', timeout: 7000 });
toast.info = (message, opts) => toast(message, { ...opts, kind: 'info' });

/* ----------------------------------------------------------------- dialogs */

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusables(container) {
  return [...container.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
}

/**
 * Open a modal dialog built on <dialog>.showModal(): the page behind is inert,
 * Escape closes, Tab wraps inside, and focus returns to where it was.
 *
 * openDialog({ title, description, body, footer, size, initialFocus, onClose })
 * returns { el, close(result), closed: Promise<result>, body }.
 */
export function openDialog({ title, description, body, footer, size = 'md', initialFocus, onClose, dismissible = true } = {}) {
  const previouslyFocused = document.activeElement;
  const titleId = uid('dlg-title');
  const descId = description ? uid('dlg-desc') : null;
  const closeBtn = dismissible
    ? h('button', { type: 'button', class: 'icon-btn dialog-close', 'aria-label': 'Close dialog' }, icon('x', { size: 18 }))
    : null;
  const header = h(
    'header',
    { class: 'dialog-header' },
    h('div', { class: 'dialog-heading' }, h('h2', { id: titleId, class: 'dialog-title' }, title), description ? h('p', { id: descId, class: 'dialog-desc' }, description) : null),
    closeBtn,
  );
  const bodyEl = h('div', { class: 'dialog-body' });
  if (body) append(bodyEl, [body]);
  const footerEl = footer ? h('footer', { class: 'dialog-footer' }, footer) : null;
  const el = h('dialog', { class: ['dialog', `dialog-${size}`], 'aria-labelledby': titleId, 'aria-describedby': descId }, header, bodyEl, footerEl);

  let resolveClosed;
  const closed = new Promise((resolve) => {
    resolveClosed = resolve;
  });
  let result;
  let done = false;

  function close(value) {
    if (done) return;
    done = true;
    result = value;
    if (el.open) el.close();
    el.remove();
    if (onClose) onClose(result);
    resolveClosed(result);
    if (previouslyFocused && typeof previouslyFocused.focus === 'function' && document.contains(previouslyFocused)) {
      previouslyFocused.focus();
    }
  }

  el.addEventListener('cancel', (event) => {
    event.preventDefault();
    if (dismissible) close(undefined);
  });
  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      if (dismissible) close(undefined);
      return;
    }
    if (event.key !== 'Tab') return;
    const items = focusables(el);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  // Clicking the backdrop (the dialog element itself, outside its box) closes it.
  el.addEventListener('mousedown', (event) => {
    if (event.target !== el || !dismissible) return;
    const r = el.getBoundingClientRect();
    const inside = event.clientX >= r.left && event.clientX <= r.right && event.clientY >= r.top && event.clientY <= r.bottom;
    if (!inside) close(undefined);
  });
  if (closeBtn) closeBtn.addEventListener('click', () => close(undefined));

  document.body.append(el);
  el.showModal();
  const target =
    (typeof initialFocus === 'function' ? initialFocus(el) : initialFocus) ||
    bodyEl.querySelector('[autofocus]') ||
    focusables(bodyEl)[0] ||
    (footerEl && focusables(footerEl)[0]) ||
    closeBtn;
  if (target) target.focus();

  return { el, body: bodyEl, close, closed };
}

/**
 * Ask for confirmation. Resolves true when confirmed.
 * confirmDialog({ title, message, confirmLabel, danger, action })
 * If `action` is given it runs on confirm with the button in a busy state; an
 * ApiError it throws is shown inside the dialog and the dialog stays open, and
 * returning `false` keeps the dialog open without a message.
 */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false, action, extra }) {
  const alertBox = formAlert();
  const confirmBtn = button(confirmLabel, { variant: danger ? 'danger' : 'primary', type: 'submit' });
  const cancelBtn = button('Cancel', { variant: 'secondary' });
  const form = h('form', { class: 'dialog-form', novalidate: true }, h('p', { class: 'dialog-message' }, message), extra || null, alertBox.el);
  const dlg = openDialog({
    title,
    body: form,
    size: 'sm',
    footer: [cancelBtn, confirmBtn],
    initialFocus: () => (danger ? cancelBtn : confirmBtn),
  });
  // The submit button lives in the footer, outside the <form>: wire it explicitly.
  confirmBtn.setAttribute('form', (form.id = uid('confirm-form')));
  cancelBtn.addEventListener('click', () => dlg.close(false));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!action) return dlg.close(true);
    alertBox.clear();
    setBusy(confirmBtn, true);
    try {
      const value = await action();
      // `false` keeps the dialog open (the action showed its own inline error).
      if (value === false) return setBusy(confirmBtn, false);
      dlg.close(value === undefined ? true : value);
    } catch (err) {
      setBusy(confirmBtn, false);
      alertBox.show(sentence(err.message || 'Something went wrong.'));
    }
  });
  return dlg.closed.then((v) => Boolean(v));
}

/**
 * Show a secret exactly once (generated password, API key) with a copy button.
 */
export function secretDialog({ title, message, secret, label = 'Secret', doneLabel = 'Done' }) {
  const doneBtn = button(doneLabel, { variant: 'primary' });
  const dlg = openDialog({
    title,
    size: 'sm',
    body: [
      h('p', { class: 'dialog-message' }, message),
      secretField(secret, label),
      h('p', { class: 'callout callout-warning' }, icon('alert', { size: 16 }), h('span', null, "Copy it now: it won't be shown again.")),
    ],
    footer: [doneBtn],
    // Start on Copy: the one thing to do before leaving this dialog.
    initialFocus: (el) => el.querySelector('.copy-btn') || doneBtn,
  });
  doneBtn.addEventListener('click', () => dlg.close(true));
  return dlg.closed;
}

/** A read-only monospace value with a copy-to-clipboard button. */
export function secretField(value, label) {
  const id = uid('secret');
  const input = h('input', { id, class: 'input input-mono', readonly: true, value, spellcheck: 'false', autocomplete: 'off', 'data-secret': '' });
  input.addEventListener('focus', () => input.select());
  const copyLabel = h('span', null, 'Copy');
  const copyBtn = h('button', { type: 'button', class: 'btn btn-secondary copy-btn', 'aria-label': `Copy ${label.toLowerCase()}` }, icon('copy', { size: 16 }), copyLabel);
  copyBtn.addEventListener('click', async () => {
    const ok = await copyText(value, input);
    copyLabel.textContent = ok ? 'Copied' : 'Press Ctrl+C';
    copyBtn.classList.toggle('is-copied', ok);
    setTimeout(() => {
      copyLabel.textContent = 'Copy';
      copyBtn.classList.remove('is-copied');
    }, 2000);
  });
  return h('div', { class: 'field' }, h('label', { class: 'label', for: id }, label), h('div', { class: 'input-group' }, input, copyBtn));
}

async function copyText(text, input) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through to the selection-based copy */
  }
  try {
    input.focus();
    input.select();
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

/* ------------------------------------------------------------------- menus */

/**
 * A dropdown menu attached to a trigger button.
 * items: [{ label, icon, onSelect, danger, disabled }, 'separator', { heading }]
 * Arrow keys move, Enter/Space select, Escape closes and returns focus.
 */
export function dropdown(trigger, getItems, { align = 'end', className = '' } = {}) {
  const menuId = uid('menu');
  trigger.setAttribute('aria-haspopup', 'menu');
  trigger.setAttribute('aria-expanded', 'false');
  trigger.setAttribute('aria-controls', menuId);
  let menu = null;

  function close(focusTrigger = true) {
    if (!menu) return;
    menu.remove();
    menu = null;
    trigger.setAttribute('aria-expanded', 'false');
    document.removeEventListener('mousedown', onOutside, true);
    document.removeEventListener('scroll', onScroll, true);
    window.removeEventListener('resize', closeSilently);
    if (focusTrigger) trigger.focus();
  }
  function onScroll(event) {
    if (menu && !menu.contains(event.target)) close(false);
  }
  function place() {
    const gap = 6;
    const r = trigger.getBoundingClientRect();
    const mh = menu.offsetHeight;
    const mw = menu.offsetWidth;
    const below = r.bottom + gap + mh <= window.innerHeight - 8;
    const top = below ? r.bottom + gap : Math.max(8, r.top - gap - mh);
    let left = align === 'end' ? r.right - mw : r.left;
    left = Math.min(Math.max(8, left), window.innerWidth - mw - 8);
    menu.style.top = `${Math.round(top)}px`;
    menu.style.left = `${Math.round(left)}px`;
    menu.classList.toggle('menu-above', !below);
  }
  function closeSilently() {
    close(false);
  }
  function onOutside(event) {
    if (menu && !menu.contains(event.target) && !trigger.contains(event.target)) close(false);
  }

  function open(focusLast = false) {
    if (menu) return;
    const items = typeof getItems === 'function' ? getItems() : getItems;
    menu = h('div', { id: menuId, class: ['menu', `menu-align-${align}`, className], role: 'menu', 'aria-orientation': 'vertical' });
    for (const item of items) {
      if (!item) continue;
      if (item === 'separator') {
        menu.append(h('div', { class: 'menu-separator', role: 'separator' }));
      } else if (item.heading !== undefined) {
        menu.append(h('div', { class: 'menu-heading', role: 'presentation' }, item.heading, item.sub ? h('span', { class: 'menu-heading-sub' }, item.sub) : null));
      } else {
        const btn = h(
          'button',
          {
            type: 'button',
            role: item.checked === undefined ? 'menuitem' : 'menuitemradio',
            'aria-checked': item.checked === undefined ? null : String(Boolean(item.checked)),
            class: ['menu-item', item.danger && 'menu-item-danger', item.checked && 'is-checked'],
            tabindex: '-1',
            disabled: item.disabled,
            dataset: item.testid ? { testid: item.testid } : undefined,
          },
          item.icon ? icon(item.icon, { size: 16 }) : null,
          h('span', { class: 'menu-item-label' }, item.label, item.hint ? h('span', { class: 'menu-item-hint' }, item.hint) : null),
          item.checked ? icon('check', { size: 16, className: 'menu-check' }) : null,
        );
        btn.addEventListener('click', () => {
          close(!item.keepFocus);
          item.onSelect && item.onSelect();
        });
        menu.append(btn);
      }
    }
    menu.addEventListener('keydown', onMenuKey);
    // The menu lives at the end of <body> with fixed coordinates, so no
    // scrolling or overflow-hidden container around the trigger can clip it.
    document.body.append(menu);
    place();
    trigger.setAttribute('aria-expanded', 'true');
    document.addEventListener('mousedown', onOutside, true);
    document.addEventListener('scroll', onScroll, true);
    window.addEventListener('resize', closeSilently);
    const buttons = menuButtons();
    const checked = buttons.find((b) => b.classList.contains('is-checked'));
    const target = focusLast ? buttons[buttons.length - 1] : checked || buttons[0];
    if (target) target.focus();
  }

  function menuButtons() {
    return menu ? [...menu.querySelectorAll('.menu-item:not([disabled])')] : [];
  }

  function onMenuKey(event) {
    const buttons = menuButtons();
    const index = buttons.indexOf(document.activeElement);
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      buttons[(index + 1) % buttons.length]?.focus();
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      buttons[(index - 1 + buttons.length) % buttons.length]?.focus();
    } else if (event.key === 'Home') {
      event.preventDefault();
      buttons[0]?.focus();
    } else if (event.key === 'End') {
      event.preventDefault();
      buttons[buttons.length - 1]?.focus();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    } else if (event.key === 'Tab') {
      close(false);
    }
  }

  trigger.addEventListener('click', () => (menu ? close(false) : open()));
  trigger.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      open();
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      open(true);
    }
  });
  return { open, close };
}

/* ------------------------------------------------------------------- forms */

export function button(label, { variant = 'secondary', type = 'button', iconName, size, className, attrs = {} } = {}) {
  return h(
    'button',
    { type, class: ['btn', `btn-${variant}`, size && `btn-${size}`, className], ...attrs },
    iconName ? icon(iconName, { size: 16 }) : null,
    h('span', { class: 'btn-label' }, label),
  );
}

/** Put a button into (or out of) a busy state: disabled + spinner + aria-busy. */
export function setBusy(btn, busy) {
  btn.disabled = busy;
  btn.classList.toggle('is-busy', busy);
  if (busy) btn.setAttribute('aria-busy', 'true');
  else btn.removeAttribute('aria-busy');
}

/**
 * A labelled form control with hint and inline error slot.
 * field({ name, label, type, value, hint, required, options, autocomplete, ... })
 * Returns { el, input, setError(msg), clearError() }.
 */
export function field(spec) {
  const { name, label, type = 'text', value = '', hint, required, options, placeholder, autocomplete, min, max, minlength, inputmode, autofocus, spellcheck, disabled, readonly } = spec;
  const id = uid(`f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  let input;
  if (type === 'select') {
    input = h('select', { id, name, class: 'input select', required, disabled });
    for (const opt of options || []) {
      input.append(h('option', { value: opt.value, selected: String(opt.value) === String(value) }, opt.label));
    }
  } else if (type === 'textarea') {
    input = h('textarea', { id, name, class: 'input textarea', required, placeholder, rows: 4 });
    input.value = value;
  } else {
    input = h('input', {
      id,
      name,
      type,
      class: 'input',
      value,
      required,
      placeholder,
      autocomplete,
      min,
      max,
      minlength,
      inputmode,
      autofocus,
      spellcheck,
      disabled,
      readonly,
    });
  }
  const describedBy = [hintId].filter(Boolean).join(' ');
  if (describedBy) input.setAttribute('aria-describedby', describedBy);
  const errorEl = h('p', { id: errorId, class: 'field-error', hidden: true });
  const labelEl = h('label', { class: 'label', for: id }, label, required ? null : spec.optionalLabel === false ? null : h('span', { class: 'label-optional' }, spec.optionalText || ''));
  const control = spec.adornment ? h('div', { class: 'input-group' }, input, spec.adornment) : input;
  const el = h('div', { class: ['field', spec.className] }, labelEl, control, hint ? h('p', { id: hintId, class: 'field-hint' }, hint) : null, errorEl);

  function setError(message) {
    errorEl.replaceChildren(icon('alert', { size: 14 }), document.createTextNode(message));
    errorEl.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
    el.classList.add('has-error');
  }
  function clearError() {
    errorEl.hidden = true;
    errorEl.replaceChildren();
    input.removeAttribute('aria-invalid');
    if (describedBy) input.setAttribute('aria-describedby', describedBy);
    else input.removeAttribute('aria-describedby');
    el.classList.remove('has-error');
  }
  input.addEventListener('input', () => {
    if (el.classList.contains('has-error')) clearError();
  });
  return { el, input, setError, clearError, name };
}

/** Password input with a show/hide toggle. */
export function passwordField(spec) {
  const toggle = h('button', { type: 'button', class: 'input-adornment', 'aria-label': 'Show password', 'aria-pressed': 'false' }, icon('eye', { size: 18 }));
  const f = field({ ...spec, type: 'password', adornment: toggle });
  toggle.addEventListener('click', () => {
    const show = f.input.type === 'password';
    f.input.type = show ? 'text' : 'password';
    toggle.setAttribute('aria-pressed', String(show));
    toggle.setAttribute('aria-label', show ? 'Hide password' : 'Show password');
    toggle.replaceChildren(icon(show ? 'eyeOff' : 'eye', { size: 18 }));
  });
  return f;
}

/** Form-level error banner (role=alert so screen readers announce it). */
export function formAlert() {
  const text = h('span', { class: 'alert-text' });
  const el = h('div', { class: 'alert alert-error', role: 'alert', hidden: true }, icon('alert', { size: 18 }), text);
  return {
    el,
    show(message) {
      text.textContent = message;
      el.hidden = false;
    },
    clear() {
      text.textContent = '';
      el.hidden = true;
    },
  };
}

/**
 * Route an ApiError to the right place: a field whose name the message mentions
 * (validation / conflict), otherwise the form alert. Focuses the field in error.
 * fields: { name: fieldObject } — names are matched as whole words.
 */
export function showApiError(err, fields, alertBox, { fieldHints = {}, conflictField } = {}) {
  const message = sentence((err && err.message) || 'Something went wrong.');
  const code = err && err.code;
  if (code === 'conflict' && conflictField && fields[conflictField]) {
    fields[conflictField].setError(message);
    fields[conflictField].input.focus();
    return;
  }
  if (code === 'validation' || code === 'conflict' || code === 'invalid_json' || code === 'bad_request') {
    // "email: `bad` is not an email address" -> the email field, without the prefix.
    const prefixed = /^([a-z][a-z0-9_.]*):\s*(.+)$/i.exec((err && err.message) || '');
    if (prefixed) {
      // "settings.local.answer_threshold: …" -> the field named by the whole path, by the
      // path without its leading parts ("local.answer_threshold"), or by its last part.
      const parts = prefixed[1].toLowerCase().split('.');
      const keys = parts.map((_, i) => parts.slice(i).join('.'));
      const key = keys[keys.length - 1];
      const f = keys.map((k) => fields[k]).find(Boolean) || Object.entries(fields).find(([name]) => (fieldHints[name] || []).includes(key))?.[1];
      if (f) {
        f.setError(withoutPath(prefixed[2], prefixed[1]));
        f.input.focus();
        return;
      }
    }
    for (const [name, f] of Object.entries(fields)) {
      const words = [name, ...(fieldHints[name] || [])];
      if (words.some((w) => new RegExp(`\\b${w.replace(/[_]/g, '[_ ]')}\\b`, 'i').test(message))) {
        f.setError(message);
        f.input.focus();
        return;
      }
    }
  }
  alertBox.show(message);
}

// "condition.at_most: condition.at_most must be between -1 and 1" names the field twice;
// under the field, "Must be between -1 and 1." says it once ("…words[2] must…" -> "Item 3 must…").
function withoutPath(message, path) {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${escaped}(?:\\[(\\d+)\\])?\\s+(.+)$`, 'i').exec(message);
  if (!m) return sentence(message);
  return sentence(m[1] !== undefined ? `Item ${Number(m[1]) + 1} ${m[2]}` : m[2]);
}

/** The human part of "field: message" validation errors. */
export function fieldMessage(err) {
  const m = /^[a-z][a-z0-9_.]*:\s*(.+)$/i.exec((err && err.message) || '');
  return sentence(m ? m[1] : (err && err.message) || 'Not valid.');
}

/** Server messages are often lower-case fragments: "email is taken" -> "Email is taken." */
export function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return t;
  const cap = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(cap) ? cap : `${cap}.`;
}

/* ------------------------------------------------------------------ states */

export function loadingState(label = 'Loading…') {
  return h('div', { class: 'state state-loading', role: 'status', 'aria-live': 'polite' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, label));
}

/** Skeleton rows for tables while data loads. */
export function skeletonRows(count = 4) {
  return h(
    'div',
    { class: 'skeleton-list', role: 'status', 'aria-label': 'Loading' },
    Array.from({ length: count }, () => h('div', { class: 'skeleton-row' }, h('span', { class: 'skeleton skeleton-avatar' }), h('span', { class: 'skeleton skeleton-line' }), h('span', { class: 'skeleton skeleton-line short' }))),
  );
}

export function emptyState({ iconName = 'inbox', title, message, action }) {
  return h('div', { class: 'state state-empty' }, h('div', { class: 'state-icon' }, icon(iconName, { size: 24 })), h('h3', { class: 'state-title' }, title), message ? h('p', { class: 'state-message' }, message) : null, action || null);
}

export function errorState({ title = "Couldn't load this page", message, onRetry }) {
  const retry = onRetry ? button('Try again', { variant: 'secondary', iconName: 'refresh' }) : null;
  if (retry) retry.addEventListener('click', onRetry);
  return h('div', { class: 'state state-error', role: 'alert' }, h('div', { class: 'state-icon' }, icon('alert', { size: 24 })), h('h3', { class: 'state-title' }, title), message ? h('p', { class: 'state-message' }, message) : null, retry);
}

export function forbiddenState({ message, navigate }) {
  const home = button('Go to Home', { variant: 'primary', iconName: 'home' });
  home.addEventListener('click', () => navigate('#/home'));
  return h(
    'div',
    { class: 'state state-forbidden', 'data-testid': 'no-access' },
    h('div', { class: 'state-icon' }, icon('lock', { size: 24 })),
    h('h2', { class: 'state-title' }, "You don't have access to this page"),
    h('p', { class: 'state-message' }, message || 'Your role does not include this area. Ask an admin of your workspace if you need access.'),
    home,
  );
}

/** Role badge, e.g. <span class="badge badge-role-admin">Admin</span>. */
export function roleBadge(role) {
  const label = role ? role.charAt(0).toUpperCase() + role.slice(1) : '';
  return h('span', { class: ['badge', `badge-role-${role}`] }, label);
}

/** Status pill with a dot. kind: 'success' | 'neutral' | 'danger' | 'warning'. */
export function statusPill(label, kind = 'neutral') {
  return h('span', { class: ['pill', `pill-${kind}`] }, h('span', { class: 'pill-dot', 'aria-hidden': 'true' }), label);
}

/** Page header with title, description and actions. */
export function pageHeader({ title, description, actions }) {
  return h(
    'header',
    { class: 'page-header' },
    h('div', { class: 'page-heading' }, h('h1', { class: 'page-title', tabindex: '-1' }, title), description ? h('p', { class: 'page-desc' }, description) : null),
    actions ? h('div', { class: 'page-actions' }, actions) : null,
  );
}
