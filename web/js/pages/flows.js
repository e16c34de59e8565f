// IVR flows of the current tenant (admins): the files of the tenant's flow folder with their
// validation state, the source of each with its problems line by line, validate and publish
// (atomic; calls in progress keep their version), and the history of published versions.
// The files on disk stay the source of truth: a change made there is reloaded, or refused
// while it does not validate, and the page says which.

import { h, mount, timeEl } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { pageHeader, button, field, formAlert, setBusy, openDialog, confirmDialog, showApiError, skeletonRows, emptyState, errorState, statusPill } from '../ui.js';

const NEW_FLOW = (id) => `version: 1
id: ${id}
name: ${id}
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
  on_error: goodbye
start: welcome

nodes:
  welcome:
    type: say
    prompt: "Thanks for calling."
    next: goodbye

  goodbye:
    type: hangup
    prompt: "Goodbye."
`;

export async function render(root, ctx) {
  const { api, tenant, toast, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}/flows`;
  let folder = null;

  const newBtn = button('New flow', { variant: 'primary', iconName: 'plus', attrs: { 'data-testid': 'new-flow' } });
  newBtn.addEventListener('click', newFlow);
  const statusSlot = h('div', { class: 'flows-status' });
  const listSlot = h('div', { class: 'card card-flush' });
  const editorSlot = h('section', { class: 'flow-editor', hidden: true, 'aria-label': 'Flow file' });
  const historySlot = h('div', { class: 'card card-flush' });
  mount(
    root,
    pageHeader({ title: 'IVR flows', description: ['What callers hear and press on ', h('strong', null, tenant.tenant_name), "'s numbers. Files in the flow folder are the source of truth."], actions: newBtn }),
    statusSlot,
    listSlot,
    editorSlot,
    h('h2', { class: 'section-title flows-history-title' }, 'Published versions'),
    historySlot,
  );

  async function load() {
    mount(listSlot, skeletonRows(3));
    try {
      folder = await api.get(base, { signal });
      renderStatus();
      renderList();
      loadHistory();
      const wanted = ctx.query && ctx.query.get && ctx.query.get('file');
      if (wanted && folder.files.some((f) => f.path === wanted)) openFile(wanted);
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(listSlot, errorState({ title: "Couldn't load the flows", message: err.message, onRetry: load }));
    }
  }

  function renderStatus() {
    const parts = [];
    if (folder.live) {
      parts.push(h('p', { class: 'callout callout-info', 'data-testid': 'flows-live' }, icon('check', { size: 16 }), h('span', null, `Live: version ${folder.live.version}, published `, timeEl(folder.live.published_at), folder.disk_is_live ? '.' : '. The files on disk differ from it.')));
    } else {
      parts.push(h('p', { class: 'callout callout-info' }, icon('info', { size: 16 }), h('span', null, 'Nothing is published yet: calls to this tenant hear the not-in-service message.')));
    }
    if (folder.rejected) {
      parts.push(h('p', { class: 'callout callout-danger', role: 'alert' }, icon('alert', { size: 16 }), h('span', null, `A change on disk was refused ( `, timeEl(folder.rejected.at), `): ${folder.rejected.errors} error(s). Calls keep using the live version until the files are fixed.`)));
    }
    parts.push(h('p', { class: 'field-hint' }, 'Folder on the server: ', h('code', null, folder.dir)));
    mount(statusSlot, parts);
  }

  function statePill(f) {
    if (f.errors) return statusPill(`${f.errors} error${f.errors === 1 ? '' : 's'}`, 'danger');
    if (f.warnings) return statusPill(`${f.warnings} warning${f.warnings === 1 ? '' : 's'}`, 'warning');
    return statusPill('Valid', 'success');
  }

  function renderList() {
    if (!folder.files.length) {
      const first = button('Create the first flow', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', newFlow);
      mount(listSlot, emptyState({ iconName: 'phone', title: 'No flows yet', message: 'A flow is what callers hear and press: menus, business hours, queues, voicemail.', action: first }));
      return;
    }
    mount(
      listSlot,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table', 'data-testid': 'flow-files' },
          h('caption', { class: 'sr-only' }, 'Flow files'),
          h('thead', null, h('tr', null, ['File', 'Kind', 'Name', 'Nodes', 'State'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
          h(
            'tbody',
            null,
            folder.files.map((f) => {
              const open = button('Open', { size: 'sm', attrs: { 'aria-label': `Open ${f.path}` } });
              open.addEventListener('click', () => openFile(f.path));
              return h(
                'tr',
                { dataset: { path: f.path } },
                h('td', { class: 'col-name' }, h('code', null, f.path)),
                h('td', { 'data-label': 'Kind' }, f.kind),
                h('td', { 'data-label': 'Name' }, f.name || (f.flow_id ? f.flow_id : '—')),
                h('td', { 'data-label': 'Nodes' }, f.nodes == null ? '—' : String(f.nodes)),
                h('td', { 'data-label': 'State' }, statePill(f)),
                h('td', { class: 'col-actions' }, open),
              );
            }),
          ),
        ),
      ),
    );
    if (folder.report.errors.some((d) => !folder.files.some((f) => f.path === d.file))) {
      listSlot.append(diagList(folder.report.errors.filter((d) => !folder.files.some((f) => f.path === d.file)), null));
    }
  }

  function diagList(diags, textarea) {
    if (!diags.length) return h('p', { class: 'diag-ok', 'data-testid': 'diag-ok' }, icon('check', { size: 16 }), ' No problems in this file.');
    return h(
      'ul',
      { class: 'diag-list', 'data-testid': 'diagnostics' },
      diags.map((d) => {
        const where = d.span ? `${d.file}:${d.span.line}:${d.span.column}` : d.file;
        const item = h(
          'li',
          { class: ['diag', d.severity === 'error' ? 'diag-error' : 'diag-warning'], dataset: { code: d.code } },
          h('span', { class: 'diag-code' }, d.code),
          h('span', { class: 'diag-where' }, where),
          h('span', { class: 'diag-message' }, d.message),
          d.hint ? h('span', { class: 'diag-hint' }, `Hint: ${d.hint}`) : null,
        );
        if (textarea && d.span) {
          item.tabIndex = 0;
          item.setAttribute('role', 'button');
          item.title = 'Go to this line';
          const go = () => selectLine(textarea, d.span.line);
          item.addEventListener('click', go);
          item.addEventListener('keydown', (e) => {
            if (e.key === 'Enter' || e.key === ' ') {
              e.preventDefault();
              go();
            }
          });
        }
        return item;
      }),
    );
  }

  function selectLine(textarea, line) {
    const lines = textarea.value.split('\n');
    let start = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i += 1) start += lines[i].length + 1;
    const end = start + (lines[line - 1] || '').length;
    textarea.focus();
    textarea.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
    textarea.scrollTop = Math.max(0, (line - 5) * lineHeight);
  }

  async function openFile(path, { text, isNew = false } = {}) {
    editorSlot.hidden = false;
    mount(editorSlot, skeletonRows(4));
    let file;
    try {
      file = isNew ? { path, text, digest: folder.digest, diagnostics: [] } : await api.get(`${base}/file`, { query: { path }, signal });
    } catch (err) {
      if (err.name === 'AbortError') return;
      mount(editorSlot, errorState({ title: `Couldn't open ${path}`, message: err.message, onRetry: () => openFile(path) }));
      return;
    }
    const textarea = h('textarea', { class: 'input textarea code-editor', spellcheck: 'false', 'aria-label': `Source of ${path}`, rows: 24, 'data-testid': 'flow-source' });
    textarea.value = file.text;
    const diagSlot = h('div', { class: 'diag-slot', 'aria-live': 'polite' }, diagList(file.diagnostics, textarea));
    const alertBox = formAlert();
    const validateBtn = button('Validate', { iconName: 'check', attrs: { 'data-testid': 'validate-flow' } });
    const publishBtn = button('Publish', { variant: 'primary', iconName: 'upload', attrs: { 'data-testid': 'publish-flow' } });
    const closeBtn = button('Close');
    const graphSlot = h('div', { class: 'flow-graph-slot' });
    const actions = [validateBtn, publishBtn];
    if (path.startsWith('flows/') && !isNew) {
      const flowId = path.slice('flows/'.length, -'.yaml'.length);
      const graphBtn = button('Graph', { iconName: 'activity', attrs: { 'data-testid': 'show-graph', 'aria-expanded': 'false' } });
      graphBtn.addEventListener('click', () => {
        const open = graphSlot.childElementCount === 0;
        graphBtn.setAttribute('aria-expanded', String(open));
        if (!open) return mount(graphSlot);
        // The picture of the file as saved on the server (publish first to see an edit).
        const src = `/api/v1${base}/graph?flow=${encodeURIComponent(flowId)}&v=${encodeURIComponent(file.digest)}`;
        const img = h('img', { src, alt: `Graph of the flow ${flowId}: nodes and the exits between them`, title: 'Click to zoom' });
        const figure = h('figure', { class: 'flow-graph', 'data-testid': 'flow-graph' }, img, h('figcaption', { class: 'field-hint' }, 'Boxes are nodes, arrows their exits; dashed arrows fall back to defaults.on_error. Green nodes end the IVR. Click the picture to zoom.'));
        img.addEventListener('click', () => figure.classList.toggle('is-zoomed'));
        mount(graphSlot, figure);
      });
      actions.push(graphBtn);
    }
    if (path.startsWith('flows/') && !isNew) {
      const del = button('Delete', { variant: 'danger', iconName: 'trash' });
      del.addEventListener('click', () => removeFile(path, file.digest));
      actions.push(del);
    }
    actions.push(closeBtn);
    mount(
      editorSlot,
      h('div', { class: 'flow-editor-head' }, h('h2', { class: 'section-title' }, h('code', null, path), isNew ? ' (new)' : ''), h('div', { class: 'page-actions' }, actions)),
      alertBox.el,
      textarea,
      diagSlot,
      graphSlot,
    );
    textarea.focus();
    closeBtn.addEventListener('click', () => {
      editorSlot.hidden = true;
      mount(editorSlot);
    });
    validateBtn.addEventListener('click', async () => {
      alertBox.clear();
      setBusy(validateBtn, true);
      try {
        const report = await api.post(`${base}/validate`, { path, text: textarea.value });
        const mine = report.errors.concat(report.warnings).filter((d) => d.file === path);
        const others = report.errors.filter((d) => d.file !== path);
        mount(
          diagSlot,
          report.valid ? h('p', { class: 'diag-ok', 'data-testid': 'validate-ok' }, icon('check', { size: 16 }), ' Valid: ready to publish.') : null,
          mine.length ? diagList(mine, textarea) : null,
          others.length ? [h('p', { class: 'field-hint' }, 'Other files:'), diagList(others, null)] : null,
        );
      } catch (err) {
        showApiError(err, {}, alertBox);
      } finally {
        setBusy(validateBtn, false);
      }
    });
    publishBtn.addEventListener('click', async () => {
      alertBox.clear();
      setBusy(publishBtn, true);
      try {
        const res = await api.post(`${base}/publish`, { path, text: textarea.value, base_digest: file.digest });
        toast.success(`Version ${res.version} is live.`);
        editorSlot.hidden = true;
        mount(editorSlot);
        await load();
      } catch (err) {
        if (err.status === 422 && err.body && err.body.report) {
          const report = err.body.report;
          const mine = report.errors.concat(report.warnings).filter((d) => d.file === path);
          mount(diagSlot, diagList(mine, textarea));
          alertBox.show(`Not published: ${report.errors.length} error(s). Nothing was written.`);
        } else if (err.status === 409) {
          alertBox.show('Someone changed the flows since you opened this file. Copy your edit, reload, and apply it again.');
        } else {
          showApiError(err, {}, alertBox);
        }
      } finally {
        setBusy(publishBtn, false);
      }
    });
    editorSlot.scrollIntoView({ block: 'start' });
  }

  async function removeFile(path, digest) {
    await confirmDialog({
      title: `Delete ${path}?`,
      message: 'The folder is published without it. Refused while a route or another flow still uses it.',
      confirmLabel: 'Delete',
      danger: true,
      action: async () => {
        await api.del(`${base}/file?path=${encodeURIComponent(path)}&base_digest=${encodeURIComponent(digest)}`);
        editorSlot.hidden = true;
        toast.success(`${path} was deleted.`);
        await load();
      },
    });
  }

  function newFlow() {
    const idField = field({ name: 'flow_id', label: 'Flow id', required: true, placeholder: 'sales-line', spellcheck: 'false', hint: 'Lowercase letters, digits, - and _; it is also the file name.' });
    const alertBox = formAlert();
    const submit = button('Create', { variant: 'primary', type: 'submit' });
    const cancel = button('Cancel');
    const form = h('form', { class: 'dialog-form', id: 'new-flow-form', novalidate: true }, alertBox.el, idField.el);
    submit.setAttribute('form', 'new-flow-form');
    const dlg = openDialog({ title: 'New flow', body: form, footer: [cancel, submit], initialFocus: () => idField.input });
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const id = idField.input.value.trim();
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(id)) {
        idField.setError('Use lowercase letters, digits, - or _ (start with a letter or digit).');
        return idField.input.focus();
      }
      const path = `flows/${id}.yaml`;
      if (folder.files.some((f) => f.path === path)) {
        idField.setError('A flow with this id exists.');
        return idField.input.focus();
      }
      dlg.close(true);
      openFile(path, { text: NEW_FLOW(id), isNew: true });
    });
  }

  async function loadHistory() {
    mount(historySlot, skeletonRows(2));
    try {
      const versions = await api.get(`${base}/history`, { signal });
      if (!versions.length) {
        mount(historySlot, h('p', { class: 'empty-inline' }, 'No version published yet.'));
        return;
      }
      const SOURCE = { api: 'Published here', disk: 'Changed on disk', start: 'Loaded at start' };
      mount(
        historySlot,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'table', 'data-testid': 'flow-history' },
            h('caption', { class: 'sr-only' }, 'Published versions'),
            h('thead', null, h('tr', null, ['Version', 'When', 'How', 'File', 'By', 'Warnings'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              null,
              versions.map((v) =>
                h(
                  'tr',
                  { dataset: { version: String(v.version) } },
                  h('td', { class: 'col-name' }, `v${v.version} `, v.live ? statusPill('Live', 'success') : null),
                  h('td', { 'data-label': 'When' }, timeEl(v.published_at)),
                  h('td', { 'data-label': 'How' }, SOURCE[v.source] || v.source),
                  h('td', { 'data-label': 'File' }, v.path ? h('code', null, v.path) : '—'),
                  h('td', { 'data-label': 'By' }, v.published_by || '—'),
                  h('td', { 'data-label': 'Warnings' }, String(v.warnings)),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      if (err.name === 'AbortError') return;
      mount(historySlot, errorState({ title: "Couldn't load the history", message: err.message, onRetry: loadHistory }));
    }
  }

  await load();
}
