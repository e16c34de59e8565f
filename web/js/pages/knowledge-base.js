// The knowledge base of the current tenant (admins): the answers the assistant gives. List
// with search and filters, the active switch and how often each entry was used; create, edit
// and delete; import a JSON or CSV file (every bad row listed, nothing imported until all are
// right) and export; and "Try a question", which shows what the assistant would do.
//
// Entry text is the admins' own but may come from anywhere (an imported file): it only ever
// reaches the page as text.

import { h, mount, uid } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { pageHeader, button, field, formAlert, setBusy, openDialog, confirmDialog, showApiError, dropdown, skeletonRows, emptyState, errorState, statusPill, sentence } from '../ui.js';

const PAGE = 100; // rows shown at once; "Show more" adds the next ones

const DECISIONS = {
  answer: { label: 'Answers', kind: 'success' },
  clarify: { label: 'Asks which one', kind: 'warning' },
  handoff: { label: 'Hands over to your team', kind: 'neutral' },
};

function percent(x) {
  return `${Math.round((Number(x) || 0) * 100)}%`;
}

export async function render(root, ctx) {
  const { api, tenant, toast, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}/knowledge-base`;
  const exportUrl = (format) => `/api/v1${base}/export?format=${format}`;
  let entries = [];
  let filterText = '';
  let filterCategory = '';
  let filterLanguage = '';
  let shown = PAGE;

  const importBtn = button('Import', { variant: 'secondary', iconName: 'upload', attrs: { 'data-testid': 'kb-import' } });
  importBtn.addEventListener('click', () => openImport());
  const newBtn = button('New entry', { variant: 'primary', iconName: 'plus', attrs: { 'data-testid': 'kb-new' } });
  newBtn.addEventListener('click', () => openEditor(null));

  /* try a question */
  const tryInput = h('input', { type: 'search', class: 'input', id: uid('kb-try'), placeholder: 'How long do I have to return an item?', maxlength: 1000, autocomplete: 'off', dataset: { testid: 'kb-try-input' } });
  const tryLang = h('select', { class: 'input select select-compact', 'aria-label': 'Language of the question', hidden: true });
  const tryBtn = button('Try it', { variant: 'secondary', type: 'submit', iconName: 'sparkle', attrs: { 'data-testid': 'kb-try' } });
  const tryResult = h('div', { class: 'kb-try-result', 'aria-live': 'polite', dataset: { testid: 'kb-try-result' } });
  const tryForm = h('form', { class: 'kb-try-form', novalidate: true }, h('label', { class: 'sr-only', for: tryInput.id }, 'A customer’s question'), tryInput, tryLang, tryBtn);
  const tryCard = h(
    'section',
    { class: 'card kb-try', 'aria-labelledby': 'kb-try-title' },
    h('header', { class: 'card-header' }, h('div', null, h('h2', { id: 'kb-try-title', class: 'card-title' }, 'Try a question'), h('p', { class: 'card-desc' }, 'See what the assistant would do with a customer’s message: answer, ask which entry they mean, or hand over.'))),
    tryForm,
    tryResult,
  );
  tryForm.addEventListener('submit', (event) => {
    event.preventDefault();
    tryQuestion();
  });

  /* list */
  const search = h('input', { type: 'search', class: 'input input-search', placeholder: 'Search questions, answers, keywords', 'aria-label': 'Search the knowledge base', autocomplete: 'off' });
  search.addEventListener('input', () => {
    filterText = search.value.trim().toLowerCase();
    shown = PAGE;
    renderList();
  });
  const categoryFilter = h('select', { class: 'input select select-compact', 'aria-label': 'Category' });
  categoryFilter.addEventListener('change', () => {
    filterCategory = categoryFilter.value;
    shown = PAGE;
    renderList();
  });
  const languageFilter = h('select', { class: 'input select select-compact', 'aria-label': 'Language' });
  languageFilter.addEventListener('change', () => {
    filterLanguage = languageFilter.value;
    shown = PAGE;
    renderList();
  });
  const countEl = h('span', { class: 'toolbar-count', 'aria-live': 'polite' });
  const toolbar = h('div', { class: 'toolbar' }, h('div', { class: 'search-box' }, icon('search', { size: 16, className: 'search-icon' }), search), categoryFilter, languageFilter, h('div', { class: 'toolbar-spacer' }), countEl);
  const listSlot = h('div', { class: 'card card-flush' });
  const moreSlot = h('div', { class: 'load-more' });
  const exportLine = h(
    'p',
    { class: 'kb-export', hidden: true },
    icon('download', { size: 16 }),
    h('span', null, 'Export every entry as ', h('a', { href: exportUrl('csv'), download: 'knowledge-base.csv', dataset: { testid: 'kb-export-csv' } }, 'CSV'), ' or ', h('a', { href: exportUrl('json'), download: 'knowledge-base.json', dataset: { testid: 'kb-export-json' } }, 'JSON'), ', in the format Import reads.'),
  );

  mount(
    root,
    pageHeader({ title: 'Knowledge base', description: ['The answers the assistant gives customers of ', h('strong', null, tenant.tenant_name), '.'], actions: [importBtn, newBtn] }),
    tryCard,
    toolbar,
    listSlot,
    moreSlot,
    exportLine,
  );

  async function load() {
    mount(listSlot, skeletonRows(5));
    toolbar.hidden = true;
    try {
      entries = await api.listAll(base, { signal, pageSize: 500, maxPages: 10 });
      renderFilters();
      renderList();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(listSlot, errorState({ title: "Couldn't load the knowledge base", message: err.message, onRetry: load }));
    }
  }

  function distinct(key) {
    return [...new Set(entries.map((e) => e[key]).filter(Boolean))].sort((a, b) => a.localeCompare(b));
  }

  function renderFilters() {
    const categories = distinct('category');
    const languages = distinct('language');
    if (filterCategory && !categories.includes(filterCategory)) filterCategory = '';
    if (filterLanguage && !languages.includes(filterLanguage)) filterLanguage = '';
    mount(categoryFilter, h('option', { value: '' }, 'All categories'), categories.map((c) => h('option', { value: c }, c)));
    mount(languageFilter, h('option', { value: '' }, 'All languages'), languages.map((l) => h('option', { value: l }, l)));
    categoryFilter.value = filterCategory;
    languageFilter.value = filterLanguage;
    languageFilter.hidden = languages.length < 2 && !filterLanguage;
    const current = tryLang.value;
    mount(tryLang, h('option', { value: '' }, 'Default language'), languages.map((l) => h('option', { value: l }, l)));
    tryLang.value = languages.includes(current) ? current : '';
    tryLang.hidden = languages.length < 2;
  }

  function matches(e) {
    if (filterCategory && e.category !== filterCategory) return false;
    if (filterLanguage && e.language !== filterLanguage) return false;
    if (!filterText) return true;
    return [e.question, e.answer, e.category, e.slug || '', ...(e.keywords || [])].join('\n').toLowerCase().includes(filterText);
  }

  function renderList() {
    const visible = entries.filter(matches);
    const total = entries.length === 1 ? '1 entry' : `${entries.length} entries`;
    countEl.textContent = visible.length === entries.length ? total : `${visible.length} of ${total}`;
    exportLine.hidden = !entries.length;
    mount(moreSlot);
    if (!entries.length) {
      toolbar.hidden = true;
      const first = button('Add an entry', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', () => openEditor(null));
      const imp = button('Import a file', { variant: 'secondary', iconName: 'upload' });
      imp.addEventListener('click', () => openImport());
      mount(listSlot, emptyState({ iconName: 'book', title: 'No entries yet', message: 'Write the questions customers ask and the answers the assistant should give, or import them from a JSON or CSV file.', action: h('div', { class: 'state-actions' }, imp, first) }));
      return;
    }
    toolbar.hidden = false;
    if (!visible.length) {
      mount(listSlot, emptyState({ iconName: 'search', title: 'No matching entries', message: 'Try other words, or another category or language.' }));
      return;
    }
    const sorted = visible.slice().sort((a, b) => a.category.localeCompare(b.category) || a.question.localeCompare(b.question));
    const table = h(
      'table',
      { class: 'table table-kb' },
      h('caption', { class: 'sr-only' }, 'Knowledge-base entries'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Question and answer'), h('th', { scope: 'col' }, 'Category'), h('th', { scope: 'col', class: 'num' }, 'Used'), h('th', { scope: 'col', class: 'col-active' }, 'Active'), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, sorted.slice(0, shown).map(row)),
    );
    mount(listSlot, h('div', { class: 'table-wrap' }, table));
    if (sorted.length > shown) {
      const more = button(`Show ${Math.min(PAGE, sorted.length - shown)} more`, { variant: 'secondary' });
      more.addEventListener('click', () => {
        shown += PAGE;
        renderList();
      });
      mount(moreSlot, more);
    }
  }

  function row(e) {
    const more = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Actions for “${e.question}”` }, icon('more', { size: 18 }));
    dropdown(more, () => [
      { label: 'Edit entry', icon: 'edit', onSelect: () => openEditor(e) },
      'separator',
      { label: 'Delete entry', icon: 'trash', danger: true, onSelect: () => remove(e) },
    ]);
    const question = h('button', { type: 'button', class: 'link-btn kb-question' }, e.question);
    question.addEventListener('click', () => openEditor(e));
    const toggleId = uid('kb-active');
    const toggle = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id: toggleId, checked: e.active, 'aria-label': `Active: ${e.question}` });
    toggle.addEventListener('change', () => setActive(e, toggle));
    return h(
      'tr',
      { dataset: { entryId: String(e.id), slug: e.slug || '' }, class: [!e.active && 'is-inactive'] },
      h('td', { class: 'col-name' }, h('div', { class: 'kb-cell' }, question, h('span', { class: 'kb-answer' }, e.answer), e.slug ? h('span', { class: 'kb-slug mono' }, e.slug) : null)),
      h('td', { 'data-label': 'Category' }, h('span', { class: 'chips' }, h('span', { class: 'chip' }, e.category), h('span', { class: 'chip chip-lang', title: 'Language' }, e.language))),
      h('td', { class: 'num', 'data-label': 'Used' }, h('span', { title: `Updated ${new Date(e.updated_at).toLocaleString()}` }, String(e.usage_count ?? 0))),
      h('td', { class: 'col-active', 'data-label': 'Active' }, h('label', { class: 'switch switch-compact', for: toggleId }, toggle, h('span', { class: 'switch-track', 'aria-hidden': 'true' }))),
      h('td', { class: 'col-actions' }, h('div', { class: 'menu-anchor' }, more)),
    );
  }

  function bodyOf(e, changes = {}) {
    return { slug: e.slug || null, category: e.category, question: e.question, answer: e.answer, keywords: e.keywords || [], language: e.language, active: e.active, ...changes };
  }

  async function setActive(e, toggle) {
    toggle.disabled = true;
    try {
      const saved = await api.put(`${base}/${seg(e.id)}`, bodyOf(e, { active: toggle.checked }));
      entries = entries.map((x) => (x.id === e.id ? saved : x));
      toast.success(saved.active ? 'The assistant uses this entry again.' : 'The assistant no longer uses this entry.');
      renderList();
    } catch (err) {
      toggle.checked = !toggle.checked;
      toggle.disabled = false;
      toast.error(`Couldn't change the entry: ${err.message}`);
    }
  }

  function openEditor(e) {
    const question = field({ name: 'question', label: 'Question', value: e ? e.question : '', required: true, placeholder: 'How long do I have to return an item?' });
    question.input.maxLength = 500;
    const answer = field({ name: 'answer', label: 'Answer', type: 'textarea', value: e ? e.answer : '', required: true, hint: 'What the assistant says, word for word. At most 4000 characters.' });
    answer.input.rows = 6;
    answer.input.maxLength = 4000;
    const categoryList = h('datalist', { id: uid('kb-categories') }, distinct('category').map((c) => h('option', { value: c })));
    const category = field({ name: 'category', label: 'Category', value: e ? e.category : '', required: true, placeholder: 'returns', spellcheck: 'false', hint: 'The topic; handoff rules can name it as an intent.' });
    category.input.setAttribute('list', categoryList.id);
    category.input.maxLength = 60;
    const language = field({ name: 'language', label: 'Language', value: e ? e.language : '', spellcheck: 'false', placeholder: 'Default language', hint: 'A tag like en or es.' });
    const keywords = field({ name: 'keywords', label: 'Keywords', value: e ? (e.keywords || []).join(', ') : '', spellcheck: 'false', placeholder: 'refund, send back, return policy', hint: 'Other words customers use, separated by commas.' });
    const slug = field({ name: 'slug', label: 'Id', value: e ? e.slug || '' : '', spellcheck: 'false', placeholder: 'returns-window', hint: 'Optional. Your own stable id: importing a file with this id updates the entry.' });
    slug.input.classList.add('input-mono');
    const activeId = uid('kb-entry-active');
    const active = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id: activeId, checked: e ? e.active : true });
    const activeEl = h('label', { class: 'switch', for: activeId }, active, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', null, h('span', { class: 'choice-title' }, 'Used by the assistant'), h('span', { class: 'choice-desc' }, 'Switch off to keep the entry without answering from it.')));

    const alertBox = formAlert();
    const submit = button(e ? 'Save changes' : 'Add entry', { variant: 'primary', type: 'submit' });
    const cancel = button('Cancel');
    const formId = e ? 'edit-kb-form' : 'new-kb-form';
    const form = h('form', { class: 'dialog-form', id: formId, novalidate: true }, alertBox.el, question.el, answer.el, h('div', { class: 'grid-2' }, category.el, language.el), categoryList, keywords.el, slug.el, activeEl);
    submit.setAttribute('form', formId);
    const dlg = openDialog({ title: e ? 'Edit entry' : 'New entry', body: form, footer: [cancel, submit], size: 'lg', initialFocus: () => question.input });
    cancel.addEventListener('click', () => dlg.close());

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      const errors = [];
      if (!question.input.value.trim()) errors.push([question, 'Write the question.']);
      if (!answer.input.value.trim()) errors.push([answer, 'Write the answer.']);
      if (!category.input.value.trim()) errors.push([category, 'Name a category, like returns.']);
      const lang = language.input.value.trim();
      if (lang && !/^[a-z]{2}[A-Za-z0-9-]{0,8}$/.test(lang)) errors.push([language, 'Use a language tag like en or es-MX.']);
      const id = slug.input.value.trim();
      if (/\s/.test(id)) errors.push([slug, 'Use no spaces, like returns-window.']);
      for (const [f, msg] of errors) f.setError(msg);
      if (errors.length) return errors[0][0].input.focus();
      const body = {
        slug: id || null,
        category: category.input.value.trim(),
        question: question.input.value.trim(),
        answer: answer.input.value.trim(),
        keywords: keywords.input.value.split(',').map((x) => x.trim()).filter(Boolean),
        active: active.checked,
      };
      if (lang) body.language = lang;
      else if (e) body.language = e.language;
      setBusy(submit, true);
      try {
        const saved = e ? await api.put(`${base}/${seg(e.id)}`, body) : await api.post(base, body);
        entries = e ? entries.map((x) => (x.id === e.id ? saved : x)) : entries.concat(saved);
        dlg.close(true);
        renderFilters();
        renderList();
        toast.success(e ? 'Entry saved.' : 'Entry added.');
      } catch (err) {
        setBusy(submit, false);
        showApiError(err, { question, answer, category, language, keywords, slug }, alertBox, { conflictField: 'slug', fieldHints: { slug: ['id'] } });
      }
    });
  }

  async function remove(e) {
    await confirmDialog({
      title: 'Delete this entry?',
      message: `“${e.question}” is deleted. The assistant stops answering from it.`,
      confirmLabel: 'Delete entry',
      danger: true,
      action: async () => {
        await api.del(`${base}/${seg(e.id)}`);
        entries = entries.filter((x) => x.id !== e.id);
        renderFilters();
        renderList();
        toast.success('Entry deleted.');
      },
    });
  }

  /* -------------------------------------------------------------- import */

  function openImport() {
    const sourceName = uid('kb-source');
    const fileRadio = h('input', { type: 'radio', name: sourceName, value: 'file', class: 'sr-only', checked: true });
    const pasteRadio = h('input', { type: 'radio', name: sourceName, value: 'paste', class: 'sr-only' });
    const sourceSeg = h('div', { class: 'seg seg-2', role: 'radiogroup', 'aria-label': 'Import from' }, h('label', { class: 'seg-btn' }, fileRadio, 'Upload a file'), h('label', { class: 'seg-btn' }, pasteRadio, 'Paste text'));

    const fileId = uid('kb-file');
    const fileInput = h('input', { type: 'file', id: fileId, class: 'input input-file', accept: '.json,.csv,application/json,text/csv', 'aria-describedby': `${fileId}-hint` });
    const fileError = h('p', { class: 'field-error', hidden: true });
    const filePane = h('div', { class: 'field' }, h('label', { class: 'label', for: fileId }, 'File'), fileInput, h('p', { class: 'field-hint', id: `${fileId}-hint` }, 'A .json or .csv file of up to a few thousand entries.'), fileError);

    const text = field({ name: 'text', label: 'Entries', type: 'textarea', placeholder: '[{"id": "returns-window", "category": "returns", "question": "…", "answer": "…"}]' });
    text.input.rows = 9;
    text.input.classList.add('input-mono');
    text.input.spellcheck = false;
    const format = field({ name: 'format', label: 'Format', type: 'select', value: 'json', options: [{ value: 'json', label: 'JSON' }, { value: 'csv', label: 'CSV' }] });
    text.input.addEventListener('input', () => {
      const t = text.input.value.trimStart();
      if (t) format.input.value = t.startsWith('[') ? 'json' : 'csv';
    });
    const pastePane = h('div', { class: 'import-paste', hidden: true }, text.el, format.el);

    const syncSource = () => {
      filePane.hidden = !fileRadio.checked;
      pastePane.hidden = fileRadio.checked;
    };
    fileRadio.addEventListener('change', syncSource);
    pasteRadio.addEventListener('change', syncSource);

    const help = h(
      'details',
      { class: 'import-help' },
      h('summary', null, 'File format'),
      h(
        'div',
        { class: 'import-help-body' },
        h('p', null, h('strong', null, 'JSON: '), 'an array of entries with ', h('code', null, 'category'), ', ', h('code', null, 'question'), ' and ', h('code', null, 'answer'), '; optionally ', h('code', null, 'id'), ', ', h('code', null, 'keywords'), ' (a list), ', h('code', null, 'language'), ' and ', h('code', null, 'active'), '.'),
        h('p', null, h('strong', null, 'CSV: '), 'a header row naming the columns ', h('code', null, 'id,category,question,answer,keywords,language,active'), '; keywords separated by ', h('code', null, ';'), '. Only category, question and answer are required.'),
        h('p', null, 'Entries whose id is already in the knowledge base are updated instead of added.'),
      ),
    );

    const alertBox = formAlert();
    const errorsSlot = h('div', { class: 'import-errors', hidden: true, dataset: { testid: 'import-errors' } });
    const submit = button('Import', { variant: 'primary', type: 'submit', iconName: 'upload' });
    const cancel = button('Cancel');
    const formId = 'kb-import-form';
    const form = h('form', { class: 'dialog-form', id: formId, novalidate: true }, sourceSeg, filePane, pastePane, help, alertBox.el, errorsSlot);
    submit.setAttribute('form', formId);
    const dlg = openDialog({ title: 'Import entries', description: 'Add or update entries from a JSON or CSV file. Nothing is imported while any row has a problem.', body: form, footer: [cancel, submit], size: 'lg', initialFocus: () => fileInput });
    cancel.addEventListener('click', () => dlg.close());
    fileInput.addEventListener('change', () => {
      fileError.hidden = true;
      alertBox.clear();
      errorsSlot.hidden = true;
    });

    function showRowErrors(list, isCsv) {
      errorsSlot.hidden = false;
      const n = list.length;
      mount(
        errorsSlot,
        h('div', { class: 'alert alert-error', role: 'alert' }, icon('alert', { size: 18 }), h('span', { class: 'alert-text' }, `Nothing was imported: ${n === 1 ? '1 problem' : `${n} problems`} to fix in the file.`, isCsv ? ' Rows are counted from the first line after the header.' : ' Entries are counted from 1.')),
        h(
          'div',
          { class: 'table-wrap import-errors-table' },
          h(
            'table',
            { class: 'table table-compact' },
            h('caption', { class: 'sr-only' }, 'Problems by row'),
            h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'col-row' }, isCsv ? 'Row' : 'Entry'), h('th', { scope: 'col', class: 'col-column' }, 'Column'), h('th', { scope: 'col' }, 'Problem'))),
            h(
              'tbody',
              null,
              list.map((x) => h('tr', { dataset: { row: String(x.row) } }, h('td', { class: 'col-row' }, String(x.row)), h('td', { class: 'col-column' }, x.field ? h('code', null, x.field) : h('span', { class: 'muted' }, '—')), h('td', null, sentence(x.message)))),
            ),
          ),
        ),
      );
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      errorsSlot.hidden = true;
      fileError.hidden = true;
      let content = '';
      let isCsv = false;
      if (fileRadio.checked) {
        const file = fileInput.files && fileInput.files[0];
        if (!file) {
          fileError.replaceChildren(icon('alert', { size: 14 }), document.createTextNode('Choose a .json or .csv file.'));
          fileError.hidden = false;
          return fileInput.focus();
        }
        content = await file.text();
        isCsv = /\.csv$/i.test(file.name) || file.type === 'text/csv' || (!/\.json$/i.test(file.name) && !content.trimStart().startsWith('['));
      } else {
        content = text.input.value;
        if (!content.trim()) {
          text.setError('Paste the entries.');
          return text.input.focus();
        }
        isCsv = format.input.value === 'csv';
      }
      setBusy(submit, true);
      try {
        const res = await api.upload(`${base}/import`, content, { query: { format: isCsv ? 'csv' : 'json' }, contentType: isCsv ? 'text/csv; charset=utf-8' : 'application/json' });
        dlg.close(true);
        toast.success(res.imported === 1 ? 'Imported 1 entry.' : `Imported ${res.imported} entries.`);
        await load();
      } catch (err) {
        setBusy(submit, false);
        if (err.name === 'AbortError') return;
        const rows = err.body && Array.isArray(err.body.errors) ? err.body.errors : null;
        if (err.status === 422 && rows && rows.length) showRowErrors(rows, isCsv);
        else alertBox.show(err.status === 413 ? 'The file is too large. Split it into smaller files.' : err.message);
      }
    });
  }

  /* ----------------------------------------------------- try a question */

  let trySeq = 0;
  async function tryQuestion() {
    const q = tryInput.value.trim();
    if (!q) {
      tryInput.focus();
      mount(tryResult, h('p', { class: 'field-hint' }, 'Type a question the way a customer would.'));
      return;
    }
    const seq = ++trySeq;
    setBusy(tryBtn, true);
    try {
      const res = await api.get(`${base}/search`, { signal, query: { q, language: tryLang.value } });
      if (seq !== trySeq) return;
      renderTry(res);
    } catch (err) {
      if (err.name === 'AbortError' || seq !== trySeq) return;
      mount(tryResult, h('div', { class: 'alert alert-error', role: 'alert' }, icon('alert', { size: 18 }), h('span', { class: 'alert-text' }, err.message)));
    } finally {
      if (seq === trySeq) setBusy(tryBtn, false);
    }
  }

  function renderTry(res) {
    const hits = (res && res.hits) || [];
    const d = DECISIONS[res.decision] || { label: res.decision, kind: 'neutral' };
    const best = hits[0] && hits[0].entry;
    const what =
      res.decision === 'answer' && best
        ? ['Answers with ', h('q', null, best.question)]
        : res.decision === 'clarify' && hits[1]
          ? ['Asks whether they mean ', h('q', null, hits[0].entry.question), ' or ', h('q', null, hits[1].entry.question)]
          : 'No entry fits well enough, so it hands over to your team.';
    mount(
      tryResult,
      h(
        'div',
        { class: 'kb-verdict', dataset: { decision: res.decision } },
        h('span', { class: ['badge', `badge-decision-${res.decision}`], dataset: { testid: 'kb-decision' } }, d.label),
        res.confidence !== null && res.confidence !== undefined ? h('span', { class: 'kb-confidence', dataset: { testid: 'kb-confidence' } }, `Confidence ${percent(res.confidence)}`) : null,
        h('span', { class: 'kb-what' }, what),
      ),
      res.decision === 'answer' && best ? h('blockquote', { class: 'kb-reply' }, best.answer) : null,
      hits.length
        ? h(
            'ol',
            { class: 'kb-hits', 'aria-label': 'Closest entries' },
            hits.slice(0, 5).map((hit) => {
              const bar = h('span', { class: 'coverage-fill' });
              bar.style.width = percent(hit.coverage);
              const open = h('button', { type: 'button', class: 'link-btn kb-hit-question' }, hit.entry.question);
              open.addEventListener('click', () => openEditor(entries.find((x) => x.id === hit.entry.id) || hit.entry));
              return h(
                'li',
                { class: 'kb-hit', dataset: { entryId: String(hit.entry.id) } },
                h('div', { class: 'kb-hit-main' }, open, h('span', { class: 'chips' }, h('span', { class: 'chip' }, hit.entry.category), hit.entry.active ? null : statusPill('Inactive', 'neutral'))),
                h('div', { class: 'kb-hit-score', title: `Score ${Number(hit.score).toFixed(2)}` }, h('span', { class: 'coverage-bar', 'aria-hidden': 'true' }, bar), h('span', { class: 'kb-hit-cover' }, `${percent(hit.coverage)} covered`)),
              );
            }),
          )
        : h('p', { class: 'field-hint' }, 'No entry shares words with this question.'),
    );
  }

  await load();
}
