// Small DOM helpers. Every piece of text goes through textContent / text nodes:
// nothing in the UI assigns innerHTML, so server- or customer-supplied strings
// can never become markup.

/**
 * Create an element.
 *   h('button', { class: 'btn', type: 'button', onclick: fn }, 'Save')
 * Attribute rules: `class` (string or array), `dataset` (object), `on<event>`
 * (function listener), boolean `true` sets an empty attribute, `false`/null/undefined
 * skip it. Children: strings/numbers become text nodes, arrays are flattened,
 * null/false are ignored.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function applyAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      const list = Array.isArray(value) ? value.filter(Boolean) : String(value).split(/\s+/).filter(Boolean);
      el.classList.add(...list);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'value' && 'value' in el) {
      el.value = value;
    } else if (key === 'checked' || key === 'selected' || key === 'disabled') {
      el[key] = Boolean(value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
}

/** Append children (strings, nodes, arrays, falsy skipped) to a parent. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === '') continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let idCounter = 0;
/** A document-unique id with a readable prefix (for label/aria wiring). */
export function uid(prefix = 'sb') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Initials for an avatar: "Ada Lovelace" -> "AL", "ops@x.io" -> "O". */
export function initials(name, email) {
  const source = (name || '').trim() || (email || '').trim();
  if (!source) return '?';
  const words = source
    .split(/[\s@._-]+/)
    .map((w) => w.replace(/[^\p{L}\p{N}]/gu, ''))
    .filter(Boolean);
  if (!words.length) return '?';
  const letters = words.length > 1 && (name || '').trim() ? words[0][0] + words[1][0] : words[0][0];
  return letters.toUpperCase();
}

/** A stable hue (0-359) derived from a string, for avatar colours. */
export function hueFor(text) {
  let hash = 0;
  for (const ch of String(text || '')) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % 360;
}

const HUE_CLASSES = 8;
/** Avatar element with initials; colour picked from a fixed palette by hash. */
export function avatar(name, email, size = 'md') {
  const tone = hueFor(email || name) % HUE_CLASSES;
  return h('span', { class: ['avatar', `avatar-${size}`, `tone-${tone}`], 'aria-hidden': 'true' }, initials(name, email));
}

/** Square tenant mark with the tenant's initials, coloured by its slug. */
export function tenantMark(name, slug, size = 'md') {
  const tone = hueFor(slug || name) % HUE_CLASSES;
  return h('span', { class: ['tenant-mark', `tenant-mark-${size}`, `tone-${tone}`], 'aria-hidden': 'true' }, initials(name, ''));
}

const absoluteFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnlyFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "Mar 3, 2026, 14:05" or '' for empty input. */
export function formatDateTime(value) {
  const d = toDate(value);
  return d ? absoluteFormat.format(d) : '';
}

export function formatDate(value) {
  const d = toDate(value);
  return d ? dateOnlyFormat.format(d) : '';
}

/** "5 minutes ago", "yesterday", falls back to the date beyond a month. */
export function formatRelative(value, now = Date.now()) {
  const d = toDate(value);
  if (!d) return '';
  const seconds = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relativeFormat.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relativeFormat.format(Math.round(seconds / 3600), 'hour');
  if (abs < 86400 * 30) return relativeFormat.format(Math.round(seconds / 86400), 'day');
  return dateOnlyFormat.format(d);
}

/** <time> element showing relative time with the absolute one as tooltip. */
export function timeEl(value, fallback = '—') {
  const d = toDate(value);
  if (!d) return h('span', { class: 'muted' }, fallback);
  return h('time', { datetime: d.toISOString(), title: absoluteFormat.format(d) }, formatRelative(d));
}

function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Capitalise the first letter ("admin" -> "Admin"). */
export function titleCase(text) {
  const s = String(text || '');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
