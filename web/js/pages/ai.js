// The tenant's AI agent (admins): whether and where the assistant answers first, who writes
// its replies (the built-in bot or a model provider), how it behaves, what it tells customers
// when it hands over, its languages, the monthly token budget with this month's usage, the
// order lookup; and the handoff rules that decide when a conversation goes to people.
//
// The provider's API key is write-only: the page only ever learns whether one is stored.

import { h, mount, uid } from '../dom.js';
import { icon } from '../icons.js';
import { seg } from '../api.js';
import { pageHeader, button, field, passwordField, formAlert, setBusy, openDialog, confirmDialog, showApiError, dropdown, skeletonRows, emptyState, errorState, statusPill } from '../ui.js';
import { CHANNELS } from '../channels.js';
import { hoursEditor, hoursFields } from '../hours.js';

const PROVIDERS = [
  { value: 'local', label: 'Built-in', desc: 'Answers from your knowledge base only. No external service, no tokens.' },
  { value: 'openai', label: 'OpenAI-compatible', desc: 'OpenAI, Azure OpenAI, or your own server such as Ollama or vLLM.' },
  { value: 'anthropic', label: 'Anthropic', desc: "Claude, through Anthropic's Messages API." },
  { value: 'hybrid', label: 'Hybrid', desc: 'Simple questions to the built-in bot or a small model, harder ones to a large model.' },
];

// Which provider-specific fields each provider uses.
const USES = {
  base_url: ['openai', 'anthropic', 'hybrid'],
  model: ['openai', 'anthropic', 'hybrid'],
  small_model: ['hybrid'],
  embeddings_model: ['openai', 'hybrid'],
  azure: ['openai', 'hybrid'],
  api_key: ['openai', 'anthropic', 'hybrid'],
  local: ['local', 'hybrid'],
  max_tool_rounds: ['openai', 'anthropic', 'hybrid'],
  model_timeout_secs: ['openai', 'anthropic', 'hybrid'],
  instructions: ['openai', 'anthropic', 'hybrid'],
};

const PLACEHOLDERS = {
  openai: { base_url: 'https://api.openai.com/v1', model: 'gpt-4o-mini' },
  anthropic: { base_url: 'https://api.anthropic.com', model: 'claude-3-5-haiku-latest' },
  hybrid: { base_url: 'https://api.openai.com/v1', model: 'gpt-4o' },
};
const CONDITIONS = [
  { value: 'explicit_request', label: 'The customer asks for a person' },
  { value: 'keyword', label: 'The message mentions a word or phrase' },
  { value: 'intent', label: 'The customer wants something in particular' },
  { value: 'sentiment', label: 'The customer is unhappy' },
  { value: 'confidence', label: 'The assistant is not sure of its answer' },
  { value: 'max_bot_turns', label: 'The assistant has replied several times' },
  { value: 'inactivity', label: 'The customer goes quiet' },
];

const numberFormat = new Intl.NumberFormat();

function plural(n, one, many = `${one}s`) {
  return `${numberFormat.format(n)} ${n === 1 ? one : many}`;
}

function duration(secs) {
  const s = Number(secs) || 0;
  if (s < 60) return plural(s, 'second');
  if (s % 3600 === 0) return plural(s / 3600, 'hour');
  if (s % 60 === 0) return plural(s / 60, 'minute');
  return plural(s, 'second');
}

function quoted(list, max = 4) {
  const shown = list.slice(0, max).map((w) => `“${w}”`).join(', ');
  return list.length > max ? `${shown} and ${list.length - max} more` : shown;
}

/** A rule's condition in words: "Mentions “lawyer”, “sue”". */
function conditionText(c) {
  if (!c || typeof c !== 'object') return 'Unknown condition';
  switch (c.kind) {
    case 'explicit_request':
      return 'The customer asks for a person';
    case 'keyword':
      return `Mentions ${quoted(c.words || [])}`;
    case 'intent':
      return `Wants ${quoted(c.intents || [])}`;
    case 'sentiment': {
      const n = Number(c.consecutive) || 1;
      return `Sentiment at most ${c.at_most}${n > 1 ? ` for ${n} messages in a row` : ''}`;
    }
    case 'inactivity':
      return `Silent for ${duration(c.secs)}`;
    case 'confidence':
      return `Confidence below ${Math.round(Number(c.below) * 100)}%`;
    case 'max_bot_turns':
      return `After ${plural(Number(c.turns) || 0, 'reply', 'replies')} from the assistant`;
    default:
      return String(c.kind || 'Unknown condition');
  }
}

/** A labelled switch (a checkbox with role=switch). */
function switchField({ name, label, desc, checked, testid }) {
  const id = uid(`sw-${name}`);
  const input = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id, name, checked, dataset: testid ? { testid } : undefined });
  const el = h('label', { class: 'switch', for: id }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', null, h('span', { class: 'choice-title' }, label), desc ? h('span', { class: 'choice-desc' }, desc) : null));
  return { el, input };
}

function numberField(spec) {
  const f = field({ ...spec, type: 'number', value: spec.value === null || spec.value === undefined ? '' : String(spec.value) });
  if (spec.step) f.input.step = String(spec.step);
  f.input.inputMode = spec.step && String(spec.step).includes('.') ? 'decimal' : 'numeric';
  return f;
}

function textarea(spec, rows = 2) {
  const f = field({ ...spec, type: 'textarea' });
  f.input.rows = rows;
  if (spec.maxlength) f.input.maxLength = spec.maxlength;
  return f;
}

const isVisible = (el) => !el.closest('[hidden]');

export async function render(root, ctx) {
  const { api, tenant, toast, signal } = ctx;
  const base = `/tenants/${seg(tenant.tenant_id)}`;
  let queues = [];

  const statusSlot = h('div', { class: 'ai-status', dataset: { testid: 'ai-status' } });
  const formSlot = h('div', { class: 'settings' });
  const rulesSlot = h('div', { class: 'card card-flush' });
  const addRule = button('Add rule', { variant: 'secondary', iconName: 'plus', attrs: { 'data-testid': 'add-rule' } });
  addRule.addEventListener('click', () => openRule(null));
  const rulesNote = h('p', { class: 'callout callout-info', hidden: true }, icon('info', { size: 16 }), h('span', null, 'These are the built-in rules. Adding, changing or deleting one saves the whole set as your own.'));
  const rulesSection = h(
    'section',
    { class: 'rules-section', 'aria-labelledby': 'ai-rules' },
    h('header', { class: 'section-header' }, h('div', null, h('h2', { id: 'ai-rules', class: 'card-title' }, 'Handoff rules'), h('p', { class: 'card-desc' }, 'Checked on every customer message, lowest priority first. The first rule that matches hands the conversation to your team.')), addRule),
    rulesNote,
    rulesSlot,
  );

  mount(
    root,
    pageHeader({ title: 'AI agent', description: ['The assistant that answers customers of ', h('strong', null, tenant.tenant_name), ' first, and hands over to your team when it should.'], actions: statusSlot }),
    formSlot,
    rulesSection,
  );

  function renderStatus(settings) {
    mount(statusSlot, settings.enabled ? statusPill('Answering customers', 'success') : statusPill('Off', 'neutral'));
  }

  /* ---------------------------------------------------------- settings */

  async function load() {
    mount(formSlot, h('div', { class: 'card card-flush' }, skeletonRows(4)));
    try {
      const [view, usage, kb, q] = await Promise.all([
        api.get(`${base}/ai`, { signal }),
        api.get(`${base}/ai/usage`, { signal }).catch((err) => (err.name === 'AbortError' ? Promise.reject(err) : null)),
        api.get(`${base}/knowledge-base`, { signal, query: { limit: 1 } }).catch((err) => (err.name === 'AbortError' ? Promise.reject(err) : null)),
        api.get(`${base}/queues`, { signal }).catch((err) => (err.name === 'AbortError' ? Promise.reject(err) : { items: [] })),
      ]);
      queues = (q && q.items) || [];
      renderForm(view, usage, kb ? kb.total : null);
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 403) return ctx.forbidden(err.message);
      mount(formSlot, errorState({ title: "Couldn't load the AI agent settings", message: err.message, onRetry: load }));
    }
  }

  function section(id, title, desc, ...content) {
    const headingId = `ai-${id}`;
    return h(
      'section',
      { class: 'settings-section', 'aria-labelledby': headingId, dataset: { section: id } },
      h('div', { class: 'settings-intro' }, h('h2', { id: headingId, class: 'card-title' }, title), desc ? h('p', { class: 'card-desc' }, desc) : null),
      h('div', { class: 'card settings-card' }, content),
    );
  }

  function renderForm(view, usage, kbTotal) {
    const s = view.settings;
    renderStatus(s);

    /* on/off and channels */
    const enabled = switchField({ name: 'enabled', label: 'Answer new conversations', desc: 'The assistant replies first on the channels below and hands over to your team when it should.', checked: s.enabled, testid: 'ai-enabled' });
    const channelBoxes = CHANNELS.map((c) => [c.value, h('input', { type: 'checkbox', value: c.value, checked: (s.channels || []).includes(c.value) })]);
    const channelsError = h('p', { class: 'field-error', hidden: true });
    const channels = h('fieldset', { class: 'field' }, h('legend', { class: 'label' }, 'Channels'), h('div', { class: 'check-row' }, channelBoxes.map(([value, box]) => h('label', null, box, CHANNELS.find((c) => c.value === value).label))), channelsError);
    // Outside these hours new conversations go straight to the team (e.g. a bot by day only).
    const hours = hoursEditor(s, { messages: false, label: 'Only take new conversations at set hours' });
    const reopen = switchField({ name: 'reopen_to_bot', label: 'Reopened conversations go back to the assistant', desc: 'Otherwise a customer who writes again after a resolution goes straight to your team.', checked: s.reopen_to_bot });
    const kbLine =
      kbTotal === null
        ? null
        : h(
            'p',
            { class: ['kb-line', kbTotal === 0 && 'is-empty'] },
            icon(kbTotal === 0 ? 'alert' : 'book', { size: 16 }),
            h('span', null, kbTotal === 0 ? 'The knowledge base is empty: the assistant has nothing to answer from yet. ' : `It answers from ${plural(kbTotal, 'knowledge-base entry', 'knowledge-base entries')}. `, h('a', { href: '#/knowledge-base' }, kbTotal === 0 ? 'Add or import entries' : 'Manage the knowledge base')),
          );

    /* provider */
    const providerName = uid('provider');
    const providerRadios = PROVIDERS.map((p) => {
      const input = h('input', { type: 'radio', name: providerName, value: p.value, checked: (s.provider || 'local') === p.value });
      return [p.value, input, h('label', { class: 'choice' }, input, h('span', null, h('span', { class: 'choice-title' }, p.label), h('span', { class: 'choice-desc' }, p.desc)))];
    });
    const providerGroup = h('fieldset', { class: 'field' }, h('legend', { class: 'label' }, 'Who writes the replies'), h('div', { class: 'choice-grid' }, providerRadios.map((x) => x[2])));
    const baseUrl = field({ name: 'base_url', label: 'Base URL', value: s.base_url || '', spellcheck: 'false', autocomplete: 'off', hint: 'Leave empty for the provider’s own service.' });
    baseUrl.input.classList.add('input-mono');
    const model = field({ name: 'model', label: 'Model', value: s.model || '', spellcheck: 'false', autocomplete: 'off' });
    const smallModel = field({ name: 'small_model', label: 'Small model', value: s.small_model || '', spellcheck: 'false', autocomplete: 'off', hint: 'For simple questions. Leave empty to answer those with the built-in bot.' });
    const embeddings = field({ name: 'embeddings_model', label: 'Embeddings model', value: s.embeddings_model || '', spellcheck: 'false', autocomplete: 'off', placeholder: 'text-embedding-3-small', hint: 'Optional. Combined with keyword search to find knowledge-base entries.' });
    const azureOn = switchField({ name: 'azure', label: 'Azure OpenAI', desc: 'Address a deployment instead of a model; the base URL is your Azure resource.', checked: Boolean(s.azure) });
    const deployment = field({ name: 'azure.deployment', label: 'Deployment', value: (s.azure && s.azure.deployment) || '', spellcheck: 'false', autocomplete: 'off' });
    const apiVersion = field({ name: 'azure.api_version', label: 'API version', value: (s.azure && s.azure.api_version) || '2024-10-21', spellcheck: 'false', autocomplete: 'off' });
    const azureFields = h('div', { class: 'grid-2' }, deployment.el, apiVersion.el);
    const azureBlock = h('div', { class: 'sub-block' }, azureOn.el, azureFields);

    const apiKey = passwordField({ name: 'api_key', label: 'API key', autocomplete: 'new-password', spellcheck: 'false', placeholder: view.api_key_set ? 'Enter a new key to replace the stored one' : '', hint: 'Stored encrypted and never shown again.' });
    apiKey.input.setAttribute('autocomplete', 'new-password');
    apiKey.input.dataset.testid = 'api-key';
    let keyStatus = null;
    if (view.api_key_set) {
      const removeKey = button('Remove key', { variant: 'ghost', size: 'sm', className: 'btn-danger-text', attrs: { 'data-testid': 'remove-key' } });
      removeKey.addEventListener('click', () => removeStoredKey(view));
      keyStatus = h('div', { class: 'key-status', dataset: { testid: 'key-status' } }, h('span', { class: 'key-stored' }, icon('lock', { size: 14 }), 'A key is stored'), removeKey);
      apiKey.el.insertBefore(keyStatus, apiKey.el.children[1]);
    }

    const answerThreshold = numberField({ name: 'local.answer_threshold', label: 'Answer threshold', value: s.local.answer_threshold, min: 0, max: 1, step: 0.01, required: true, hint: 'How sure the built-in bot must be to answer, 0–1.' });
    const clarifyMargin = numberField({ name: 'local.clarify_margin', label: 'Clarify margin', value: s.local.clarify_margin, min: 0, max: 1, step: 0.01, required: true, hint: 'When two entries score this close, it asks which one the customer means.' });
    // Newer servers also have a threshold for when an embedding model matches by meaning.
    const hasSemantic = typeof s.local.semantic_threshold === 'number';
    const semanticThreshold = hasSemantic ? numberField({ name: 'local.semantic_threshold', label: 'Answer threshold by meaning', value: s.local.semantic_threshold, min: 0, max: 1, step: 0.01, required: true, hint: 'Used instead when an embedding model also matches by meaning, 0–1.' }) : null;
    const localBlock = h('div', { class: 'sub-block' }, h('h3', { class: 'sub-title' }, 'Built-in bot'), h('div', { class: 'grid-2' }, answerThreshold.el, clarifyMargin.el, semanticThreshold && semanticThreshold.el));
    const keyBlock = h('div', { class: 'sub-block' }, apiKey.el);

    /* behaviour */
    const personality = field({ name: 'personality', label: 'Personality', type: 'select', value: s.personality, options: [{ value: 'friendly', label: 'Friendly: warm and informal' }, { value: 'professional', label: 'Professional: courteous and precise' }, { value: 'casual', label: 'Casual: relaxed and brief' }] });
    const instructions = textarea({ name: 'instructions', label: 'Instructions', value: s.instructions || '', maxlength: 4000, placeholder: 'We sell outdoor gear. Never promise refunds outside the 30-day window.', hint: 'Tone, scope and facts for the model, added under the fixed system prompt. At most 4000 characters.' }, 4);
    const handoffConfidence = numberField({ name: 'handoff_confidence', label: 'Hand over below confidence', value: s.handoff_confidence, min: 0, max: 1, step: 0.05, required: true, hint: '0–1. The built-in bot answers from the knowledge base only when at least this sure; below it the conversation goes to people (or to the large model, in hybrid). Values under the answer threshold change nothing.' });
    const maxReplies = numberField({ name: 'max_bot_replies', label: 'Replies before handing over', value: s.max_bot_replies, min: 1, max: 100, step: 1, required: true, hint: 'After this many replies the conversation goes to your team.' });
    const delay = numberField({ name: 'response_delay_ms', label: 'Typing delay (ms)', value: s.response_delay_ms, min: 0, max: 10000, step: 100, required: true, hint: 'Typing is shown this long before each reply, so it does not feel instant.' });
    const toolRounds = numberField({ name: 'max_tool_rounds', label: 'Tool rounds per reply', value: s.max_tool_rounds, min: 0, max: 10, step: 1, required: true, hint: 'How often the model may look things up (orders, the knowledge base) per reply.' });
    const modelTimeout = numberField({ name: 'model_timeout_secs', label: 'Model timeout (seconds)', value: s.model_timeout_secs, min: 1, max: 300, step: 1, required: true, hint: 'How long the model may take to start answering (or pause mid-answer). A slower one is asked once more, then the customer gets the fallback message and a person. Raise it for a model running on a CPU.' });

    /* messages */
    const placeholderHint = ['Use ', h('code', null, '{{position}}'), ' for the place in line and ', h('code', null, '{{wait}}'), ' for the expected wait.'];
    const fallback = textarea({ name: 'fallback_message', label: 'When it cannot help', value: s.fallback_message || '', maxlength: 500, required: true });
    const handoffMsg = textarea({ name: 'handoff_message', label: 'When handing over', value: s.handoff_message || '', maxlength: 500, required: true, hint: placeholderHint });
    const offline = textarea({ name: 'offline_message', label: 'When nobody is available', value: s.offline_message || '', maxlength: 500, required: true, hint: 'Said instead of the handover message when no agent is available.' });
    // Spanish, the other language the built-in bot speaks: empty fields fall back to our own
    // Spanish wording while the English message is the default, else to the English message.
    const es = (s.translations && s.translations.es) || {};
    const esHint = 'Empty: our Spanish wording while the message above is the default, else the message above.';
    const esFallback = textarea({ name: 'translations.es.fallback_message', label: 'When it cannot help, in Spanish', value: es.fallback_message || '', maxlength: 500, hint: esHint });
    const esHandoff = textarea({ name: 'translations.es.handoff_message', label: 'When handing over, in Spanish', value: es.handoff_message || '', maxlength: 500, hint: esHint });
    const esOffline = textarea({ name: 'translations.es.offline_message', label: 'When nobody is available, in Spanish', value: es.offline_message || '', maxlength: 500, hint: esHint });

    /* languages */
    const languages = field({ name: 'languages', label: 'Languages', value: (s.languages || []).join(', '), required: true, spellcheck: 'false', placeholder: 'en, es', hint: 'Language tags it answers in, separated by commas. Conversations in other languages go straight to your team.' });
    const defaultLanguage = field({ name: 'default_language', label: 'Default language', value: s.default_language || 'en', required: true, spellcheck: 'false', hint: 'Assumed when a message does not show its language.' });

    /* budget and usage */
    const priceFields = [
      ['input_price_per_million', 'Prompt tokens, per million'],
      ['output_price_per_million', 'Reply tokens, per million'],
      ['small_input_price_per_million', 'Small model: prompt, per million'],
      ['small_output_price_per_million', 'Small model: reply, per million'],
    ].map(([name, label]) => [name, numberField({ name, label, value: s[name] || 0, min: 0, max: 10000, step: 0.01, required: true, hint: name.startsWith('small_') ? 'Hybrid only.' : 'Your currency; 0 leaves cost untracked.' })]);
    const budget = numberField({ name: 'monthly_token_budget', label: 'Monthly token budget', value: s.monthly_token_budget, min: 1, step: 1000, placeholder: 'No limit', hint: 'Tokens per calendar month (UTC). When they run out, conversations go to your team. Empty means no limit.' });
    const usageEl = usageView(usage || { tokens: view.tokens_this_month, models: [], budget: s.monthly_token_budget }, s.monthly_token_budget);

    /* order lookup */
    const lookup = s.order_lookup || null;
    const lookupOn = switchField({ name: 'order_lookup', label: 'Look up order status', desc: 'Model providers call your shop when a customer asks where their order is.', checked: Boolean(lookup), testid: 'order-lookup' });
    const lookupUrl = field({ name: 'order_lookup.url', label: 'Lookup URL', value: (lookup && lookup.url) || '', spellcheck: 'false', placeholder: 'https://shop.example/api/orders/{order_number}', hint: ['HTTPS, with ', h('code', null, '{order_number}'), ' where the order number goes.'] });
    lookupUrl.input.classList.add('input-mono');
    const lookupHosts = field({ name: 'order_lookup.allowed_hosts', label: 'Allowed hosts', value: ((lookup && lookup.allowed_hosts) || []).join(', '), spellcheck: 'false', placeholder: 'shop.example', hint: "Separated by commas. The URL's host must be one of them." });
    const lookupTimeout = numberField({ name: 'order_lookup.timeout_ms', label: 'Timeout (ms)', value: (lookup && lookup.timeout_ms) || 3000, min: 1, max: 10000, step: 100 });
    const lookupFields = h('div', { class: 'sub-fields' }, lookupUrl.el, h('div', { class: 'grid-2' }, lookupHosts.el, lookupTimeout.el));
    lookupUrl.input.addEventListener('change', () => {
      if (lookupHosts.input.value.trim()) return;
      try {
        lookupHosts.input.value = new URL(lookupUrl.input.value.trim().replace('{order_number}', '1')).host;
      } catch {
        /* not a URL yet */
      }
    });

    const modelRow = h('div', { class: 'grid-2' }, model.el, smallModel.el);
    const providerFields = h('div', { class: 'provider-fields' }, baseUrl.el, modelRow, embeddings.el, azureBlock, keyBlock, localBlock);

    const alertBox = formAlert();
    const dirtyEl = h('span', { class: 'save-state', 'aria-live': 'polite' }, 'Changes apply from the next customer message.');
    const save = button('Save changes', { variant: 'primary', type: 'submit', attrs: { 'data-testid': 'ai-save' } });
    const form = h(
      'form',
      { class: 'settings-form', novalidate: true, id: 'ai-settings-form', 'aria-label': 'AI agent settings' },
      section('assistant', 'Assistant', 'Switch it on and choose where and when it answers.', enabled.el, channels, hours.el, reopen.el, kbLine),
      section('provider', 'Provider', 'The built-in bot needs nothing else. A model provider writes freer answers from the same knowledge base.', providerGroup, providerFields),
      section('behaviour', 'Behaviour', 'How it sounds, how sure it must be, and when it stops.', personality.el, instructions.el, h('div', { class: 'grid-2' }, handoffConfidence.el, maxReplies.el, delay.el, toolRounds.el, modelTimeout.el)),
      section('messages', 'Messages', 'What customers read when the assistant cannot help or hands over, in the language they write in.', fallback.el, handoffMsg.el, offline.el, esFallback.el, esHandoff.el, esOffline.el),
      section('languages', 'Languages', null, h('div', { class: 'grid-2' }, languages.el, defaultLanguage.el)),
      section('budget', 'Usage and budget', 'Tokens used by model providers this month, and what they cost. The built-in bot uses none.', usageEl, budget.el, h('div', { class: 'grid-2' }, priceFields.map(([, f]) => f.el))),
      section('order-lookup', 'Order lookup', 'Lets the assistant answer “where is my order?” with your shop’s own data.', lookupOn.el, lookupFields),
      h('div', { class: 'save-bar' }, alertBox.el, h('div', { class: 'save-bar-row' }, dirtyEl, h('div', { class: 'toolbar-spacer' }), save)),
    );

    function provider() {
      return (providerRadios.find((x) => x[1].checked) || providerRadios[0])[1].value;
    }
    function sync() {
      const p = provider();
      const uses = (key) => USES[key].includes(p);
      baseUrl.el.hidden = !uses('base_url');
      model.el.hidden = !uses('model');
      smallModel.el.hidden = !uses('small_model');
      modelRow.hidden = model.el.hidden && smallModel.el.hidden;
      modelRow.classList.toggle('grid-2', !smallModel.el.hidden);
      embeddings.el.hidden = !uses('embeddings_model');
      azureBlock.hidden = !uses('azure');
      azureFields.hidden = !azureOn.input.checked;
      keyBlock.hidden = !uses('api_key');
      localBlock.hidden = !uses('local');
      toolRounds.el.hidden = !uses('max_tool_rounds');
      modelTimeout.el.hidden = !uses('model_timeout_secs');
      instructions.el.hidden = !uses('instructions');
      const ph = PLACEHOLDERS[p] || {};
      baseUrl.input.placeholder = ph.base_url || '';
      model.input.placeholder = ph.model || '';
      model.el.querySelector('.label').firstChild.textContent = p === 'hybrid' ? 'Large model' : azureOn.input.checked ? 'Model (optional with Azure)' : 'Model';
      baseUrl.el.querySelector('.field-hint').textContent = p === 'anthropic' ? 'Leave empty for api.anthropic.com.' : 'Leave empty for api.openai.com. For your own server, e.g. http://localhost:11434/v1 (Ollama).';
      lookupFields.hidden = !lookupOn.input.checked;
    }
    for (const [, input] of providerRadios) input.addEventListener('change', sync);
    azureOn.input.addEventListener('change', sync);
    lookupOn.input.addEventListener('change', sync);
    sync();

    let dirty = false;
    const markDirty = () => {
      if (dirty) return;
      dirty = true;
      dirtyEl.textContent = 'Unsaved changes';
      dirtyEl.classList.add('is-dirty');
    };
    form.addEventListener('input', markDirty);
    form.addEventListener('change', markDirty);

    const fields = {
      model,
      base_url: baseUrl,
      small_model: smallModel,
      embeddings_model: embeddings,
      'azure.deployment': deployment,
      'azure.api_version': apiVersion,
      azure: deployment,
      api_key: apiKey,
      'local.answer_threshold': answerThreshold,
      'local.clarify_margin': clarifyMargin,
      ...(semanticThreshold ? { 'local.semantic_threshold': semanticThreshold } : {}),
      personality,
      instructions,
      handoff_confidence: handoffConfidence,
      max_bot_replies: maxReplies,
      response_delay_ms: delay,
      max_tool_rounds: toolRounds,
      model_timeout_secs: modelTimeout,
      fallback_message: fallback,
      handoff_message: handoffMsg,
      offline_message: offline,
      'translations.es.fallback_message': esFallback,
      'translations.es.handoff_message': esHandoff,
      'translations.es.offline_message': esOffline,
      ...Object.fromEntries(priceFields),
      languages,
      default_language: defaultLanguage,
      monthly_token_budget: budget,
      'order_lookup.url': lookupUrl,
      'order_lookup.allowed_hosts': lookupHosts,
      'order_lookup.timeout_ms': lookupTimeout,
      order_lookup: lookupUrl,
      ...hours.fields,
      ...hoursFields(hours.fields),
    };

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      channelsError.hidden = true;
      for (const f of Object.values(fields)) f.clearError();
      const errors = [];
      const text = (f, fallbackValue) => (isVisible(f.el) ? f.input.value.trim() : fallbackValue);
      const optional = (f, fallbackValue) => {
        const v = text(f, fallbackValue);
        return v === null || v === undefined || v === '' ? null : v;
      };
      const num = (f, fallbackValue, { min, max, integer = false, allowEmpty = false } = {}) => {
        if (!isVisible(f.el)) return fallbackValue;
        const raw = f.input.value.trim();
        if (!raw) {
          if (allowEmpty) return null;
          errors.push([f, 'Enter a number.']);
          return fallbackValue;
        }
        const n = Number(raw);
        if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) errors.push([f, integer ? 'Enter a whole number.' : 'Enter a number.']);
        else if ((min !== undefined && n < min) || (max !== undefined && n > max)) errors.push([f, max === undefined ? `Use ${min} or more.` : `Use a number from ${min} to ${max}.`]);
        return n;
      };
      const p = provider();
      const chosenChannels = channelBoxes.filter(([, box]) => box.checked).map(([value]) => value);
      const langs = languages.input.value.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
      const badLang = langs.find((l) => !/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(l));
      if (!langs.length) errors.push([languages, 'Name at least one language, like en.']);
      else if (badLang) errors.push([languages, `“${badLang}” is not a language tag like en or es-MX.`]);
      const defLang = defaultLanguage.input.value.trim();
      if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(defLang)) errors.push([defaultLanguage, 'Use a language tag like en.']);

      let orderLookup = null;
      if (lookupOn.input.checked) {
        const url = lookupUrl.input.value.trim();
        if (!/^https:\/\//i.test(url)) errors.push([lookupUrl, 'Use an https:// URL.']);
        else if (!url.includes('{order_number}')) errors.push([lookupUrl, 'Put {order_number} where the order number goes.']);
        const hosts = lookupHosts.input.value.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
        if (!hosts.length) errors.push([lookupHosts, 'Name the host the URL calls.']);
        orderLookup = { ...(lookup || {}), url, allowed_hosts: hosts, timeout_ms: num(lookupTimeout, 3000, { min: 1, max: 10000, integer: true }) };
      }
      let azure = s.azure || null;
      if (isVisible(azureBlock)) {
        azure = null;
        if (azureOn.input.checked) {
          const dep = deployment.input.value.trim();
          const ver = apiVersion.input.value.trim();
          if (!dep) errors.push([deployment, 'Name the deployment.']);
          if (!ver) errors.push([apiVersion, 'Give the API version, like 2024-10-21.']);
          azure = { ...(s.azure || {}), deployment: dep, api_version: ver };
        }
      }
      const hoursPart = hours.read();
      if (!hoursPart) return;
      const settings = {
        ...s,
        business_hours: hoursPart.business_hours,
        enabled: enabled.input.checked,
        provider: p,
        channels: chosenChannels,
        reopen_to_bot: reopen.input.checked,
        base_url: optional(baseUrl, s.base_url),
        model: text(model, s.model || ''),
        small_model: optional(smallModel, s.small_model),
        embeddings_model: optional(embeddings, s.embeddings_model),
        azure,
        local: {
          ...s.local,
          answer_threshold: num(answerThreshold, s.local.answer_threshold, { min: 0, max: 1 }),
          clarify_margin: num(clarifyMargin, s.local.clarify_margin, { min: 0, max: 1 }),
          ...(semanticThreshold ? { semantic_threshold: num(semanticThreshold, s.local.semantic_threshold, { min: 0, max: 1 }) } : {}),
        },
        personality: personality.input.value,
        instructions: isVisible(instructions.el) ? instructions.input.value.trim() : s.instructions,
        handoff_confidence: num(handoffConfidence, s.handoff_confidence, { min: 0, max: 1 }),
        max_bot_replies: num(maxReplies, s.max_bot_replies, { min: 1, max: 100, integer: true }),
        response_delay_ms: num(delay, s.response_delay_ms, { min: 0, max: 10000, integer: true }),
        max_tool_rounds: num(toolRounds, s.max_tool_rounds, { min: 0, max: 10, integer: true }),
        model_timeout_secs: num(modelTimeout, s.model_timeout_secs, { min: 1, max: 300, integer: true }),
        fallback_message: fallback.input.value.trim(),
        handoff_message: handoffMsg.input.value.trim(),
        offline_message: offline.input.value.trim(),
        translations: (() => {
          const out = { ...(s.translations || {}) };
          const spanish = { fallback_message: esFallback.input.value.trim() || null, handoff_message: esHandoff.input.value.trim() || null, offline_message: esOffline.input.value.trim() || null };
          if (Object.values(spanish).some(Boolean)) out.es = spanish;
          else delete out.es;
          return out;
        })(),
        ...Object.fromEntries(priceFields.map(([name, f]) => [name, num(f, s[name] || 0, { min: 0, max: 10000 })])),
        languages: langs,
        default_language: defLang,
        monthly_token_budget: num(budget, s.monthly_token_budget, { min: 1, integer: true, allowEmpty: true }),
        order_lookup: orderLookup,
      };
      for (const f of [fallback, handoffMsg, offline]) if (!f.input.value.trim()) errors.push([f, 'Write the message.']);
      if (settings.enabled && !chosenChannels.length) {
        channelsError.replaceChildren(icon('alert', { size: 14 }), document.createTextNode('Pick at least one channel, or switch the assistant off.'));
        channelsError.hidden = false;
        if (!errors.length) return channelBoxes[0][1].focus();
      }
      for (const [f, msg] of errors) f.setError(msg);
      if (errors.length) return errors[0][0].input.focus();
      if (!channelsError.hidden) return;

      const body = { settings };
      const key = isVisible(keyBlock) ? apiKey.input.value.trim() : '';
      if (key) body.api_key = key;
      setBusy(save, true);
      try {
        const saved = await api.put(`${base}/ai`, body);
        toast.success(saved.settings.enabled ? 'AI agent settings saved. The assistant is answering.' : 'AI agent settings saved.');
        const freshUsage = await api.get(`${base}/ai/usage`, { signal }).catch(() => usage);
        renderForm(saved, freshUsage, kbTotal);
        formSlot.querySelector('[data-testid="ai-save"]')?.focus({ preventScroll: true });
      } catch (err) {
        setBusy(save, false);
        if (err.name === 'AbortError') return;
        showApiError(err, fields, alertBox);
      }
    });

    mount(formSlot, form);
  }

  function usageView(usage, budgetValue) {
    const tokens = Number(usage.tokens) || 0;
    const budget = usage.budget ?? budgetValue ?? null;
    const share = budget ? Math.min(1, tokens / budget) : 0;
    const fill = h('span', { class: ['usage-fill', share >= 0.9 ? 'is-bad' : share >= 0.75 ? 'is-warn' : null] });
    fill.style.width = `${(share * 100).toFixed(1)}%`;
    const label = budget ? `${numberFormat.format(tokens)} of ${numberFormat.format(budget)} tokens (${Math.round(share * 100)}%)` : `${numberFormat.format(tokens)} tokens, no monthly limit`;
    const bar = h('div', { class: 'usage-bar', role: 'progressbar', 'aria-label': 'Tokens used this month', 'aria-valuemin': '0', 'aria-valuemax': String(budget || Math.max(tokens, 1)), 'aria-valuenow': String(tokens), 'aria-valuetext': label }, fill);
    const models = Array.isArray(usage.models) ? usage.models : [];
    return h(
      'div',
      { class: 'usage', dataset: { testid: 'ai-usage' } },
      h('div', { class: 'usage-top' }, h('span', { class: 'usage-title' }, usage.month ? `This month (${usage.month})` : 'This month'), h('span', { class: 'usage-figure' }, label)),
      budget ? bar : null,
      models.length
        ? h(
            'div',
            { class: 'table-wrap usage-table' },
            h(
              'table',
              { class: 'table table-compact' },
              h('caption', { class: 'sr-only' }, 'Usage by model'),
              h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col', class: 'num' }, 'Requests'), h('th', { scope: 'col', class: 'num' }, 'Input tokens'), h('th', { scope: 'col', class: 'num' }, 'Output tokens'), h('th', { scope: 'col', class: 'num' }, 'Est. cost'))),
              h(
                'tbody',
                null,
                models.map((m) =>
                  h(
                    'tr',
                    null,
                    h('td', { class: 'mono' }, m.model === 'local' ? 'Built-in bot' : m.model),
                    h('td', { class: 'num', 'data-label': 'Requests' }, numberFormat.format(m.requests)),
                    h('td', { class: 'num', 'data-label': 'Input tokens' }, numberFormat.format(m.input_tokens)),
                    h('td', { class: 'num', 'data-label': 'Output tokens' }, numberFormat.format(m.output_tokens)),
                    h('td', { class: 'num', 'data-label': 'Est. cost' }, (Number(m.cost_micros) / 1e6).toFixed(4)),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'field-hint' }, 'No model requests this month.'),
    );
  }

  async function removeStoredKey(view) {
    await confirmDialog({
      title: 'Remove the API key?',
      message: 'The stored key is deleted. A provider that needs one stops answering until you enter a new key.',
      confirmLabel: 'Remove key',
      danger: true,
      action: async () => {
        const saved = await api.put(`${base}/ai`, { settings: view.settings, api_key: '' });
        toast.success('The API key was removed.');
        const usage = await api.get(`${base}/ai/usage`, { signal }).catch(() => null);
        const kb = await api.get(`${base}/knowledge-base`, { signal, query: { limit: 1 } }).catch(() => null);
        renderForm(saved, usage, kb ? kb.total : null);
      },
    });
  }

  /* ------------------------------------------------------ handoff rules */

  let rules = [];
  let builtIn = false;

  async function loadRules() {
    mount(rulesSlot, skeletonRows(3));
    try {
      const res = await api.get(`${base}/handoff-rules`, { signal });
      rules = (res && res.items) || [];
      builtIn = Boolean(res && res.built_in);
      renderRules();
    } catch (err) {
      if (err.name === 'AbortError') return;
      mount(rulesSlot, errorState({ title: "Couldn't load the handoff rules", message: err.message, onRetry: loadRules }));
    }
  }

  function queueName(id) {
    if (id === null || id === undefined) return 'Its own queue';
    const q = queues.find((x) => x.id === id);
    return q ? q.name : `Queue #${id}`;
  }

  function renderRules() {
    rulesNote.hidden = !builtIn;
    if (!rules.length) {
      const first = button('Add the first rule', { variant: 'primary', iconName: 'plus' });
      first.addEventListener('click', () => openRule(null));
      mount(rulesSlot, emptyState({ iconName: 'bot', title: 'No handoff rules', message: 'Without rules the assistant hands over only when it cannot answer or runs out of replies.', action: first }));
      return;
    }
    const sorted = rules.slice().sort((a, b) => a.priority - b.priority || a.id - b.id);
    mount(
      rulesSlot,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table table-rules' },
          h('caption', { class: 'sr-only' }, 'Handoff rules, by priority'),
          h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'col-priority' }, 'Priority'), h('th', { scope: 'col' }, 'Rule'), h('th', { scope: 'col' }, 'Sends to'), h('th', { scope: 'col', class: 'col-active' }, 'Active'), h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
          h('tbody', null, sorted.map(ruleRow)),
        ),
      ),
    );
  }

  function ruleRow(r) {
    const more = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Actions for ${r.name}` }, icon('more', { size: 18 }));
    dropdown(more, () => [
      { label: 'Edit rule', icon: 'edit', onSelect: () => openRule(r) },
      'separator',
      { label: 'Delete rule', icon: 'trash', danger: true, onSelect: () => removeRule(r) },
    ]);
    const name = h('button', { type: 'button', class: 'link-btn user-name' }, r.name);
    name.addEventListener('click', () => openRule(r));
    const toggleId = uid('rule-active');
    const toggle = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id: toggleId, checked: r.active, 'aria-label': `${r.name} is active` });
    toggle.addEventListener('change', () => setRuleActive(r, toggle));
    return h(
      'tr',
      { dataset: { ruleId: String(r.id) }, class: [!r.active && 'is-inactive'] },
      h('td', { class: 'col-priority', 'data-label': 'Priority' }, h('span', { class: 'priority-num' }, String(r.priority))),
      h('td', { class: 'col-name' }, h('div', { class: 'user-cell-text' }, h('span', { class: 'rule-name' }, name, builtIn ? h('span', { class: 'tag', dataset: { testid: 'built-in' } }, 'Built-in') : null), h('span', { class: 'user-email' }, conditionText(r.condition)))),
      h('td', { 'data-label': 'Sends to' }, queueName(r.queue_id), r.route_priority !== null && r.route_priority !== undefined ? h('span', { class: 'muted' }, ` · priority ${r.route_priority}`) : null),
      h('td', { class: 'col-active', 'data-label': 'Active' }, h('label', { class: 'switch switch-compact', for: toggleId }, toggle, h('span', { class: 'switch-track', 'aria-hidden': 'true' }))),
      h('td', { class: 'col-actions' }, h('div', { class: 'menu-anchor' }, more)),
    );
  }

  function ruleBody(r, changes = {}) {
    return {
      name: r.name,
      condition: r.condition,
      priority: r.priority,
      queue_id: r.queue_id ?? null,
      route_priority: r.route_priority ?? null,
      message: r.message ?? null,
      active: r.active,
      ...changes,
    };
  }

  async function setRuleActive(r, toggle) {
    toggle.disabled = true;
    try {
      await api.put(`${base}/handoff-rules/${seg(r.id)}`, ruleBody(r, { active: toggle.checked }));
      toast.success(toggle.checked ? `“${r.name}” is active.` : `“${r.name}” is paused.`);
      await loadRules();
    } catch (err) {
      toggle.checked = !toggle.checked;
      toggle.disabled = false;
      toast.error(`Couldn't change the rule: ${err.message}`);
    }
  }

  function openRule(r) {
    const c = (r && r.condition) || { kind: 'keyword', words: [] };
    const name = field({ name: 'name', label: 'Name', value: r ? r.name : '', required: true, placeholder: 'Refund requests', hint: 'Shown to your team with the conversation.' });
    name.input.maxLength = 100;
    const kind = field({ name: 'condition.kind', label: 'Hand over when', type: 'select', value: c.kind, options: CONDITIONS, required: true });
    kind.input.dataset.testid = 'rule-kind';
    const words = textarea({ name: 'condition.words', label: 'Words or phrases', value: (c.words || []).join('\n'), required: true, placeholder: 'refund\nspeak to a manager', hint: 'One per line. Matched ignoring case and accents, on whole words.' }, 4);
    const intents = field({ name: 'condition.intents', label: 'Intents', value: (c.intents || []).join(', '), required: true, placeholder: 'returns, orders', hint: 'Knowledge-base categories (like returns) or agent, separated by commas.' });
    const atMost = numberField({ name: 'condition.at_most', label: 'Sentiment at most', value: c.at_most ?? -0.5, min: -1, max: 1, step: 0.1, required: true, hint: 'From -1 (furious) through 0 (neutral) to 1 (delighted). -0.5 is clearly unhappy.' });
    const consecutive = numberField({ name: 'condition.consecutive', label: 'Messages in a row', value: c.consecutive ?? 1, min: 1, step: 1, required: true });
    const secs = numberField({ name: 'condition.secs', label: 'Seconds of silence', value: c.secs ?? 300, min: 1, step: 1, required: true });
    const below = numberField({ name: 'condition.below', label: 'Confidence below', value: c.below ?? 0.4, min: 0, max: 1, step: 0.05, required: true, hint: '0–1: how sure the assistant is of the answer it would give.' });
    const turns = numberField({ name: 'condition.turns', label: 'Replies from the assistant', value: c.turns ?? 5, min: 1, step: 1, required: true });
    const explicitNote = h('p', { class: 'field-hint' }, 'Matches messages like “can I talk to a person?” or “agent, please”, in the languages the assistant speaks.');
    const kindFields = {
      keyword: [words.el],
      intent: [intents.el],
      sentiment: [h('div', { class: 'grid-2' }, atMost.el, consecutive.el)],
      inactivity: [secs.el],
      confidence: [below.el],
      max_bot_turns: [turns.el],
      explicit_request: [explicitNote],
    };
    const conditionSlot = h('div', { class: 'condition-fields' });
    const syncKind = () => mount(conditionSlot, kindFields[kind.input.value] || []);
    kind.input.addEventListener('change', syncKind);
    syncKind();

    const priority = numberField({ name: 'priority', label: 'Priority', value: r ? r.priority : 100, step: 1, required: true, hint: 'Lower numbers are checked first.' });
    const queue = field({ name: 'queue_id', label: 'Send to', type: 'select', value: r && r.queue_id != null ? String(r.queue_id) : '', options: [{ value: '', label: 'The conversation’s own queue' }, ...queues.map((q) => ({ value: String(q.id), label: q.name }))] });
    const routePriority = numberField({ name: 'route_priority', label: 'Routing priority', value: r ? r.route_priority : null, min: 0, max: 100, step: 1, placeholder: 'Queue default', hint: '0–100. Empty keeps the queue’s default.' });
    const message = textarea({ name: 'message', label: 'Message to the customer', value: (r && r.message) || '', maxlength: 500, placeholder: 'Leave empty for the handover message in the settings', hint: ['Optional. ', h('code', null, '{{position}}'), ', ', h('code', null, '{{wait}}'), ' and ', h('code', null, '{{queue}}'), ' work.'] }, 2);
    const active = switchField({ name: 'active', label: 'Active', desc: 'Paused rules are kept but not checked.', checked: r ? r.active : true });

    const alertBox = formAlert();
    const submit = button(r ? 'Save rule' : 'Add rule', { variant: 'primary', type: 'submit' });
    const cancel = button('Cancel');
    const formId = r ? 'edit-rule-form' : 'new-rule-form';
    const form = h(
      'form',
      { class: 'dialog-form', id: formId, novalidate: true },
      alertBox.el,
      builtIn ? h('p', { class: 'callout callout-info' }, icon('info', { size: 16 }), h('span', null, 'Saving stores the built-in rules as your own, with this change.')) : null,
      name.el,
      kind.el,
      conditionSlot,
      h('div', { class: 'grid-2' }, priority.el, queue.el),
      routePriority.el,
      message.el,
      active.el,
    );
    submit.setAttribute('form', formId);
    const dlg = openDialog({ title: r ? 'Edit handoff rule' : 'New handoff rule', body: form, footer: [cancel, submit], size: 'lg', initialFocus: () => name.input });
    cancel.addEventListener('click', () => dlg.close());

    const numberOf = (f, { min, max, integer = true } = {}) => {
      const raw = f.input.value.trim();
      const n = Number(raw);
      if (!raw || !Number.isFinite(n) || (integer && !Number.isInteger(n))) return [null, integer ? 'Enter a whole number.' : 'Enter a number.'];
      if ((min !== undefined && n < min) || (max !== undefined && n > max)) return [null, max === undefined ? `Use ${min} or more.` : `Use a number from ${min} to ${max}.`];
      return [n, null];
    };

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alertBox.clear();
      const errors = [];
      const need = (f, opts) => {
        const [n, msg] = numberOf(f, opts);
        if (msg) errors.push([f, msg]);
        return n;
      };
      if (!name.input.value.trim()) errors.push([name, 'Give the rule a name.']);
      const k = kind.input.value;
      let condition = { kind: k };
      if (k === 'keyword') {
        const list = words.input.value.split('\n').map((x) => x.trim()).filter(Boolean);
        if (!list.length) errors.push([words, 'Add at least one word or phrase.']);
        condition.words = list;
      } else if (k === 'intent') {
        const list = intents.input.value.split(',').map((x) => x.trim()).filter(Boolean);
        if (!list.length) errors.push([intents, 'Add at least one intent.']);
        condition.intents = list;
      } else if (k === 'sentiment') {
        condition = { kind: k, at_most: need(atMost, { min: -1, max: 1, integer: false }), consecutive: need(consecutive, { min: 1 }) };
      } else if (k === 'inactivity') {
        condition.secs = need(secs, { min: 1 });
      } else if (k === 'confidence') {
        condition.below = need(below, { min: 0, max: 1, integer: false });
      } else if (k === 'max_bot_turns') {
        condition.turns = need(turns, { min: 1 });
      }
      const prio = need(priority, {});
      let route = null;
      if (routePriority.input.value.trim()) route = need(routePriority, { min: 0, max: 100 });
      for (const [f, msg] of errors) f.setError(msg);
      if (errors.length) return errors[0][0].input.focus();
      const body = {
        name: name.input.value.trim(),
        condition,
        priority: prio,
        queue_id: queue.input.value ? Number(queue.input.value) : null,
        route_priority: route,
        message: message.input.value.trim() || null,
        active: active.input.checked,
      };
      setBusy(submit, true);
      try {
        if (r) await api.put(`${base}/handoff-rules/${seg(r.id)}`, body);
        else await api.post(`${base}/handoff-rules`, body);
        dlg.close(true);
        toast.success(r ? `“${body.name}” was saved.` : `“${body.name}” was added.`);
        await loadRules();
      } catch (err) {
        setBusy(submit, false);
        showApiError(err, { name, 'condition.words': words, 'condition.intents': intents, 'condition.at_most': atMost, 'condition.consecutive': consecutive, 'condition.secs': secs, 'condition.below': below, 'condition.turns': turns, priority, queue_id: queue, route_priority: routePriority, message }, alertBox);
      }
    });
  }

  async function removeRule(r) {
    await confirmDialog({
      title: `Delete “${r.name}”?`,
      message: builtIn ? 'The other built-in rules are kept as your own; this one is gone.' : 'Conversations that match it stay with the assistant.',
      confirmLabel: 'Delete rule',
      danger: true,
      action: async () => {
        await api.del(`${base}/handoff-rules/${seg(r.id)}`);
        toast.success(`“${r.name}” was deleted.`);
        await loadRules();
      },
    });
  }

  await Promise.all([load(), loadRules()]);
}
