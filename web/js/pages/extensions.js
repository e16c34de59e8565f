// Extensions (agents' SIP phones) of the current tenant (admins): number, name, agent, codecs,
// NAT, call limit, voicemail, forwarding, do-not-disturb, where each stands with Asterisk, and
// what each phone is doing now (registration, device state, calls; read again with Refresh).
// The SIP password is shown once, when it is created or changed. Every value from the server
// goes into the page as text (h() children), never as markup.

import { h, mount, uid, formatDateTime } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { pageHeader, button, field, formAlert, setBusy, openDialog, confirmDialog, secretDialog, showApiError, dropdown, skeletonRows, emptyState, errorState, statusPill } from '../ui.js';

const CODECS = [
  { value: 'opus', label: 'Opus' },
  { value: 'g722', label: 'G.722' },
  { value: 'ulaw', label: 'G.711 µ-law' },
  { value: 'alaw', label: 'G.711 A-law' },
  { value: 'gsm', label: 'GSM' },
  { value: 'g729', label: 'G.729' },
  { value: 'ilbc', label: 'iLBC' },
];
const DEFAULT_CODECS = ['g722', 'ulaw', 'alaw'];

// Device states as Asterisk reports them (or as Switchboard's own calls say, without it).
const DEVICE = {
  idle: ['Idle', 'success'],
  ringing: ['Ringing', 'warning'],
  in_use: ['In use', 'warning'],
  busy: ['Busy', 'danger'],
  on_hold: ['On hold', 'warning'],
  unavailable: ['Unavailable', 'neutral'],
};

const STATES = {
  provisioned: ['Provisioned', 'success'],
  failed: ['Failed', 'danger'],
  pending: ['Not pushed yet', 'warning'],
  disabled: ['Disabled', 'neutral'],
  skipped: ['Not provisioned', 'neutral'],
};

function switchField({ name, label, desc, checked }) {
  const id = uid(`sw-${name}`);
  const input = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id, name, checked });
  const el = h('label', { class: 'switch', for: id }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', null, h('span', { class: 'choice-title' }, label), desc ? h('span', { class: 'choice-desc' }, desc) : null));
  return { el, input };
}

export async function render(root, ctx) {
  const { api, tenant, toast, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}/extensions`;
  let items = [];
  let users = [];
  let configured = false;

  const refreshBtn = button('Refresh', { iconName: 'refresh', attrs: { 'data-testid': 'refresh-extensions', title: "Read the phones' state again" } });
  refreshBtn.addEventListener('click', () => load({ quiet: true }));
  const newBtn = button('New extension', { variant: 'primary', iconName: 'plus', attrs: { 'data-testid': 'new-extension' } });
  newBtn.addEventListener('click', () => openEditor(null));
  const download = h('a', { class: 'btn btn-secondary', href: `/api/v1${base}/pjsip.conf`, download: `pjsip_${tenant.tenant_slug}.conf`, 'data-testid': 'download-include' }, icon('download', { size: 16 }), h('span', null, 'pjsip.conf include'));
  const notice = h('div');
  const listSlot = h('div', { class: 'card card-flush' });
  mount(root, pageHeader({ title: 'Extensions', description: ["Agents' phones for ", h('strong', null, tenant.tenant_name), ': SIP accounts pushed into Asterisk.'], actions: [refreshBtn, download, newBtn] }), notice, listSlot);

  // `quiet` keeps the table while reading again (Refresh), so nothing jumps.
  async function load({ quiet = false } = {}) {
    if (!quiet || !items.length) mount(listSlot, skeletonRows(3));
    if (quiet) setBusy(refreshBtn, true);
    try {
      const [res, members] = await Promise.all([api.get(base, { signal }), api.listAll(`/tenants/${seg(tenant.tenant_id)}/users`, { signal })]);
      items = (res && res.items) || [];
      configured = Boolean(res && res.asterisk_configured);
      users = members || [];
      renderList();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(listSlot, errorState({ title: "Couldn't load extensions", message: err.message, onRetry: () => load() }));
    } finally {
      if (quiet) setBusy(refreshBtn, false);
    }
  }

  function renderList() {
    mount(notice, configured ? null : h('p', { class: 'callout callout-info' }, icon('info', { size: 16 }), h('span', null, 'No Asterisk is configured (voice.asterisk): extensions are kept here and can be installed with the pjsip.conf include.')));
    if (!items.length) {
      const first = button('Add the first extension', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', () => openEditor(null));
      mount(listSlot, emptyState({ iconName: 'phone', title: 'No extensions yet', message: 'Give each agent a SIP phone or softphone account.', action: first }));
      return;
    }
    mount(
      listSlot,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table', 'data-testid': 'extensions' },
          h('caption', { class: 'sr-only' }, 'Extensions'),
          h('thead', null, h('tr', null, ['Number', 'Name', 'Agent', 'Codecs', 'DND', 'Phone', 'Calls', 'Provisioning'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
          h('tbody', null, items.map(row)),
        ),
      ),
    );
  }

  function row(x) {
    const more = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Actions for extension ${x.number}` }, icon('more', { size: 18 }));
    dropdown(more, () => [
      { label: 'Edit', icon: 'edit', onSelect: () => openEditor(x) },
      { label: 'New password', icon: 'key', onSelect: () => newPassword(x) },
      { label: 'Retry provisioning', icon: 'refresh', disabled: !configured, onSelect: () => retry(x) },
      'separator',
      { label: 'Delete', icon: 'trash', danger: true, onSelect: () => remove(x) },
    ]);
    const [label, kind] = STATES[x.provisioning.state] || [x.provisioning.state, 'neutral'];
    const retryBtn = x.provisioning.state === 'failed' ? button('Retry', { size: 'sm', iconName: 'refresh', attrs: { 'data-testid': 'retry' } }) : null;
    if (retryBtn) retryBtn.addEventListener('click', () => retry(x, retryBtn));
    return h(
      'tr',
      { dataset: { number: x.number } },
      h('td', { class: 'col-name' }, h('code', null, x.number), h('div', { class: 'user-email' }, x.sip_username)),
      h('td', { 'data-label': 'Name' }, x.display_name),
      h('td', { 'data-label': 'Agent' }, x.user_name || '—'),
      h('td', { 'data-label': 'Codecs' }, x.codecs.join(', ')),
      h('td', { 'data-label': 'DND' }, x.dnd ? statusPill('On', 'warning') : 'Off'),
      // Registration as Asterisk last reported it; unknown until it says something.
      h('td', { 'data-label': 'Phone', 'data-testid': 'registration' },
        x.registration
          ? h('span', { title: `since ${formatDateTime(x.registration.since)}` }, x.registration.state === 'online' ? statusPill('Online', 'success') : statusPill('Offline', 'neutral'))
          : h('span', { class: 'user-email' }, 'Unknown')),
      // What the phone is doing now and how many calls it is on (ringing ones included).
      h('td', { 'data-label': 'Calls', 'data-testid': 'calls', dataset: { deviceState: x.device_state || '' } }, deviceCell(x)),
      h('td', { 'data-label': 'Provisioning', 'data-testid': 'provisioning' }, statusPill(label, kind), x.provisioning.message ? h('div', { class: 'user-email' }, x.provisioning.message) : null, retryBtn),
      h('td', { class: 'col-actions' }, h('div', { class: 'menu-anchor' }, more)),
    );
  }

  function deviceCell(x) {
    if (!x.device_state) return h('span', { class: 'user-email' }, 'Unknown');
    const [label, kind] = DEVICE[x.device_state] || [x.device_state, 'neutral'];
    const n = Number(x.active_calls) || 0;
    return h('span', null, statusPill(label, kind), h('div', { class: 'user-email', 'data-testid': 'active-calls' }, n === 1 ? '1 call' : `${n} calls`));
  }

  function replace(saved) {
    const i = items.findIndex((x) => x.id === saved.id);
    if (i >= 0) items[i] = saved;
    else items.push(saved);
    items.sort((a, b) => a.number.length - b.number.length || a.number.localeCompare(b.number));
  }

  function outcome(saved) {
    if (saved.provisioning.state === 'failed') toast.error(`Saved, but Asterisk refused it: ${saved.provisioning.message}`);
  }

  function openEditor(x) {
    const number = field({ name: 'number', label: 'Number', value: x ? x.number : '', required: true, inputmode: 'numeric', placeholder: '1001', hint: '2 to 10 digits.' });
    const name = field({ name: 'display_name', label: 'Display name', value: x ? x.display_name : '', required: true, placeholder: 'Alex Agent', hint: 'Shown as the caller name.' });
    const agent = field({ name: 'user_id', label: 'Agent', type: 'select', value: x && x.user_id ? x.user_id : '', options: [{ value: '', label: 'Nobody' }].concat(users.map((u) => ({ value: u.id, label: u.name ? `${u.name} (${u.email})` : u.email }))) });
    const chosen = x ? x.codecs : DEFAULT_CODECS;
    const codecBoxes = CODECS.map((c) => [c.value, h('input', { type: 'checkbox', value: c.value, checked: chosen.includes(c.value), dataset: { codec: c.value } })]);
    const codecsError = h('p', { class: 'field-error', hidden: true });
    const codecs = h('fieldset', { class: 'field' }, h('legend', { class: 'label' }, 'Codecs'), h('div', { class: 'check-row' }, codecBoxes.map(([value, box]) => h('label', null, box, CODECS.find((c) => c.value === value).label))), codecsError);
    const codecsField = {
      input: codecBoxes[0][1],
      setError(msg) {
        codecsError.replaceChildren(icon('alert', { size: 14 }), document.createTextNode(msg));
        codecsError.hidden = false;
      },
    };
    const nat = switchField({ name: 'nat', label: 'Behind NAT', desc: 'rtp_symmetric, force_rport and rewrite_contact: for softphones on home or office networks.', checked: x ? x.nat : true });
    const limit = field({ name: 'call_limit', label: 'Call limit', type: 'number', value: String(x ? x.call_limit : 2), min: 1, max: 10, required: true, hint: 'Calls at once before the phone reads busy (1–10).' });
    const voicemail = field({ name: 'voicemail_box', label: 'Voicemail box', value: (x && x.voicemail_box) || '', inputmode: 'numeric', hint: 'Digits; empty for none.' });
    const forward = field({ name: 'forward_to', label: 'Forward calls to', value: (x && x.forward_to) || '', placeholder: '+14155550100 or 1002', hint: 'An E.164 number or another extension; empty for none.' });
    const dnd = switchField({ name: 'dnd', label: 'Do not disturb', checked: x ? x.dnd : false });
    const enabled = switchField({ name: 'enabled', label: 'Enabled', desc: 'Off removes the account from Asterisk: the phone cannot register.', checked: x ? x.enabled : true });
    const alertBox = formAlert();
    const submit = button(x ? 'Save changes' : 'Create extension', { variant: 'primary', type: 'submit', attrs: { 'data-testid': 'save-extension' } });
    const cancel = button('Cancel');
    const formId = x ? 'edit-extension-form' : 'new-extension-form';
    const form = h('form', { class: 'dialog-form', id: formId, novalidate: true }, alertBox.el, number.el, name.el, agent.el, codecs, nat.el, limit.el, voicemail.el, forward.el, dnd.el, enabled.el);
    submit.setAttribute('form', formId);
    const dlg = openDialog({ title: x ? `Edit extension ${x.number}` : 'New extension', body: form, footer: [cancel, submit], initialFocus: () => number.input });
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      codecsError.hidden = true;
      const errors = [];
      const num = number.input.value.trim();
      if (!/^[0-9]{2,10}$/.test(num)) errors.push([number, 'Use 2 to 10 digits.']);
      if (!name.input.value.trim()) errors.push([name, 'Give the extension a name.']);
      const picked = codecBoxes.filter(([, box]) => box.checked).map(([value]) => value);
      if (!picked.length) errors.push([codecsField, 'Pick at least one codec.']);
      const lim = Number(limit.input.value);
      if (!Number.isInteger(lim) || lim < 1 || lim > 10) errors.push([limit, 'Between 1 and 10.']);
      for (const [f, msg] of errors) f.setError(msg);
      if (errors.length) return errors[0][0].input.focus();
      const body = {
        number: num,
        display_name: name.input.value.trim(),
        user_id: agent.input.value ? Number(agent.input.value) : null,
        codecs: picked,
        nat: nat.input.checked,
        call_limit: lim,
        voicemail_box: voicemail.input.value.trim() || null,
        forward_to: forward.input.value.trim() || null,
        dnd: dnd.input.checked,
        enabled: enabled.input.checked,
      };
      setBusy(submit, true);
      try {
        const saved = x ? await api.patch(`${base}/${seg(x.id)}`, body) : await api.post(base, body);
        const password = saved.password;
        delete saved.password;
        replace(saved);
        dlg.close(true);
        renderList();
        if (password) {
          await secretDialog({ title: `Extension ${saved.number} created`, message: `SIP username ${saved.sip_username}. Enter it with this password in the agent's phone.`, secret: password, label: 'SIP password' });
        } else {
          toast.success(`Extension ${saved.number} saved.`);
        }
        outcome(saved);
      } catch (err) {
        setBusy(submit, false);
        showApiError(err, { number, display_name: name, user_id: agent, codecs: codecsField, call_limit: limit, voicemail_box: voicemail, forward_to: forward }, alertBox, { conflictField: 'number' });
      }
    });
  }

  async function newPassword(x) {
    await confirmDialog({
      title: `New password for ${x.number}?`,
      message: 'The phone stops registering until the new password is entered in it.',
      confirmLabel: 'Generate password',
      action: async () => {
        const saved = await api.post(`${base}/${seg(x.id)}/password`, {});
        const password = saved.password;
        delete saved.password;
        replace(saved);
        renderList();
        setTimeout(() => secretDialog({ title: `New password for ${saved.number}`, message: `SIP username ${saved.sip_username}.`, secret: password, label: 'SIP password' }), 0);
      },
    });
  }

  async function retry(x, btn) {
    if (btn) setBusy(btn, true);
    try {
      const saved = await api.post(`${base}/${seg(x.id)}/provision`, {});
      replace(saved);
      renderList();
      if (saved.provisioning.state === 'failed') outcome(saved);
      else toast.success(`Extension ${saved.number} pushed to Asterisk.`);
    } catch (err) {
      if (btn) setBusy(btn, false);
      toast.error(err.message);
    }
  }

  async function remove(x) {
    await confirmDialog({
      title: `Delete extension ${x.number}?`,
      message: 'The phone is removed from Asterisk and can no longer register.',
      confirmLabel: 'Delete',
      danger: true,
      action: async () => {
        await api.del(`${base}/${seg(x.id)}`);
        items = items.filter((i) => i.id !== x.id);
        renderList();
        toast.success(`Extension ${x.number} was deleted.`);
      },
    });
  }

  await load();
}
