// Website chat widgets of the current tenant: list, create (identity secret shown once),
// edit, delete, and the embed snippet to paste into a site.

import { h, mount, timeEl } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { hoursEditor, hoursFields } from '../hours.js';
import { pageHeader, button, field, formAlert, setBusy, openDialog, confirmDialog, secretDialog, secretField, showApiError, dropdown, skeletonRows, emptyState, errorState } from '../ui.js';

const DEFAULTS = {
  title: 'Chat with us',
  colour: '#4f46e5',
  position: 'right',
  welcome_message: 'Hi! How can we help you today?',
  away_message: "We're away right now. Leave a message and we'll reply here as soon as we can.",
  prechat_fields: [],
  allowed_origins: [],
  closed_message: "We're closed right now. Leave a message and we'll reply when we're back.",
  force: 'none',
};

function snippetFor(w) {
  if (w.snippet) return w.snippet;
  return `<script src="${window.location.origin}/widget.js" data-widget="${w.public_id}" async></script>`;
}

export async function render(root, ctx) {
  const { api, tenant, toast, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}`;
  let widgets = [];
  let queues = [];

  const newBtn = button('Create widget', { variant: 'primary', iconName: 'plus', attrs: { 'data-testid': 'create-widget' } });
  newBtn.addEventListener('click', () => openEditor(null));
  const listSlot = h('div', { class: 'card card-flush' });
  const help = h(
    'p',
    { class: 'callout callout-info' },
    icon('info', { size: 16 }),
    h('span', null, 'Paste a widget\u2019s snippet just before ', h('code', null, '</body>'), ' on your site. Chats land in the widget\u2019s queue and appear in the Inbox.'),
  );
  mount(root, pageHeader({ title: 'Chat widgets', description: ['The chat bubble for the websites of ', h('strong', null, tenant.tenant_name), '.'], actions: newBtn }), help, listSlot);

  async function load() {
    mount(listSlot, skeletonRows(3));
    try {
      const [w, q] = await Promise.all([api.get(`${base}/widgets`, { signal }), api.get(`${base}/queues`, { signal }).catch((err) => (err.name === 'AbortError' ? Promise.reject(err) : { items: [] }))]);
      widgets = (w && w.items) || [];
      queues = (q && q.items) || [];
      renderList();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(listSlot, errorState({ title: "Couldn't load widgets", message: err.message, onRetry: load }));
    }
  }

  function queueName(id) {
    const q = queues.find((x) => x.id === id);
    return q ? q.name : id == null ? 'No queue' : `Queue #${id}`;
  }

  function renderList() {
    if (!widgets.length) {
      const first = button('Create your first widget', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', () => openEditor(null));
      mount(listSlot, emptyState({ iconName: 'chat', title: 'No chat widgets yet', message: 'Create a widget, then paste its snippet into your website to start receiving chats.', action: first }));
      return;
    }
    const table = h(
      'table',
      { class: 'table table-widgets' },
      h('caption', { class: 'sr-only' }, 'Chat widgets'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Queue'), h('th', { scope: 'col' }, 'Look'), h('th', { scope: 'col', class: 'col-created' }, 'Created'), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, widgets.slice().sort((a, b) => b.id - a.id).map(row)),
    );
    mount(listSlot, h('div', { class: 'table-wrap' }, table));
  }

  function row(w) {
    const s = { ...DEFAULTS, ...(w.settings || {}) };
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.background = s.colour;
    const more = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Actions for ${w.name}` }, icon('more', { size: 18 }));
    dropdown(more, () => [
      { label: 'Get embed snippet', icon: 'code', onSelect: () => showSnippet(w) },
      { label: 'Edit widget', icon: 'edit', onSelect: () => openEditor(w) },
      'separator',
      { label: 'Delete widget', icon: 'trash', danger: true, onSelect: () => remove(w) },
    ]);
    const name = h('button', { type: 'button', class: 'link-btn user-name' }, w.name);
    name.addEventListener('click', () => openEditor(w));
    return h(
      'tr',
      { dataset: { widgetId: String(w.id), publicId: w.public_id } },
      h('td', { class: 'col-name' }, h('div', { class: 'user-cell-text' }, name, h('span', { class: 'user-email mono' }, w.public_id))),
      h('td', { 'data-label': 'Queue' }, queueName(w.queue_id)),
      h('td', { 'data-label': 'Look' }, swatch, `${s.title} · ${s.position === 'left' ? 'bottom left' : 'bottom right'}`),
      h('td', { class: 'col-created', 'data-label': 'Created' }, timeEl(w.created_at)),
      h('td', { class: 'col-actions' }, h('div', { class: 'menu-anchor' }, more)),
    );
  }

  function showSnippet(w) {
    const done = button('Done', { variant: 'primary' });
    const dlg = openDialog({
      title: `Embed ${w.name}`,
      description: 'Paste this tag into every page where the chat bubble should appear, just before </body>.',
      body: [secretField(snippetFor(w), 'Embed snippet'), originsNote(w)],
      footer: [done],
      size: 'lg',
      initialFocus: (el) => el.querySelector('.copy-btn'),
    });
    done.addEventListener('click', () => dlg.close());
  }

  function originsNote(w) {
    const origins = (w.settings && w.settings.allowed_origins) || [];
    return h('p', { class: 'field-hint' }, origins.length ? `Only these sites may use it: ${origins.join(', ')}.` : 'Any site may embed it: add allowed origins to restrict it.');
  }

  function openEditor(w) {
    const s = { ...DEFAULTS, ...((w && w.settings) || {}) };
    const name = field({ name: 'name', label: 'Name', value: w ? w.name : '', required: true, placeholder: 'Main website', hint: 'Only your team sees this.' });
    const queue = field({
      name: 'queue_id',
      label: 'Queue',
      type: 'select',
      value: w && w.queue_id != null ? String(w.queue_id) : queues[0] ? String(queues[0].id) : '',
      options: [{ value: '', label: 'No queue (conversations stay unassigned)' }, ...queues.map((q) => ({ value: String(q.id), label: q.name }))],
      hint: 'New chats wait in this queue for an agent.',
    });
    const title = field({ name: 'title', label: 'Title', value: s.title, required: true, hint: 'Shown at the top of the chat window.' });
    const colourText = h('input', { class: 'input input-mono', value: s.colour, 'aria-label': 'Colour (hex)', spellcheck: 'false', maxlength: 7 });
    const colourPick = h('input', { type: 'color', value: /^#[0-9a-f]{6}$/i.test(s.colour) ? s.colour : '#4f46e5', 'aria-label': 'Pick a colour' });
    colourPick.addEventListener('input', () => (colourText.value = colourPick.value));
    colourText.addEventListener('input', () => {
      if (/^#[0-9a-f]{6}$/i.test(colourText.value)) colourPick.value = colourText.value;
    });
    const colourField = h('div', { class: 'field' }, h('span', { class: 'label' }, 'Colour'), h('div', { class: 'colour-input' }, colourPick, colourText));
    const position = field({ name: 'position', label: 'Position', type: 'select', value: s.position, options: [{ value: 'right', label: 'Bottom right' }, { value: 'left', label: 'Bottom left' }] });
    const welcome = field({ name: 'welcome_message', label: 'Welcome message', type: 'textarea', value: s.welcome_message || '' });
    welcome.input.rows = 2;
    const away = field({ name: 'away_message', label: 'Away message', type: 'textarea', value: s.away_message || '', hint: 'Shown when no agent is available; visitors can still write.' });
    away.input.rows = 2;
    const preName = h('input', { type: 'checkbox', checked: (s.prechat_fields || []).includes('name') });
    const preEmail = h('input', { type: 'checkbox', checked: (s.prechat_fields || []).includes('email') });
    const prechat = h('fieldset', { class: 'field' }, h('legend', { class: 'label' }, 'Ask before the chat starts'), h('div', { class: 'check-row' }, h('label', null, preName, 'Their name'), h('label', null, preEmail, 'Their email')));
    const origins = field({ name: 'allowed_origins', label: 'Allowed origins', type: 'textarea', value: (s.allowed_origins || []).join('\n'), placeholder: 'https://www.example.com', hint: 'One per line, like https://www.example.com. Leave empty to allow any site.' });
    origins.input.rows = 3;
    origins.input.classList.add('input-mono');

    const hours = hoursEditor(s);

    const alertBox = formAlert();
    const submit = button(w ? 'Save changes' : 'Create widget', { variant: 'primary', type: 'submit' });
    const cancel = button('Cancel');
    const formId = w ? 'edit-widget-form' : 'create-widget-form';
    const form = h('form', { class: 'dialog-form', novalidate: true, id: formId }, alertBox.el, name.el, queue.el, h('div', { class: 'grid-2' }, title.el, position.el), colourField, welcome.el, away.el, hours.el, prechat, origins.el);
    submit.setAttribute('form', formId);
    const dlg = openDialog({ title: w ? 'Edit widget' : 'Create widget', body: form, footer: [cancel, submit], size: 'lg', initialFocus: () => name.input });
    cancel.addEventListener('click', () => dlg.close());

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      const errors = [];
      if (!name.input.value.trim()) errors.push([name, 'Enter a name.']);
      if (!title.input.value.trim()) errors.push([title, 'Enter a title.']);
      const colour = colourText.value.trim();
      if (!/^#[0-9a-f]{6}$/i.test(colour)) {
        alertBox.show('Colour must be a hex value like #4f46e5.');
        colourText.focus();
        return;
      }
      const originList = origins.input.value.split(/\s+/).map((x) => x.trim().replace(/\/+$/, '')).filter(Boolean);
      const bad = originList.find((o) => !/^https?:\/\/[^/\s]+$/i.test(o));
      if (bad) errors.push([origins, `"${bad}" is not an origin. Use the scheme and host only, like https://www.example.com.`]);
      for (const [f, msg] of errors) f.setError(msg);
      if (errors.length) return errors[0][0].input.focus();
      const hoursPart = hours.read();
      if (!hoursPart) return;

      const settings = {
        title: title.input.value.trim(),
        colour,
        position: position.input.value,
        welcome_message: welcome.input.value.trim(),
        away_message: away.input.value.trim(),
        prechat_fields: [preName.checked && 'name', preEmail.checked && 'email'].filter(Boolean),
        allowed_origins: originList,
        ...hoursPart,
      };
      const body = { name: name.input.value.trim(), queue_id: queue.input.value ? Number(queue.input.value) : null, settings };
      setBusy(submit, true);
      try {
        if (w) {
          const updated = await api.patch(`${base}/widgets/${seg(w.id)}`, body);
          widgets = widgets.map((x) => (x.id === w.id ? updated : x));
          dlg.close(true);
          renderList();
          toast.success('Widget saved.');
        } else {
          const created = await api.post(`${base}/widgets`, body);
          const { identity_secret: secret, ...rest } = created;
          widgets.push(rest);
          dlg.close(true);
          renderList();
          toast.success(`${rest.name} was created.`);
          await createdDialog(rest, secret);
        }
      } catch (err) {
        setBusy(submit, false);
        showApiError(err, { name, title, queue_id: queue, allowed_origins: origins, welcome_message: welcome, away_message: away, ...hoursFields(hours.fields) }, alertBox, { conflictField: 'name', fieldHints: { allowed_origins: ['origins', 'origin'], queue_id: ['queue'] } });
      }
    });
  }

  async function createdDialog(w, secret) {
    const done = button('Done', { variant: 'primary' });
    const body = [h('p', { class: 'dialog-message' }, 'Paste this tag into your site, just before </body>:'), secretField(snippetFor(w), 'Embed snippet')];
    if (secret) {
      body.push(
        h('p', { class: 'dialog-message' }, 'Identity secret: your server signs a logged-in user\u2019s id with it (HMAC-SHA256), so Switchboard can trust who they are.'),
        secretField(secret, 'Identity secret'),
        h('p', { class: 'callout callout-warning' }, icon('alert', { size: 16 }), h('span', null, "Copy the identity secret now: it won't be shown again. Keep it on your server, never in the page.")),
      );
    }
    const dlg = openDialog({ title: 'Widget created', body, footer: [done], size: 'lg', initialFocus: (el) => el.querySelector('.copy-btn') });
    done.addEventListener('click', () => dlg.close(true));
    await dlg.closed;
  }

  async function remove(w) {
    await confirmDialog({
      title: `Delete ${w.name}?`,
      message: 'The chat bubble disappears from every site using this snippet. Past conversations are kept.',
      confirmLabel: 'Delete widget',
      danger: true,
      action: async () => {
        await api.del(`${base}/widgets/${seg(w.id)}`);
        widgets = widgets.filter((x) => x.id !== w.id);
        renderList();
        toast.success(`${w.name} was deleted.`);
      },
    });
  }

  await load();
}
