// Inbox extras: search by message text, labels (apply one, filter by it), snooze (hidden from
// the open list, shown under "Snoozed"). A visitor starts the chat through the widget on a
// small host page; the demo admin works the inbox.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { launch, newPage, loginAndWait, env, DEMO, unique, screenshot } from './helpers.mjs';

let browser;
let site;
let siteUrl;
let adminCtx;
let setup; // { tid, headers, label }
let conversationId; // the visitor's conversation, from the first test

before(async () => {
  browser = await launch();
  adminCtx = await browser.newContext({ baseURL: env.url });
  const login = await adminCtx.request.post('/api/v1/auth/login', { data: { email: DEMO.admin, password: env.demoPassword } });
  assert.equal(login.status(), 200);
  const me = await login.json();
  const tid = me.memberships.find((m) => m.tenant_slug === 'demo').tenant_id;
  const headers = { 'X-CSRF-Token': me.csrf_token };
  const suffix = unique();
  // A queue of agent2's (who stays offline), so the visitor's chat waits there, open and
  // unassigned, and agent2 may read it when mentioned.
  const users = await (await adminCtx.request.get(`/api/v1/tenants/${tid}/users?limit=200`)).json();
  const agent2 = users.items.find((u) => u.email === DEMO.agent2);
  const q = await adminCtx.request.post(`/api/v1/tenants/${tid}/queues`, { headers, data: { name: `Extras ${suffix}`, members: [{ user_id: agent2.id }] } });
  assert.equal(q.status(), 201, await q.text());
  const queue = await q.json();
  const w = await adminCtx.request.post(`/api/v1/tenants/${tid}/widgets`, { headers, data: { name: `Extras ${suffix}`, queue_id: queue.id, settings: { title: 'Extras' } } });
  assert.equal(w.status(), 201, await w.text());
  const widget = await w.json();
  const l = await adminCtx.request.post(`/api/v1/tenants/${tid}/labels`, { headers, data: { name: `VIP ${suffix}`, colour: '#b45309' } });
  assert.equal(l.status(), 201, await l.text());
  setup = { tid, headers, label: await l.json() };

  site = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body><h1>Shop</h1><script src="${env.url}/widget.js" data-widget="${widget.public_id}" async></script></body></html>`);
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${site.address().port}/`;
});

after(async () => {
  await adminCtx?.close();
  await browser?.close();
  await new Promise((resolve) => (site ? site.close(resolve) : resolve()));
});

test('search by message text, label a conversation and filter by it, snooze it', async () => {
  const visitorCtx = await browser.newContext({ reducedMotion: 'reduce' });
  visitorCtx.setDefaultTimeout(10_000);
  const admin = await newPage(browser);
  const { page } = admin;
  try {
    // The visitor writes something distinctive.
    const word = `kayak${unique()}`;
    const visitor = await visitorCtx.newPage();
    await visitor.goto(siteUrl);
    const host = visitor.locator('switchboard-widget');
    await host.locator('button.l').click();
    const input = host.getByRole('textbox', { name: 'Message' });
    await input.fill(`Does the ${word.toUpperCase()} paddle float?`);
    await input.press('Enter');
    await visitor.waitForFunction(() => {
      const root = document.querySelector('switchboard-widget').shadowRoot;
      const rows = [...root.querySelectorAll('.r.c')];
      return rows.length === 1 && !rows[0].classList.contains('pend');
    });

    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.goto('/#/inbox');
    await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
    await page.getByRole('tab', { name: 'All open' }).click();

    // Search (case-insensitive, over message text): exactly this conversation.
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill(word);
    const rows = page.locator('.conv-row');
    const row = rows.filter({ hasText: word.toUpperCase() });
    await row.waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.conv-row').length === 1);
    const cid = Number(await row.getAttribute('data-conversation-id'));
    conversationId = cid;
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill(`${word}-nothing-like-this`);
    await page.getByText('No matching conversations').waitFor();
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill(word);
    await row.waitFor();

    // One customer message the admin has not read: a badge, gone once the thread is open.
    await row.getByTestId('unread').filter({ hasText: '1' }).waitFor();

    // Apply the label from the thread header: the chip shows there and on the row.
    await row.click();
    await row.getByTestId('unread').waitFor({ state: 'detached' });
    await page.locator('.thread-log').getByText(word.toUpperCase(), { exact: false }).waitFor();
    await page.getByTestId('edit-labels').click();
    const pop = page.getByTestId('labels-popover');
    await pop.getByLabel(setup.label.name).check();
    await page.locator('.thread-labels .label-chip', { hasText: setup.label.name }).waitFor();
    await row.locator('.label-chip', { hasText: setup.label.name }).waitFor();
    await screenshot(page, 'inbox-label-popover');
    await page.keyboard.press('Escape');
    await pop.waitFor({ state: 'detached' });
    const view = await (await adminCtx.request.get(`/api/v1/tenants/${setup.tid}/conversations/${cid}`)).json();
    assert.deepEqual(view.conversation.labels.map((l) => l.id), [setup.label.id]);

    // Filter by the label (no search): the conversation is there, and only labelled ones are.
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('');
    await page.getByLabel('Label', { exact: true }).selectOption(String(setup.label.id));
    await page.locator(`.conv-row[data-conversation-id="${cid}"]`).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.conv-row').length === 1);
    await screenshot(page, 'inbox-labels');
    await page.getByLabel('Label', { exact: true }).selectOption('');

    // Snooze for an hour: gone from All open, listed under Snoozed with the time in the header.
    await page.getByTestId('snooze').click();
    await page.getByTestId('snooze-hour').click();
    await page.getByTestId('snoozed-until').waitFor();
    await page.locator(`.conv-row[data-conversation-id="${cid}"]`).waitFor({ state: 'detached' });
    const open = await (await adminCtx.request.get(`/api/v1/tenants/${setup.tid}/conversations?status=open&limit=200`)).json();
    assert.ok(!open.items.some((c) => c.id === cid), 'not in the open list');
    await page.getByRole('tab', { name: 'Snoozed' }).click();
    await page.locator(`.conv-row[data-conversation-id="${cid}"]`).waitFor();
    await screenshot(page, 'inbox-snoozed');

    // Wake it up again.
    await page.getByTestId('snooze').click();
    await page.getByTestId('snooze-wake').click();
    await page.getByTestId('snoozed-until').waitFor({ state: 'detached' });
    await page.locator(`.conv-row[data-conversation-id="${cid}"]`).waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: 'All open' }).click();
    await page.locator(`.conv-row[data-conversation-id="${cid}"]`).waitFor();
    admin.assertClean();
  } finally {
    await page.evaluate(() => localStorage.removeItem('switchboard.inbox.filter')).catch(() => {});
    await admin.context.close();
    await visitorCtx.close();
  }
});

// Mentions need a server that knows them (NewReply.mentions in its OpenAPI document).
async function serverHasMentions() {
  const spec = await (await adminCtx.request.get('/api/v1/openapi.json')).json();
  return Boolean(spec?.components?.schemas?.NewReply?.properties?.mentions);
}

test('an @mention in a private note notifies the teammate', async (t) => {
  assert.ok(conversationId, 'the first test made a conversation');
  if (!(await serverHasMentions())) {
    t.skip('this server does not support mentions yet');
    return;
  }
  const admin = await newPage(browser);
  const agent = await newPage(browser);
  try {
    // agent2 has the inbox open.
    await loginAndWait(agent.page, DEMO.agent2, env.demoPassword);
    await agent.page.goto('/#/inbox');
    await agent.page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
    await agent.page.locator('.conn-live').waitFor({ state: 'attached' });

    await loginAndWait(admin.page, DEMO.admin, env.demoPassword);
    await admin.page.goto(`/#/inbox?c=${conversationId}`);
    await admin.page.locator('.thread-log .msg-customer').first().waitFor();
    await admin.page.locator('.composer-note').click();
    const composer = admin.page.getByRole('textbox', { name: 'Message' });
    const users = await (await adminCtx.request.get(`/api/v1/tenants/${setup.tid}/users?limit=200`)).json();
    const agent2 = users.items.find((u) => u.email === DEMO.agent2);
    await composer.pressSequentially(`Can you check this, @${agent2.name.slice(0, 3)}`, { delay: 10 });
    const option = admin.page.getByTestId('mention-pop').getByRole('option', { name: agent2.name });
    await option.waitFor();
    await screenshot(admin.page, 'inbox-mention');
    await composer.press('Enter');
    assert.equal(await composer.inputValue(), `Can you check this, @${agent2.name} `);
    await composer.pressSequentially('please?', { delay: 10 });
    const sent = admin.page.waitForRequest((r) => r.url().endsWith(`/conversations/${conversationId}/messages`) && r.method() === 'POST');
    await composer.press('Enter');
    const body = JSON.parse((await sent).postData());
    assert.deepEqual(body, { content: `Can you check this, @${agent2.name} please?`, private: true, mentions: [agent2.id] });
    await admin.page.locator('.msg-note', { hasText: 'please?' }).waitFor();

    // agent2 is told, with a link to the conversation.
    const toastEl = agent.page.getByTestId('mention-toast');
    await toastEl.waitFor();
    assert.match(await toastEl.innerText(), new RegExp(`mentioned you in conversation #${conversationId}`));
    await toastEl.getByRole('link', { name: 'Open' }).click();
    await agent.page.locator('.thread-log .msg-note', { hasText: 'please?' }).waitFor();
    admin.assertClean();
    agent.assertClean();
  } finally {
    await admin.context.close();
    await agent.context.close();
  }
});

test('the transfer dialog hands a conversation to one colleague', async () => {
  assert.ok(conversationId, 'the first test made a conversation');
  const admin = await newPage(browser);
  try {
    await loginAndWait(admin.page, DEMO.admin, env.demoPassword);
    await admin.page.goto(`/#/inbox?c=${conversationId}`);
    await admin.page.locator('.thread-log .msg-customer').first().waitFor();
    await admin.page.getByTestId('transfer').click();
    const dialog = admin.page.getByRole('dialog', { name: 'Transfer conversation' });
    await dialog.waitFor();
    const select = dialog.getByLabel('Transfer to');
    const dir = await (await adminCtx.request.get(`/api/v1/tenants/${setup.tid}/directory`)).json();
    const users = await (await adminCtx.request.get(`/api/v1/tenants/${setup.tid}/users?limit=200`)).json();
    const agent2Id = users.items.find((u) => u.email === DEMO.agent2).id;
    const agent2 = dir.members.find((m) => m.user_id === agent2Id);
    assert.ok(agent2, 'the directory lists an agent');
    const labels = await select.locator('option').allInnerTexts();
    assert.ok(labels.some((l) => l.startsWith('Queue: ')), labels.join(', '));
    assert.ok(labels.some((l) => l.startsWith(`Agent: ${agent2.name}`)), labels.join(', '));
    await select.selectOption(`agent:${agent2.user_id}`);
    await dialog.getByLabel('Note for the next agent').fill('VIP, knows the order number');
    await screenshot(admin.page, 'inbox-transfer');
    const sent = admin.page.waitForRequest((r) => r.url().endsWith(`/conversations/${conversationId}/transfer`) && r.method() === 'POST');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    assert.deepEqual(JSON.parse((await sent).postData()), { agent_id: agent2.user_id, note: 'VIP, knows the order number' });
    await admin.page.getByText(`Conversation transferred to ${agent2.name}`).waitFor();
    await admin.page.locator('.msg-note', { hasText: 'VIP, knows the order number' }).waitFor();
    admin.assertClean();
  } finally {
    await admin.context.close();
  }
});
