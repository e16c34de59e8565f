// Business hours as the admin pages edit them: a time zone, opening windows per day and
// holidays, read back into the `business_hours` shape the server checks (src/schedule).

import { h } from './dom.js';
import { field } from './ui.js';

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];

// The stored weekly map may use ranges ("mon-fri") and lists ("sat,sun"); the editor shows
// one line per day.
function windowsByDay(weekly) {
  const out = Object.fromEntries(DAYS.map(([d]) => [d, []]));
  const order = DAYS.map(([d]) => d);
  for (const [spec, windows] of Object.entries(weekly || {})) {
    for (const part of spec.split(',')) {
      const [a, b] = part.trim().toLowerCase().split('-');
      const from = order.indexOf(a);
      const to = b ? order.indexOf(b) : from;
      if (from < 0 || to < 0) continue;
      for (let i = from; ; i = (i + 1) % 7) {
        out[order[i]].push(...windows);
        if (i === to) break;
      }
    }
  }
  return out;
}

/** The business-hours editor; `messages: false` leaves out the widget's closed message and
 * its open/closed switch (the AI agent's hours have neither). */
export function hoursEditor(s, { messages = true, label = 'Only open at set hours' } = {}) {
  const bh = s.business_hours || null;
  const enabled = h('input', { type: 'checkbox', checked: Boolean(bh), dataset: { testid: 'hours-enabled' } });
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const zoneList = h('datalist', { id: 'tz-list' }, zones.map((z) => h('option', { value: z })));
  const tz = field({ name: 'business_hours.timezone', label: 'Time zone', value: (bh && bh.timezone) || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', hint: 'Hours below are local times there, daylight saving included.' });
  tz.input.setAttribute('list', 'tz-list');
  const byDay = windowsByDay(bh ? bh.weekly : { 'mon-fri': ['09:00-17:00'] });
  const days = DAYS.map(([d, label]) => {
    const f = field({ name: `business_hours.weekly.${d}`, label, value: byDay[d].join(', '), placeholder: 'Closed' });
    f.input.classList.add('input-mono');
    return [d, f];
  });
  const holidayList = bh && Array.isArray(bh.holidays) ? bh.holidays : [];
  const holidays = field({ name: 'business_hours.holidays', label: 'Holidays', type: 'textarea', value: holidayList.map((x) => `${x.date || x.yearly} ${x.name}`.trim()).join('\n'), placeholder: '12-25 Christmas Day\n2026-11-26 Thanksgiving', hint: 'One per line: MM-DD every year, or YYYY-MM-DD once, then a name.' });
  holidays.input.rows = 3;
  holidays.input.classList.add('input-mono');
  const closedMsg = field({ name: 'closed_message', label: 'Closed message', type: 'textarea', value: s.closed_message || '', hint: 'Shown outside business hours with the time you open again; visitors can still write.' });
  closedMsg.input.rows = 2;
  const force = field({ name: 'force', label: 'Right now', type: 'select', value: s.force || 'none', options: [{ value: 'none', label: 'Follow the hours' }, { value: 'open', label: 'Force open' }, { value: 'closed', label: 'Force closed (emergency)' }] });
  const body = h('div', { class: 'hours-body' }, tz.el, zoneList, h('p', { class: 'field-hint' }, 'Opening windows per day, like 09:00-17:00 or 09:00-12:00, 13:00-17:00. Empty means closed.'), h('div', { class: 'grid-2' }, days.map(([, f]) => f.el)), holidays.el);
  const sync = () => (body.hidden = !enabled.checked);
  enabled.addEventListener('change', sync);
  sync();
  const el = h('fieldset', { class: 'field' }, h('legend', { class: 'label' }, 'Business hours'), h('div', { class: 'check-row' }, h('label', null, enabled, label)), body, messages ? closedMsg.el : null, messages ? force.el : null);
  const fields = messages ? { closed_message: closedMsg, force, 'business_hours.timezone': tz, 'business_hours.holidays': holidays } : { 'business_hours.timezone': tz, 'business_hours.holidays': holidays };
  for (const [d, f] of days) fields[`business_hours.weekly.${d}`] = f;
  return {
    el,
    fields,
    // Returns the settings part, or null after marking the field in error.
    read() {
      const out = messages ? { closed_message: closedMsg.input.value.trim(), force: force.input.value, business_hours: null } : { business_hours: null };
      if (!enabled.checked) return out;
      const weekly = {};
      for (const [d, f] of days) {
        const windows = f.input.value.split(',').map((x) => x.trim().replace(/\s+/g, '')).filter(Boolean);
        const bad = windows.find((x) => !/^\d{2}:\d{2}-\d{2}:\d{2}$/.test(x));
        if (bad) {
          f.setError(`"${bad}" is not a window like 09:00-17:00.`);
          f.input.focus();
          return null;
        }
        if (windows.length) weekly[d] = windows;
      }
      const list = [];
      for (const line of holidays.input.value.split('\n').map((x) => x.trim()).filter(Boolean)) {
        const [when, ...rest] = line.split(/\s+/);
        const name = rest.join(' ') || 'Holiday';
        if (/^\d{4}-\d{2}-\d{2}$/.test(when)) list.push({ date: when, name });
        else if (/^\d{2}-\d{2}$/.test(when)) list.push({ yearly: when, name });
        else {
          holidays.setError(`"${when}" is not a date like 12-25 or 2026-11-26.`);
          holidays.input.focus();
          return null;
        }
      }
      out.business_hours = { timezone: tz.input.value.trim(), weekly, ...(list.length ? { holidays: list } : {}), ...(bh && bh.overrides ? { overrides: bh.overrides } : {}) };
      return out;
    },
  };
}

// Server errors name the path under settings (settings.business_hours.weekly.mon); the
// error display keys on its last part.
export function hoursFields(fields) {
  const out = { timezone: fields['business_hours.timezone'], business_hours: fields['business_hours.timezone'], holidays: fields['business_hours.holidays'], date: fields['business_hours.holidays'], yearly: fields['business_hours.holidays'] };
  if (fields.closed_message) Object.assign(out, { closed_message: fields.closed_message, force: fields.force });
  for (const [d] of DAYS) out[d] = fields[`business_hours.weekly.${d}`];
  return out;
}

