// The AI agent end to end, in a fresh tenant: its admin imports the evaluation knowledge base
// through the Knowledge base page and switches the assistant on from the AI agent page; a
// visitor on a third-party page asks a question the assistant answers, then asks for a
// person; the agent is offered the conversation and finds the assistant's handoff card and
// Assist suggestions in the inbox. Also: "Try a question", an import with a bad row, a
// server-side settings error on its field, and the handoff-rule editor.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, newPage, loginAndWait, env, unique, screenshot, ARTIFACTS } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const KB_FILE = path.join(here, '../data/ai-eval/kb.json');
const PASSWORD = 'ai-test-pass-1';

let browser;
let site;
let siteUrl;
let setup; // { tid, adminEmail, agentEmail, agentId, widget }

async function apiLogin(context, email, password) {
  const res = await context.request.post('/api/v1/auth/login', { data: { email, password } });
  assert.equal(res.status(), 200, await res.text());
  const me = await res.json();
  return { me, headers: { 'X-CSRF-Token': me.csrf_token } };
}

before(async () => {
  browser = await launch();
  // The operator creates the tenant with an admin and an agent.
  const opCtx = await browser.newContext({ baseURL: env.url });
  try {
    const { headers } = await apiLogin(opCtx, env.adminEmail, env.adminPassword);
    const suffix = unique();
    const t = await opCtx.request.post('/api/v1/tenants', { headers, data: { name: `Acme Outfitters ${suffix}`, slug: `acme-${suffix}` } });
    assert.equal(t.status(), 201, await t.text());
    const tid = (await t.json()).id;
    const adminEmail = `ai-admin-${suffix}@example.com`;
    const agentEmail = `ai-agent-${suffix}@example.com`;
    const a = await opCtx.request.post(`/api/v1/tenants/${tid}/users`, { headers, data: { email: adminEmail, name: 'Ada Admin', role: 'admin', password: PASSWORD } });
    assert.equal(a.status(), 201, await a.text());
    const g = await opCtx.request.post(`/api/v1/tenants/${tid}/users`, { headers, data: { email: agentEmail, name: 'Gus Agent', role: 'agent', password: PASSWORD } });
    assert.equal(g.status(), 201, await g.text());
    setup = { tid, adminEmail, agentEmail, agentId: (await g.json()).user.id };
  } finally {
    await opCtx.close();
  }

  site = http.createServer((req, res) => {
    const sb = new URL(env.url);
    const wid = new URL(req.url, 'http://x').searchParams.get('w') || '';
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': `default-src 'self'; script-src ${sb.origin}; connect-src ${sb.origin} ws://${sb.host} wss://${sb.host}; img-src 'self' ${sb.origin}`,
    });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Outfitters</title></head><body><h1>Acme Outfitters</h1><p>Gear for every trail.</p><script src="${env.url}/widget.js" data-widget="${wid}" async></script></body></html>`);
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${site.address().port}/`;
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (site ? site.close(resolve) : resolve()));
});

/** A visitor's browser on the host site. */
async function visitorPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/favicon/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  return { context, page, problems };
}

async function visitorSend(page, text) {
  const host = page.locator('switchboard-widget');
  const input = host.getByRole('textbox', { name: 'Message' });
  await input.fill(text);
  await input.press('Enter');
  await page.waitForFunction((t) => {
    const root = document.querySelector('switchboard-widget').shadowRoot;
    const rows = [...root.querySelectorAll('.r.c')].filter((r) => r.querySelector('.b').textContent === t);
    return rows.length === 1 && !rows[0].classList.contains('pend');
  }, text);
}

test('an admin imports the knowledge base and switches the assistant on; it answers a visitor, then hands over to an agent with a summary and suggestions', async () => {
  const admin = await newPage(browser);
  const agent = await newPage(browser);
  const visitor = await visitorPage();
  const { page } = admin;
  const cleanup = [];
  try {
    /* The knowledge base, imported from the evaluation file through the dialog. */
    await loginAndWait(page, setup.adminEmail, PASSWORD);
    const nav = page.getByRole('navigation', { name: 'Primary' });
    await nav.getByRole('link', { name: 'Knowledge base' }).click();
    await page.getByRole('heading', { level: 1, name: 'Knowledge base' }).waitFor();
    await page.getByText('No entries yet').waitFor();
    await page.getByTestId('kb-import').click();
    const importDialog = page.getByRole('dialog', { name: 'Import entries' });
    await importDialog.getByLabel('File', { exact: true }).setInputFiles(KB_FILE);
    await importDialog.getByRole('button', { name: 'Import' }).click();
    await importDialog.waitFor({ state: 'detached' });
    await page.getByText('Imported 48 entries.').waitFor();
    await page.locator('tr[data-slug="returns-window"]').waitFor();
    assert.equal(await page.locator('.toolbar-count').innerText(), '48 entries');
    // Filters narrow the list.
    await page.getByLabel('Category', { exact: true }).selectOption('returns');
    assert.equal(await page.locator('.toolbar-count').innerText(), '8 of 48 entries');
    await page.getByLabel('Category', { exact: true }).selectOption('');
    await page.waitForTimeout(200);
    await screenshot(page, 'knowledge-base');

    /* The AI agent page: a provider without its key is refused on the key field; then on. */
    await nav.getByRole('link', { name: 'AI agent' }).click();
    await page.getByRole('heading', { level: 1, name: 'AI agent' }).waitFor();
    await page.getByTestId('ai-status').getByText('Off').waitFor();
    await page.getByText('It answers from 48 knowledge-base entries.').waitFor();
    const before = await page.evaluate(async (tid) => (await (await fetch(`/api/v1/tenants/${tid}/ai`)).json()).settings, setup.tid);
    await page.getByRole('radio', { name: /Anthropic/ }).check();
    await page.getByLabel('Model', { exact: true }).fill('claude-3-5-haiku-latest');
    // A model's settings show with a model provider: the timeout for a slow one among them.
    const timeout = page.getByLabel('Model timeout (seconds)');
    assert.equal(await timeout.inputValue(), '25');
    await timeout.fill('40');
    await page.getByTestId('ai-save').click();
    const keyField = page.locator('.field', { has: page.getByTestId('api-key') });
    await keyField.getByText('Anthropic needs an API key.').waitFor();
    assert.equal(await page.getByTestId('api-key').getAttribute('aria-invalid'), 'true');
    assert.ok(await page.getByTestId('api-key').evaluate((el) => el === document.activeElement), 'the key field has the focus');
    await page.getByRole('radio', { name: /Built-in/ }).check();
    assert.ok(await timeout.isHidden(), 'the built-in bot has no model to wait for');
    await page.getByRole('switch', { name: /Answer new conversations/ }).check();
    await page.getByTestId('ai-save').click();
    await page.getByTestId('ai-status').getByText('Answering customers').waitFor();
    const stored = await page.evaluate(async (tid) => (await (await fetch(`/api/v1/tenants/${tid}/ai`)).json()).settings, setup.tid);
    assert.equal(stored.enabled, true);
    assert.equal(stored.provider, 'local');
    assert.equal(stored.model_timeout_secs, 25, 'a hidden field is not saved: the stored value stays');
    assert.deepEqual(stored.channels, ['widget']);
    assert.deepEqual(stored.local, before.local, 'settings the form does not change are kept');
    assert.equal(stored.handoff_message, before.handoff_message);

    /* A Spanish handover message and the model's price are saved with the rest. */
    await page.getByLabel('When handing over, in Spanish').fill('Enseguida te atiende alguien del equipo.');
    await page.getByLabel('Prompt tokens, per million').fill('2.5');
    await page.getByTestId('ai-save').click();
    let saved = null;
    for (let i = 0; i < 100 && !(saved && saved.input_price_per_million === 2.5); i++) {
      await page.waitForTimeout(100);
      saved = await page.evaluate(async (tid) => (await (await fetch(`/api/v1/tenants/${tid}/ai`)).json()).settings, setup.tid);
    }
    assert.equal(saved.input_price_per_million, 2.5);
    assert.deepEqual(saved.translations, { es: { fallback_message: null, handoff_message: 'Enseguida te atiende alguien del equipo.', offline_message: null } });
    assert.equal(saved.handoff_message, before.handoff_message, 'the English message is unchanged');

    /* Business hours: on, saved with the page's default windows in the browser's time zone; then off again. */
    const hoursBox = page.getByLabel('Only take new conversations at set hours');
    await hoursBox.check();
    await page.getByLabel('Monday').fill('08:00-12:00, 13:00-18:00');
    await page.getByTestId('ai-save').click();
    let hoursSaved = null;
    for (let i = 0; i < 100 && !(hoursSaved && hoursSaved.business_hours); i++) {
      await page.waitForTimeout(100);
      hoursSaved = await page.evaluate(async (tid) => (await (await fetch(`/api/v1/tenants/${tid}/ai`)).json()).settings, setup.tid);
    }
    assert.deepEqual(hoursSaved.business_hours.weekly.mon, ['08:00-12:00', '13:00-18:00']);
    assert.deepEqual(hoursSaved.business_hours.weekly.tue, ['09:00-17:00']);
    assert.ok(hoursSaved.business_hours.timezone, 'a time zone');
    await hoursBox.uncheck();
    await page.getByTestId('ai-save').click();
    for (let i = 0; i < 100 && hoursSaved.business_hours; i++) {
      await page.waitForTimeout(100);
      hoursSaved = await page.evaluate(async (tid) => (await (await fetch(`/api/v1/tenants/${tid}/ai`)).json()).settings, setup.tid);
    }
    assert.equal(hoursSaved.business_hours, null, 'off again: the assistant answers at any hour');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(200);
    await screenshot(page, 'ai-agent');
    await page.screenshot({ path: path.join(ARTIFACTS, 'ai-agent-full.png'), fullPage: true });

    /* A queue with the agent and a widget on it (API, as the admin). */
    const apiCtx = await browser.newContext({ baseURL: env.url });
    cleanup.push(() => apiCtx.close());
    const { headers } = await apiLogin(apiCtx, setup.adminEmail, PASSWORD);
    const q = await apiCtx.request.post(`/api/v1/tenants/${setup.tid}/queues`, { headers, data: { name: 'Support', members: [{ user_id: setup.agentId }] } });
    assert.equal(q.status(), 201, await q.text());
    const queueId = (await q.json()).id;
    const w = await apiCtx.request.post(`/api/v1/tenants/${setup.tid}/widgets`, { headers, data: { name: 'Shop', queue_id: queueId, settings: { title: 'Acme help', welcome_message: 'Hi! Ask us anything.' } } });
    assert.equal(w.status(), 201, await w.text());
    const widget = await w.json();

    /* The agent is available in the inbox. */
    await loginAndWait(agent.page, setup.agentEmail, PASSWORD);
    await agent.page.goto('/#/inbox');
    await agent.page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
    await agent.page.getByTestId('presence-switch').click();
    await agent.page.getByRole('menuitemradio', { name: /Available/ }).click();
    await agent.page.getByTestId('presence-switch').filter({ hasText: 'Available' }).waitFor();
    await agent.page.locator('.conn-live').waitFor({ state: 'attached' });

    /* The visitor asks; the assistant answers from the knowledge base. */
    await visitor.page.goto(`${siteUrl}?w=${widget.public_id}`);
    const host = visitor.page.locator('switchboard-widget');
    await host.locator('button.l').click();
    await host.getByText('Acme help').waitFor();
    await visitorSend(visitor.page, 'How many days do I have to return an item?');
    const botAnswer = host.locator('.r.a .b', { hasText: 'within 60 days of delivery' });
    await botAnswer.waitFor({ timeout: 15_000 });

    /* The admin finds it under "Bot" in the inbox, with the badge and the assistant's reply. */
    await page.goto('/#/inbox');
    await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
    await page.getByRole('tab', { name: 'Bot' }).click();
    const botRow = page.locator('.conv-row', { has: page.getByTestId('bot-badge') }).first();
    await botRow.waitFor();
    await botRow.click();
    await page.locator('.thread-sub').getByTestId('bot-badge').waitFor();
    await page.getByTestId('bot-bar').waitFor();
    // An agent may step in at any time (the API test covers taking over).
    await page.getByTestId('bot-bar').getByTestId('take-over').waitFor();
    await page.locator('.thread-log .msg-bot', { hasText: 'within 60 days of delivery' }).waitFor();
    await page.waitForTimeout(200);
    await screenshot(page, 'inbox-bot');

    /* Asking for a person hands the conversation over: the agent is offered it. */
    await visitorSend(visitor.page, 'I want to talk to a person');
    const offer = agent.page.getByTestId('offer');
    await offer.waitFor({ timeout: 15_000 });
    await offer.getByTestId('offer-accept').click();
    await offer.waitFor({ state: 'detached' });
    // The admin's open thread follows live: no more Bot badge, the handoff card instead.
    await page.getByTestId('handoff-card').waitFor();
    await page.getByTestId('bot-bar').waitFor({ state: 'hidden' });
    assert.equal(await page.locator('.thread-sub').getByTestId('bot-badge').count(), 0);

    const card = agent.page.getByTestId('handoff-card');
    await card.waitFor();
    // Beside the thread: what the assistant did (one answer from the built-in bot).
    await agent.page.getByTestId('bot-turns').getByText('1 × built-in bot').waitFor();
    assert.match(await card.locator('.handoff-title').innerText(), /Handed over by the assistant: the customer asked for a person/);
    assert.match(await card.getByTestId('handoff-summary').innerText(), /return/i);
    assert.equal(await card.evaluate((el) => el.open), true);
    // The thread shows the assistant's reply, styled as the assistant's.
    const log = agent.page.locator('.thread-log');
    await log.locator('.msg-bot', { hasText: 'within 60 days of delivery' }).waitFor();
    assert.match(await log.locator('.msg-bot .msg-author').first().innerText(), /Assistant/);
    await agent.page.waitForTimeout(300);
    await screenshot(agent.page, 'inbox-handoff');

    /* While waiting the visitor asks something else; Assist drafts replies from the knowledge
       base for the latest question, and a suggestion goes into the reply box, unsent. */
    await visitorSend(visitor.page, 'Also, how long does a refund take?');
    await log.getByText('Also, how long does a refund take?').waitFor();
    const sentBefore = await log.locator('.msg-agent').count();
    await agent.page.getByTestId('assist').click();
    const panel = agent.page.getByTestId('assist-panel');
    await panel.getByTestId('assist-summary').waitFor();
    const suggestion = panel.locator('.assist-suggestion').first();
    await suggestion.waitFor();
    const text = await suggestion.locator('.assist-text').innerText();
    assert.match(text, /refund/i, 'a suggestion about refunds');
    assert.match(await panel.getByTestId('assist-summary').innerText(), /\S/);
    await agent.page.waitForTimeout(200);
    await screenshot(agent.page, 'inbox-assist');
    await suggestion.getByTestId('assist-use').click();
    const composer = agent.page.getByRole('textbox', { name: 'Message' });
    assert.equal(await composer.inputValue(), text);
    assert.ok(await composer.evaluate((el) => el === document.activeElement), 'the reply box has the focus');
    await agent.page.waitForTimeout(500);
    assert.equal(await log.locator('.msg-agent').count(), sentBefore, 'nothing was sent');

    assert.deepEqual(visitor.problems, [], `the visitor page reported errors:\n${visitor.problems.join('\n')}`);
    admin.assertClean();
    agent.assertClean();
  } finally {
    await agent.page
      .evaluate(async (tid) => {
        const me = await (await fetch('/api/v1/me')).json();
        await fetch(`/api/v1/tenants/${tid}/me/presence`, { method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token }, body: JSON.stringify({ state: 'offline' }) });
      }, setup.tid)
      .catch(() => {});
    for (const fn of cleanup) await fn();
    await admin.context.close();
    await agent.context.close();
    await visitor.context.close();
  }
});

test('"Try a question" shows what the assistant would do; a file with a bad row imports nothing and lists the problem', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, setup.adminEmail, PASSWORD);
    await page.goto('/#/knowledge-base');
    await page.getByRole('heading', { level: 1, name: 'Knowledge base' }).waitFor();
    await page.locator('tr[data-slug="returns-window"]').waitFor();

    // A question the knowledge base answers.
    await page.getByTestId('kb-try-input').fill('How many days do I have to return an item?');
    await page.getByTestId('kb-try').click();
    const result = page.getByTestId('kb-try-result');
    await result.getByTestId('kb-decision').filter({ hasText: 'Answers' }).waitFor();
    assert.match(await result.getByTestId('kb-confidence').innerText(), /^Confidence \d+%$/);
    assert.equal(await result.locator('.kb-hit').first().locator('.kb-hit-question').innerText(), 'How long do I have to return an item?');
    await result.getByText('within 60 days of delivery', { exact: false }).first().waitFor();
    await page.waitForTimeout(150);
    await screenshot(page, 'knowledge-base-try');

    // One it does not: handed over.
    await page.getByTestId('kb-try-input').fill('Can you recommend a good novel about sailing?');
    await page.getByTestId('kb-try').click();
    await result.getByTestId('kb-decision').filter({ hasText: 'Hands over to your team' }).waitFor();

    // An import with a bad row: every problem listed, nothing imported.
    const slug = `gift-wrap-${unique()}`;
    await page.getByTestId('kb-import').click();
    const dialog = page.getByRole('dialog', { name: 'Import entries' });
    await dialog.getByText('Paste text').click();
    await dialog.getByLabel('Entries').fill(`id,category,question,answer\n${slug},store,Do you gift wrap?,Yes: gift wrap is $5 at checkout.\nparking,store,Is there parking?,\n`);
    assert.equal(await dialog.getByLabel('Format').inputValue(), 'csv');
    await dialog.getByRole('button', { name: 'Import' }).click();
    const errors = dialog.getByTestId('import-errors');
    await errors.getByText('Nothing was imported: 1 problem to fix in the file.').waitFor();
    const bad = errors.locator('tr[data-row="2"]');
    await bad.waitFor();
    assert.match(await bad.innerText(), /answer\s+Must not be empty\./);
    await page.waitForTimeout(150);
    await screenshot(page, 'knowledge-base-import-errors');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.locator(`tr[data-slug="${slug}"]`).count(), 0, 'the good row was not imported either');
    assert.equal(await page.locator('.toolbar-count').innerText(), '48 entries');

    // Markup in an entry stays text.
    await page.getByTestId('kb-new').click();
    const editor = page.getByRole('dialog', { name: 'New entry' });
    await editor.getByLabel('Question').fill('<img src=x onerror=alert(1)> Do you <b>price match</b>?');
    await editor.getByLabel('Answer', { exact: true }).fill('<script>alert(2)</script>We match prices of authorised dealers.');
    await editor.getByLabel('Category').fill('payments');
    await editor.getByRole('button', { name: 'Add entry' }).click();
    await editor.waitFor({ state: 'detached' });
    const row = page.locator('tr', { hasText: '<img src=x onerror=alert(1)> Do you <b>price match</b>?' });
    await row.waitFor();
    assert.equal(await page.locator('.table-kb img, .table-kb script, .table-kb b').count(), 0);
    // Pause it with the switch, then delete it.
    await row.getByRole('switch').uncheck();
    await page.getByText('The assistant no longer uses this entry.').waitFor();
    await row.getByRole('button', { name: /^Actions for/ }).click();
    await page.getByRole('menuitem', { name: 'Delete entry' }).click();
    await page.getByRole('dialog', { name: 'Delete this entry?' }).getByRole('button', { name: 'Delete entry' }).click();
    await row.waitFor({ state: 'detached' });

    // On a phone the rows stack as cards.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('kb-try-input').fill('How many days do I have to return an item?');
    await page.getByTestId('kb-try').click();
    await result.getByTestId('kb-decision').filter({ hasText: 'Answers' }).waitFor();
    await page.waitForTimeout(200);
    await screenshot(page, 'knowledge-base-mobile');
    assertClean();
  } finally {
    await context.close();
  }
});

test('handoff rules: the built-in set is shown; adding a rule keeps it as the tenant’s own; rules pause and go', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, setup.adminEmail, PASSWORD);
    await page.goto('/#/ai');
    await page.getByRole('heading', { level: 1, name: 'AI agent' }).waitFor();
    const section = page.locator('.rules-section');
    await section.locator('tr', { hasText: 'Customer asks for a person' }).waitFor();
    assert.ok((await section.getByTestId('built-in').count()) >= 4, 'built-in rules are marked');

    await page.getByTestId('add-rule').click();
    const dialog = page.getByRole('dialog', { name: 'New handoff rule' });
    await dialog.getByLabel('Name').fill('Unhappy twice');
    await dialog.getByTestId('rule-kind').selectOption('sentiment');
    await dialog.getByLabel('Sentiment at most').fill('-2');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    await dialog.getByText('Use a number from -1 to 1.').waitFor();
    await dialog.getByLabel('Sentiment at most').fill('-0.6');
    await dialog.getByLabel('Messages in a row').fill('2');
    await dialog.getByLabel('Priority', { exact: true }).fill('5');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = section.locator('tr', { hasText: 'Unhappy twice' });
    await row.waitFor();
    assert.match(await row.innerText(), /Sentiment at most -0\.6 for 2 messages in a row/);
    assert.equal(await section.getByTestId('built-in').count(), 0, 'the set is now the tenant’s own');
    // Listed by priority: 5 comes first.
    assert.match(await section.locator('tbody tr').first().innerText(), /Unhappy twice/);

    // Edit: a keyword rule; the server's check lands on the words field.
    await row.getByRole('button', { name: 'Unhappy twice', exact: true }).click();
    const edit = page.getByRole('dialog', { name: 'Edit handoff rule' });
    await edit.getByTestId('rule-kind').selectOption('keyword');
    await edit.getByLabel('Words or phrases').fill('refund now\n!!!');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await edit.getByText('Item 2 must contain a letter or digit.').waitFor();
    await edit.getByLabel('Words or phrases').fill('refund now\nchargeback');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await edit.waitFor({ state: 'detached' });
    await row.getByText('Mentions “refund now”, “chargeback”').waitFor();

    // Pause, then delete.
    await row.getByRole('switch').uncheck();
    await page.getByText('“Unhappy twice” is paused.').waitFor();
    await section.locator('tr.is-inactive', { hasText: 'Unhappy twice' }).waitFor();
    await page.evaluate(() => document.querySelector('.rules-section').scrollIntoView());
    await page.waitForTimeout(200);
    await screenshot(page, 'ai-agent-rules');
    await row.getByRole('button', { name: 'Actions for Unhappy twice' }).click();
    await page.getByRole('menuitem', { name: 'Delete rule' }).click();
    await page.getByRole('dialog', { name: 'Delete “Unhappy twice”?' }).getByRole('button', { name: 'Delete rule' }).click();
    await row.waitFor({ state: 'detached' });

    // The settings on a phone: one column, the save bar stays in reach.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.locator('[data-section="provider"]').scrollIntoViewIfNeeded();
    await page.waitForTimeout(200);
    await screenshot(page, 'ai-agent-mobile');
    assertClean();
  } finally {
    await context.close();
  }
});
