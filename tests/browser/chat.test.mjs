// Chat end to end: a visitor on a third-party page (served here, on another port) talks
// through the embedded widget to agent1 in the inbox, in two browser contexts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { launch, newPage, loginAndWait, env, DEMO, unique, screenshot } from './helpers.mjs';

let browser;
let site; // the visitor's website
let siteUrl;
let setup; // { tid, queueId, widget, agentId }
let adminCtx;

/** The host page: a plain shop page with a strict CSP that only lets in the widget. */
function sitePage(publicId) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Outdoor</title><link rel="stylesheet" href="/site.css"></head>
<body><header><strong>Acme Outdoor</strong><nav><a href="#">Tents</a> <a href="#">Boots</a> <a href="#">Sale</a></nav></header>
<main><h1>Gear for every trail</h1><p>Free shipping on orders over $50. Questions? Chat with us.</p>
<div class="grid"><div class="item">Trail tent</div><div class="item">Hiking boots</div><div class="item">Rain jacket</div></div></main>
<script src="${env.url}/widget.js" data-widget="${publicId}" async></script>
</body></html>`;
}

// The host site's own styles deliberately hit every div and button: the widget must not care.
const SITE_CSS = `body{font:16px Georgia,serif;margin:0;background:#fafaf7;color:#222}header{display:flex;justify-content:space-between;padding:18px 32px;background:#264d3b;color:#fff}
header a{color:#d9f0e3;margin-left:16px}main{padding:32px}.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:16px;margin-top:24px}
.item{height:140px;display:grid;place-items:center;background:#e7efe9;border-radius:6px}
div{letter-spacing:.5px}button{background:orange!important;border:4px solid red}`;

before(async () => {
  browser = await launch();
  // Setup through the API as the demo admin: a queue with agent1, and a widget on it.
  adminCtx = await browser.newContext({ baseURL: env.url });
  const login = await adminCtx.request.post('/api/v1/auth/login', { data: { email: DEMO.admin, password: env.demoPassword } });
  assert.equal(login.status(), 200);
  const me = await login.json();
  const tid = me.memberships.find((m) => m.tenant_slug === 'demo').tenant_id;
  const headers = { 'X-CSRF-Token': me.csrf_token };
  const users = await (await adminCtx.request.get(`/api/v1/tenants/${tid}/users?limit=200`)).json();
  const agent = users.items.find((u) => u.email === DEMO.agent1);
  assert.ok(agent, 'agent1 exists');
  // Chats left open by an earlier, interrupted run would be offered to agent1 too, or keep
  // them at capacity: resolve those first.
  const queues = await (await adminCtx.request.get(`/api/v1/tenants/${tid}/queues`)).json();
  const theirs = new Set(queues.items.filter((q) => q.members.some((m) => m.user_id === agent.id)).map((q) => q.id));
  const open = await (await adminCtx.request.get(`/api/v1/tenants/${tid}/conversations?status=open&limit=200`)).json();
  for (const c of open.items.filter((c) => c.assigned_agent_id === agent.id || theirs.has(c.queue_id))) {
    await adminCtx.request.post(`/api/v1/tenants/${tid}/conversations/${c.id}/resolve`, { headers });
  }
  const suffix = unique();
  const q = await adminCtx.request.post(`/api/v1/tenants/${tid}/queues`, { headers, data: { name: `Web chat ${suffix}`, members: [{ user_id: agent.id }] } });
  assert.equal(q.status(), 201, await q.text());
  const queue = await q.json();
  const w = await adminCtx.request.post(`/api/v1/tenants/${tid}/widgets`, {
    headers,
    data: {
      name: `Shop ${suffix}`,
      queue_id: queue.id,
      settings: { title: 'Acme support', colour: '#0f766e', position: 'right', welcome_message: 'Hi! Ask us anything about your order.', away_message: 'We are away right now.', prechat_fields: ['name'], allowed_origins: [] },
    },
  });
  assert.equal(w.status(), 201, await w.text());
  const widget = await w.json();
  assert.ok(widget.public_id && widget.identity_secret, 'public id and identity secret on create');
  const canned = await adminCtx.request.post(`/api/v1/tenants/${tid}/canned-responses`, { headers, data: { shortcut: `eta-${suffix}`, content: 'Hi {{contact.name}}, your order ships within 24 hours.' } });
  assert.equal(canned.status(), 201, await canned.text());
  setup = { tid, queueId: queue.id, widget, agentId: agent.id, shortcut: `eta-${suffix}` };

  site = http.createServer((req, res) => {
    if (req.url === '/site.css') {
      res.writeHead(200, { 'Content-Type': 'text/css' });
      res.end(SITE_CSS);
      return;
    }
    const sb = new URL(env.url);
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      // A strict host page: no inline anything; scripts and connections only to Switchboard.
      'Content-Security-Policy': `default-src 'self'; script-src ${sb.origin}; connect-src ${sb.origin} ws://${sb.host} wss://${sb.host}; style-src 'self'; img-src 'self' ${sb.origin}`,
    });
    res.end(sitePage(new URL(req.url, 'http://x').searchParams.get('w') || widget.public_id));
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${site.address().port}/`;
});

after(async () => {
  await adminCtx?.close();
  await browser?.close();
  await new Promise((resolve) => (site ? site.close(resolve) : resolve()));
});

/** Lets a test cut a page's WebSockets and keep them down for a while (an init script). */
function socketCutter() {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__blockSockets = false;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      if (window.__blockSockets) throw new DOMException('blocked by the test', 'NetworkError');
      super(url, protocols);
      window.__sockets.push(this);
    }
  };
}
const cut = (page) =>
  page.evaluate(() => {
    window.__blockSockets = true;
    for (const s of window.__sockets) s.close();
  });
const restore = (page) => page.evaluate(() => (window.__blockSockets = false));

/** A visitor browser context on the host site. */
async function visitorPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  const dialogs = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/favicon/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  return { context, page, problems, dialogs };
}

/** Widget parts (the shadow root is open, so locators reach inside it). */
function widget(page) {
  const host = page.locator('switchboard-widget');
  return {
    host,
    launcher: host.locator('button.l'),
    panel: host.locator('.p'),
    input: host.getByRole('textbox', { name: 'Message' }),
    messages: host.locator('.m'),
    typing: host.locator('.ty'),
    badge: host.locator('.n'),
  };
}

async function visitorSend(page, text) {
  const w = widget(page);
  await w.input.fill(text);
  await w.input.press('Enter');
  // Acknowledged by the server: no row is still "Sending…".
  await page.waitForFunction(
    (t) => {
      const root = document.querySelector('switchboard-widget').shadowRoot;
      const rows = [...root.querySelectorAll('.r.c')].filter((r) => r.querySelector('.b').textContent === t);
      return rows.length === 1 && !rows[0].classList.contains('pend');
    },
    text,
  );
}

test('visitor and agent chat in real time through the widget and the inbox', async () => {
  const agent = await newPage(browser);
  const visitor = await visitorPage();
  const agentDialogs = [];
  agent.page.on('dialog', (d) => {
    agentDialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  await agent.context.addInitScript(socketCutter);
  await visitor.context.addInitScript(socketCutter);
  try {
    // The agent signs in, opens the inbox and becomes available.
    await loginAndWait(agent.page, DEMO.agent1, env.demoPassword);
    const nav = agent.page.getByRole('navigation', { name: 'Primary' });
    assert.equal(await nav.getByRole('link').first().innerText(), 'Inbox', 'Inbox is first in the navigation');
    await nav.getByRole('link', { name: 'Inbox' }).click();
    await agent.page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
    await agent.page.getByTestId('presence-switch').click();
    await agent.page.getByRole('menuitemradio', { name: /Available/ }).click();
    await agent.page.getByTestId('presence-switch').filter({ hasText: 'Available' }).waitFor();
    await agent.page.locator('.conn-live').waitFor({ state: 'attached' });

    // The visitor opens the chat on the shop's page; the pre-chat form asks for a name.
    await visitor.page.goto(siteUrl);
    const w = widget(visitor.page);
    await w.launcher.click();
    await w.panel.waitFor();
    await w.host.getByText('Acme support').waitFor();
    await w.host.getByText('Hi! Ask us anything about your order.').waitFor();
    const visitorName = `Dana ${unique()}`;
    await w.host.getByLabel('Name').fill(visitorName);
    await w.host.getByRole('button', { name: 'Start chat' }).click();
    await w.input.waitFor();
    await visitorSend(visitor.page, 'Hello, where is my order #1234?');

    // The agent is offered the conversation, with its preview and a countdown.
    const offer = agent.page.getByTestId('offer').filter({ hasText: 'where is my order #1234?' });
    await offer.waitFor();
    assert.match(await offer.innerText(), /where is my order #1234\?/);
    assert.match(await offer.locator('.offer-secs').innerText(), /^\d+s$/);
    await screenshot(agent.page, 'inbox-offer');
    await offer.getByTestId('offer-accept').click();
    await offer.waitFor({ state: 'detached' });
    const log = agent.page.locator('.thread-log');
    await log.getByText('Hello, where is my order #1234?').waitFor();
    await agent.page.locator('.thread-title').filter({ hasText: visitorName }).waitFor();
    // The visitor is told an agent joined.
    await w.messages.getByText(/joined the conversation/).waitFor();

    // Typing indicators, both ways.
    await w.input.pressSequentially('I ordered', { delay: 20 });
    await agent.page.getByTestId('customer-typing').waitFor({ state: 'visible' });
    await w.input.fill('');
    const composer = agent.page.getByRole('textbox', { name: 'Message' });
    await composer.pressSequentially('Let me check', { delay: 20 });
    await w.typing.waitFor({ state: 'visible' });
    await composer.fill('Let me check that for you, one moment.');
    await composer.press('Enter');
    await w.messages.getByText('Let me check that for you, one moment.').waitFor();
    await w.typing.waitFor({ state: 'hidden' });
    await log.locator('.msg-agent').getByText('Let me check that for you, one moment.').waitFor();
    // The agent has read the visitor's message: the widget says "Seen".
    await w.messages.locator('.r.c .mt', { hasText: 'Seen' }).waitFor();

    // A private note stays in the inbox.
    await agent.page.locator('.composer-note').click();
    await composer.fill('Customer seems worried about delivery date.');
    await composer.press('Enter');
    await log.locator('.msg-note').getByText('Customer seems worried about delivery date.').waitFor();
    await agent.page.locator('.composer-note').click();

    // Saved replies: "/" plus the shortcut, Enter puts the text (variables filled) in the box.
    await composer.fill(`/${setup.shortcut.slice(0, 6)}`);
    await composer.pressSequentially(setup.shortcut.slice(6), { delay: 10 });
    const option = agent.page.getByRole('option', { name: new RegExp(setup.shortcut) });
    await option.waitFor();
    await composer.press('Enter');
    assert.equal(await composer.inputValue(), `Hi ${visitorName}, your order ships within 24 hours.`);
    await composer.fill('');

    // Reload the visitor page mid-conversation: the history is intact.
    await visitor.page.reload();
    await w.launcher.click();
    await w.messages.getByText('Hello, where is my order #1234?').waitFor();
    await w.messages.getByText('Let me check that for you, one moment.').waitFor();
    assert.equal(await w.messages.getByText('Customer seems worried about delivery date.').count(), 0, 'private notes never reach the visitor');
    assert.equal(await w.messages.locator('.r.c').count(), 1, 'no duplicated message after the reload');

    // Cut the agent's event socket; the visitor writes while it is down.
    await cut(agent.page);
    await agent.page.locator('.conn-reconnecting').waitFor();
    await visitorSend(visitor.page, 'Are you still there?');
    await visitorSend(visitor.page, 'It was due yesterday.');
    await agent.page.waitForTimeout(500);
    assert.equal(await log.getByText('Are you still there?').count(), 0, 'the socket really was down');
    await restore(agent.page);
    await log.getByText('Are you still there?').waitFor({ timeout: 20_000 });
    await log.getByText('It was due yesterday.').waitFor();
    await agent.page.locator('.conn-live').waitFor({ state: 'attached' });
    assert.equal(await log.getByText('Are you still there?').count(), 1, 'replayed exactly once');
    assert.equal(await log.locator('.msg-customer').count(), 3);

    // Markup from the visitor is shown as text and never runs, in the inbox or the widget.
    const payloads = ['<img src=x onerror=alert(1)>', '<script>alert(2)</script>'];
    for (const p of payloads) await visitorSend(visitor.page, p);
    for (const p of payloads) await log.getByText(p, { exact: true }).waitFor();
    assert.equal(await log.locator('img, script').count(), 0, 'no element was created from customer text');
    assert.equal(await agent.page.locator('.conv-list img, .offer-stack img').count(), 0);
    assert.equal(await w.messages.locator('img, script').count(), 0);
    await agent.page.waitForTimeout(300);
    assert.deepEqual(agentDialogs, [], 'no dialog in the inbox');
    assert.deepEqual(visitor.dialogs, [], 'no dialog on the visitor page');

    // Files both ways: an image from the visitor, a PDF from the agent (typed by their bytes).
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    await w.host.locator('input[type=file]').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: png });
    await log.locator('.msg-customer img[alt="receipt.png"]').waitFor();
    await w.messages.locator('.r.c img[alt="receipt.png"]').waitFor();
    await agent.page.locator('.composer input[type=file]').setInputFiles({ name: 'invoice.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n') });
    await log.locator('.msg-agent .msg-file', { hasText: 'invoice.pdf' }).waitFor();
    const fileLink = w.messages.locator('.r.a a', { hasText: 'invoice.pdf' });
    await fileLink.waitFor();
    assert.match(await fileLink.getAttribute('href'), /^http:\/\/[^/]+\/media\/attachments\/[\w-]+$/);

    // The visitor's socket drops while the agent answers: the reply arrives on reconnect, once.
    await cut(visitor.page);
    await composer.fill('Found it: it ships today.');
    await composer.press('Enter');
    await log.locator('.msg-agent').getByText('Found it: it ships today.').waitFor();
    await visitor.page.waitForTimeout(300);
    assert.equal(await w.messages.getByText('Found it: it ships today.').count(), 0, 'the widget socket really was down');
    await restore(visitor.page);
    await w.messages.getByText('Found it: it ships today.').waitFor({ timeout: 20_000 });
    assert.equal(await w.messages.getByText('Found it: it ships today.').count(), 1);

    // With the chat window closed, a new reply shows an unread badge on the launcher.
    await visitor.page.keyboard.press('Escape');
    await w.panel.waitFor({ state: 'hidden' });
    await composer.fill('Anything else I can help with?');
    await composer.press('Enter');
    await w.badge.filter({ hasText: '1' }).waitFor();
    assert.match(await w.launcher.getAttribute('aria-label'), /1 unread message/);
    await w.launcher.click();
    await w.badge.waitFor({ state: 'hidden' });
    await w.messages.getByText('Anything else I can help with?').waitFor();

    // The conversation shows in the list under "Mine" with the visitor's name.
    const row = agent.page.locator('.conv-row.is-selected');
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(visitorName));
    await agent.page.getByText('Other conversations').waitFor();
    await agent.page.waitForTimeout(300);
    await screenshot(agent.page, 'inbox');
    await visitor.page.waitForTimeout(300);
    await screenshot(visitor.page, 'widget');

    // The agent resolves; the visitor is told.
    await agent.page.getByTestId('resolve').click();
    await agent.page.getByTestId('reopen').waitFor();
    await w.messages.getByText('This conversation was resolved.').waitFor();

    // The inbox on a phone: one pane at a time, with a way back to the list.
    await agent.page.setViewportSize({ width: 390, height: 844 });
    await agent.page.getByRole('button', { name: 'Back to conversations' }).waitFor();
    await agent.page.waitForTimeout(300);
    await screenshot(agent.page, 'inbox-mobile-thread');
    await agent.page.getByRole('button', { name: 'Back to conversations' }).click();
    await agent.page.locator('.inbox-list').waitFor();
    await screenshot(agent.page, 'inbox-mobile-list');

    assert.deepEqual(visitor.problems, [], `the visitor page reported errors:\n${visitor.problems.join('\n')}`);
    agent.assertClean();
  } finally {
    await agent.page.evaluate(async (tid) => {
      const me = await (await fetch('/api/v1/me')).json();
      await fetch(`/api/v1/tenants/${tid}/me/presence`, { method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token }, body: JSON.stringify({ state: 'offline' }) });
    }, setup.tid).catch(() => {});
    await agent.context.close();
    await visitor.context.close();
  }
});

test('with nobody available the widget says so, takes the message and shows the place in line', async () => {
  const headers = { 'X-CSRF-Token': (await (await adminCtx.request.get('/api/v1/me')).json()).csrf_token };
  const users = await (await adminCtx.request.get(`/api/v1/tenants/${setup.tid}/users?limit=200`)).json();
  const agent2 = users.items.find((u) => u.email === DEMO.agent2);
  const suffix = unique();
  const q = await (await adminCtx.request.post(`/api/v1/tenants/${setup.tid}/queues`, { headers, data: { name: `After hours ${suffix}`, members: [{ user_id: agent2.id }] } })).json();
  const created = await adminCtx.request.post(`/api/v1/tenants/${setup.tid}/widgets`, {
    headers,
    data: { name: `After hours ${suffix}`, queue_id: q.id, settings: { title: 'Night desk', position: 'left', away_message: 'We are closed until 8am. Leave a message!' } },
  });
  assert.equal(created.status(), 201);
  const publicId = (await created.json()).public_id;
  const visitor = await visitorPage();
  try {
    await visitor.page.goto(`${siteUrl}?w=${publicId}`);
    const w = widget(visitor.page);
    await w.launcher.click();
    await w.host.getByText('Night desk').waitFor();
    await w.host.locator('.s', { hasText: 'Away' }).waitFor();
    await w.host.getByText('We are closed until 8am. Leave a message!').waitFor();
    const launcherBox = await w.launcher.boundingBox();
    assert.ok(launcherBox.x < 100, 'launcher on the left');
    await visitorSend(visitor.page, 'Can I return boots bought online in store?');
    await w.host.locator('.q').filter({ hasText: /You are number 1 in line|An agent will be with you shortly|No one is available/ }).or(w.messages.getByText(/No one is available/)).first().waitFor();
    await visitor.page.waitForTimeout(200);
    await screenshot(visitor.page, 'widget-away');
    assert.deepEqual(visitor.problems, []);
  } finally {
    await visitor.context.close();
  }
});

test('two tabs of one visitor share the conversation', async () => {
  const headers = { 'X-CSRF-Token': (await (await adminCtx.request.get('/api/v1/me')).json()).csrf_token };
  const created = await adminCtx.request.post(`/api/v1/tenants/${setup.tid}/widgets`, { headers, data: { name: `Tabs ${unique()}`, settings: { title: 'Tabs' } } });
  assert.equal(created.status(), 201);
  const publicId = (await created.json()).public_id;
  const visitor = await visitorPage();
  try {
    const a = visitor.page;
    await a.goto(`${siteUrl}?w=${publicId}`);
    const wa = widget(a);
    await wa.launcher.click();
    await visitorSend(a, 'First, from tab A');
    const b = await visitor.context.newPage();
    await b.goto(`${siteUrl}?w=${publicId}`);
    const wb = widget(b);
    await wb.launcher.click();
    await wb.messages.getByText('First, from tab A').waitFor();
    await visitorSend(a, 'Second, from tab A');
    await wb.messages.getByText('Second, from tab A').waitFor();
    assert.equal(await wb.messages.locator('.r.c').count(), 2);
    assert.deepEqual(visitor.problems, []);
  } finally {
    await visitor.context.close();
  }
});

test('the widget on a phone: full screen, opened from the keyboard, Escape closes', async () => {
  const visitor = await visitorPage({ width: 390, height: 844 });
  try {
    await visitor.page.goto(siteUrl);
    const w = widget(visitor.page);
    await w.launcher.waitFor();
    // Keyboard: the launcher is a button reachable with Tab.
    await w.launcher.focus();
    await visitor.page.keyboard.press('Enter');
    await w.panel.waitFor();
    const box = await w.panel.boundingBox();
    assert.equal(Math.round(box.width), 390, 'full width under 480px');
    assert.equal(Math.round(box.height), 844, 'full height under 480px');
    await visitor.page.waitForTimeout(250);
    await screenshot(visitor.page, 'widget-mobile');
    await visitor.page.keyboard.press('Escape');
    await w.panel.waitFor({ state: 'hidden' });
    assert.deepEqual(visitor.problems, []);
  } finally {
    await visitor.context.close();
  }
});

test('admins manage widgets and copy the embed snippet; supervisors see live queues', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.goto('/#/widgets');
    await page.getByRole('heading', { level: 1, name: 'Chat widgets' }).waitFor();
    await page.locator(`tr[data-public-id="${setup.widget.public_id}"]`).waitFor();

    const name = `Help center ${unique()}`;
    await page.getByTestId('create-widget').click();
    const dialog = page.getByRole('dialog', { name: 'Create widget' });
    await dialog.getByLabel('Name', { exact: true }).fill(name);
    await dialog.getByLabel('Title').fill('Need a hand?');
    await dialog.getByLabel('Allowed origins').fill('not a url');
    await dialog.getByRole('button', { name: 'Create widget' }).click();
    await dialog.getByText(/is not an origin/).waitFor();
    await dialog.getByLabel('Allowed origins').fill('https://help.example.com\nhttps://www.example.com');
    await dialog.getByRole('button', { name: 'Create widget' }).click();
    const created = page.getByRole('dialog', { name: 'Widget created' });
    await created.waitFor();
    const snippet = await created.getByRole('textbox', { name: 'Embed snippet' }).inputValue();
    assert.match(snippet, /^<script src="http[^"]+\/widget\.js" data-widget="[^"]+" async><\/script>$/);
    assert.ok((await created.getByRole('textbox', { name: 'Identity secret' }).inputValue()).length >= 16);
    await page.waitForTimeout(200);
    await screenshot(page, 'widgets-created');
    await created.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('tr', { hasText: name });
    await row.waitFor();

    // Edit: the origins round-trip.
    await row.getByRole('button', { name, exact: true }).click();
    const edit = page.getByRole('dialog', { name: 'Edit widget' });
    assert.equal(await edit.getByLabel('Allowed origins').inputValue(), 'https://help.example.com\nhttps://www.example.com');
    await edit.getByLabel('Position').selectOption('left');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await row.getByText(/bottom left/).waitFor();

    // Delete.
    await row.getByRole('button', { name: `Actions for ${name}` }).click();
    await page.getByRole('menuitem', { name: 'Delete widget' }).click();
    await page.getByRole('dialog', { name: `Delete ${name}?` }).getByRole('button', { name: 'Delete widget' }).click();
    await row.waitFor({ state: 'detached' });

    // Saved replies: create one, it is listed.
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Saved replies' }).click();
    await page.getByRole('heading', { level: 1, name: 'Saved replies' }).waitFor();
    const shortcut = `hours-${unique()}`;
    await page.getByTestId('new-canned').click();
    const cannedDialog = page.getByRole('dialog', { name: 'New saved reply' });
    await cannedDialog.getByLabel('Shortcut').fill('Not Valid');
    await cannedDialog.getByLabel('Reply').fill('Hi {{contact.name}}, we are open 9:00 to 18:00.');
    await cannedDialog.getByRole('button', { name: 'Save reply' }).click();
    await cannedDialog.getByText('Use 1–40 lowercase letters').waitFor();
    await cannedDialog.getByLabel('Shortcut').fill(shortcut);
    await cannedDialog.getByRole('button', { name: 'Save reply' }).click();
    await page.locator(`tr[data-shortcut="${shortcut}"]`).waitFor();

    // Live queues.
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Live queues' }).click();
    await page.getByRole('heading', { level: 1, name: 'Live queues' }).waitFor();
    const card = page.locator(`.live-card[data-queue-id="${setup.queueId}"]`);
    await card.waitFor();
    await card.locator(`tr[data-user-id="${setup.agentId}"]`).waitFor();
    await card.locator('[data-stat="waiting"] .stat-value').waitFor();
    await page.waitForTimeout(200);
    await screenshot(page, 'live-queues');
    assertClean();
  } finally {
    await context.close();
  }
});

test('business hours set in the admin dialog close the widget, which says when it opens', async () => {
  const headers = { 'X-CSRF-Token': (await (await adminCtx.request.get('/api/v1/me')).json()).csrf_token };
  const name = `Hours ${unique()}`;
  const created = await adminCtx.request.post(`/api/v1/tenants/${setup.tid}/widgets`, { headers, data: { name, queue_id: setup.queueId, settings: { title: 'Hours desk' } } });
  assert.equal(created.status(), 201);
  const publicId = (await created.json()).public_id;
  const { page, context, assertClean } = await newPage(browser);
  const visitor = await visitorPage();
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.goto('/#/widgets');
    const row = page.locator('tr', { hasText: name });
    await row.getByRole('button', { name, exact: true }).click();
    const edit = page.getByRole('dialog', { name: 'Edit widget' });
    await edit.getByText('Only open at set hours').click();
    await edit.getByLabel('Time zone').fill('UTC');
    await edit.getByLabel('Monday').fill('17:00-09:00');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    // The server's check lands on the Monday field.
    await edit.getByText(/does not end after it starts/).waitFor();
    // Open around the clock, but today and tomorrow (UTC) are holidays.
    for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']) await edit.getByLabel(day).fill('00:00-24:00');
    const today = new Date();
    const tomorrow = new Date(Date.now() + 86_400_000);
    await edit.getByLabel('Holidays').fill(`${today.toISOString().slice(0, 10)} Stocktaking\n${tomorrow.toISOString().slice(0, 10)} Stocktaking`);
    await edit.getByLabel('Closed message').fill('We are closed for stocktaking.');
    await screenshot(page, 'widget-hours');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.waitFor({ state: 'detached' });

    await visitor.page.goto(`${siteUrl}?w=${publicId}`);
    const w = widget(visitor.page);
    await w.launcher.click();
    await w.host.locator('.s', { hasText: 'Closed' }).waitFor();
    const note = w.host.getByText(/We are closed for stocktaking\. We're back on \w+day/);
    await note.waitFor();
    await visitorSend(visitor.page, 'Leaving a message while you are closed');
    await screenshot(visitor.page, 'widget-closed');
    assert.deepEqual(visitor.problems, []);
    assertClean();
  } finally {
    await context.close();
    await visitor.context.close();
  }
});
