// Calls in the inbox, end to end: a real call through Switchboard's voice service, whose
// Asterisk is the ARI stand-in (`cargo run --example ari_standin`, started by the test script;
// its control API plays the caller and the agent's phone). In a fresh tenant with a queue, an
// agent with an extension, and a small IVR flow: the caller picks sales and types an account
// number, the agent's card shows who calls and their IVR path (the number masked), turns into
// "On call" when the phone is picked up, and after the agent hangs up the call is in the Calls
// view as ended, with its timeline and its recording to play or download, also on a phone.
// A second caller leaves a voicemail, which the agent finds with a player. A third is handed
// on by the agent with Transfer to extension 1002 (a desk phone that answers), and the call's
// timeline says so. A fourth is put on hold and resumed, then the agent consults the desk while
// the caller holds and puts the caller through. A fifth joins a three-way call with the agent
// and the desk, and stays with the agent when the desk is dropped.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, loginAndWait, env, unique, screenshot } from './helpers.mjs';

const PASSWORD = 'calls-test-pass-1';
const CALLER = '+14155550123';
const VM_CALLER = '+14155550188';
const XFER_CALLER = '+14155550177';
const CONSULT_CALLER = '+14155550166';
const THREE_WAY_CALLER = '+14155550155';
const DIALLED = '+14155550144';
const ACCOUNT = '4711';

// A menu whose key 1 leads to the sales queue (after an account number the flow keeps private)
// and key 2 to voicemail; the same nodes as the voice API tests' flow.
const FLOW = `version: 1
id: main
name: Browser test line
channels: [voice]
languages: [en-US]
defaults:
  language: en-US
  input: { timeout: "6s", max_attempts: 2 }
variables:
  account_number: { type: digits, pii: true }
start: menu
nodes:
  menu:
    type: menu
    prompt: "For sales, press 1. To leave a message, press 2."
    options: { "1": account, "2": vm }
    max_attempts: 2
    on_max_attempts: goodbye
  account:
    type: gather
    prompt: "Please enter your four digit account number."
    into: account_number
    min_digits: 4
    max_digits: 4
    next: q_sales
    on_max_attempts: q_sales
  q_sales:
    type: queue
    queue: sales
    on_no_agents: vm
    on_max_wait: vm
    on_full: vm
  vm:
    type: voicemail
    mailbox: "sales"
    greeting: "Please leave a message after the tone."
    max_length: "60s"
    next: "@hangup"
  goodbye:
    type: hangup
    prompt: "Goodbye."
`;

let browser;
let setup; // { tid, did, agentEmail, endpoint, desk }

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The stand-in's control API: JSON in and out; a refusal fails the test. */
async function control(method, path, body) {
  const res = await fetch(`${env.ariControl}${path}`, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Waits for Switchboard to send Asterisk the `n`-th request matching `pred`. */
async function asked(what, pred, { n = 1, timeout = 20_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const requests = await control('GET', '/requests');
    const found = requests.filter(pred);
    if (found.length >= n) return found[n - 1];
    if (Date.now() > deadline) {
      throw new Error(`Switchboard never asked Asterisk to ${what}; it asked:\n${requests.map((r) => `${r.method} ${r.path}`).join('\n')}`);
    }
    await sleep(100);
  }
}

const playsTo = (channel) => (r) => r.method === 'POST' && r.path.startsWith(`/ari/channels/${channel}/play`);

async function apiLogin(context, email, password) {
  const res = await context.request.post('/api/v1/auth/login', { data: { email, password } });
  assert.equal(res.status(), 200, await res.text());
  const me = await res.json();
  return { headers: { 'X-CSRF-Token': me.csrf_token } };
}

before(async () => {
  browser = await launch();
  const opCtx = await browser.newContext({ baseURL: env.url });
  try {
    // The operator makes the tenant and its people.
    const op = await apiLogin(opCtx, env.adminEmail, env.adminPassword);
    const suffix = unique();
    const slug = `calls-${suffix}`;
    const t = await opCtx.request.post('/api/v1/tenants', { headers: op.headers, data: { name: `Call Co ${suffix}`, slug } });
    assert.equal(t.status(), 201, await t.text());
    const tid = (await t.json()).id;
    const adminEmail = `calls-admin-${suffix}@example.com`;
    const agentEmail = `calls-agent-${suffix}@example.com`;
    const ids = {};
    for (const [email, name, role] of [
      [adminEmail, 'Ada Admin', 'admin'],
      [agentEmail, 'Cleo Agent', 'agent'],
    ]) {
      const r = await opCtx.request.post(`/api/v1/tenants/${tid}/users`, { headers: op.headers, data: { email, name, role, password: PASSWORD } });
      assert.equal(r.status(), 201, await r.text());
      ids[role] = (await r.json()).user.id;
    }
    const agentId = ids.agent;

    // Its admin sets up the line: queue, the agent's phone, the flow and the number.
    const adminCtx = await browser.newContext({ baseURL: env.url });
    try {
      const admin = await apiLogin(adminCtx, adminEmail, PASSWORD);
      const post = async (path, data, status = 201) => {
        const r = await adminCtx.request.post(`/api/v1/tenants/${tid}${path}`, { headers: admin.headers, data });
        assert.equal(r.status(), status, `${path}: ${await r.text()}`);
        return r.json();
      };
      await post('/queues', { name: 'sales', settings: { offer_timeout_secs: 60, record_calls: true }, members: [{ user_id: agentId }] });
      const x = await post('/extensions', { number: '1001', display_name: 'Cleo desk', user_id: agentId });
      assert.equal(x.provisioning.state, 'provisioned', JSON.stringify(x.provisioning));
      // A number no other run has routed: a DID belongs to one tenant.
      // It never contains the account number, whose absence from the timeline is asserted.
      let did = `+1555${String(Date.now()).slice(-7)}`;
      while (did.includes(ACCOUNT)) did = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      await post('/flows/publish', { path: 'flows/main.yaml', text: FLOW }, 200);
      await post('/flows/publish', { path: 'routes.yaml', text: `version: 1\nroutes:\n  - match: { did: "${did}" }\n    flow: main\n    caller_id_name: Acme Sales\n` }, 200);
      // A desk phone without an agent, which calls are transferred to; it answers at once.
      const desk = await post('/extensions', { number: '1002', display_name: 'Front desk' });
      assert.equal(desk.provisioning.state, 'provisioned', JSON.stringify(desk.provisioning));
      const endpoint = `${slug}-1001`;
      // The phone is registered and rings until the test picks it up.
      await control('POST', `/phones/${endpoint}`, { behaviour: 'no_answer' });
      await control('POST', `/phones/${slug}-1002`, { behaviour: 'answers', after_ms: 200 });
      setup = { tid, did, agentEmail, endpoint, desk: `${slug}-1002` };
    } finally {
      await adminCtx.close();
    }
  } finally {
    await opCtx.close();
  }
});

after(async () => {
  await browser?.close();
});

/** The agent in the inbox, available. */
async function agentInbox() {
  const agent = await newPage(browser);
  const { page } = agent;
  await loginAndWait(page, setup.agentEmail, PASSWORD);
  await page.goto('/#/inbox');
  await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
  await page.getByTestId('presence-switch').click();
  await page.getByRole('menuitemradio', { name: /Available/ }).click();
  await page.getByTestId('presence-switch').filter({ hasText: 'Available' }).waitFor();
  await page.locator('.conn-live').waitFor({ state: 'attached' });
  return agent;
}

/** Resolves with the duration of an <audio> once the browser has read the file (-1: error). */
function audioDuration(audio) {
  return audio.evaluate(
    (el) =>
      new Promise((resolve) => {
        if (el.readyState >= 1 && Number.isFinite(el.duration)) return resolve(el.duration);
        el.addEventListener('loadedmetadata', () => resolve(el.duration), { once: true });
        el.addEventListener('error', () => resolve(-1), { once: true });
        el.load();
      }),
  );
}

test('a call rings the agent with the caller and the IVR path, is "On call" once picked up, and ends into the Calls view with its timeline and recording', async () => {
  const agent = await agentInbox();
  const { page } = agent;
  try {
    /* The caller dials in, picks sales and types an account number. */
    const { channel } = await control('POST', '/calls', { did: setup.did, caller: CALLER });
    await asked('play the menu', playsTo(channel));
    await control('POST', `/calls/${channel}/dtmf`, { digit: '1' });
    await asked('ask for the account number', playsTo(channel), { n: 2 });
    for (const digit of ACCOUNT) await control('POST', `/calls/${channel}/dtmf`, { digit });
    const ring = await asked("ring the agent's phone", (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${setup.endpoint}`);
    const leg = ring.query.channelId;
    assert.ok(leg, 'the agent leg has an id');

    /* The card: who calls, the number dialled, the queue, the IVR path with the number masked. */
    const card = page.getByTestId('call-card');
    await card.filter({ hasText: 'Incoming call' }).waitFor();
    assert.equal(await card.getByTestId('call-caller').innerText(), CALLER);
    assert.equal(await card.getAttribute('aria-label'), `Incoming call: ${CALLER}`);
    const facts = await card.locator('.call-facts').innerText();
    // The line's name (routes.yaml's caller_id_name) before the number, as on the agent's phone.
    assert.match(facts, new RegExp(`Dialled\\s+Acme Sales \\(\\${setup.did}\\)`));
    assert.equal(ring.query.callerId, `"Acme Sales: ${CALLER}" <${CALLER}>`);
    assert.match(facts, /Queue\s+sales/);
    const path = card.getByTestId('call-ivr');
    const menu = path.locator('.call-step[data-node="menu"]');
    await menu.waitFor();
    assert.equal(await menu.locator('.call-step-digits').innerText(), 'pressed 1');
    assert.equal(await menu.locator('.call-step-exit').innerText(), 'option 1');
    const account = path.locator('.call-step[data-node="account"]');
    assert.equal(await account.locator('.call-step-type').innerText(), 'gather');
    assert.equal(await account.locator('kbd').innerText(), '****');
    assert.equal(await account.locator('.call-step-exit').innerText(), 'next');
    assert.doesNotMatch(await path.innerText(), new RegExp(ACCOUNT), 'the account number stays private');
    assert.match(await card.innerText(), /Answer on your phone/);
    assert.equal(await card.getByRole('button').count(), 0, 'nothing to click: calls are answered on the phone');
    await screenshot(page, 'inbox-call-incoming');

    /* The agent picks up: "On call" with a running timer. */
    await control('POST', `/calls/${leg}/answer`);
    const onCall = card.filter({ hasText: 'On call' });
    await onCall.waitFor();
    await page.waitForFunction(() => /^0:0[2-9]$/.test(document.querySelector('[data-testid="call-card"] .call-timer')?.textContent || ''), null, { timeout: 10_000 });
    assert.equal(await onCall.locator('[data-testid="call-caller"]').innerText(), CALLER);
    await screenshot(page, 'inbox-call-on-call');

    /* The agent hangs up on the phone: the card says so, and the call is in the Calls view. */
    await control('POST', `/calls/${leg}/hangup`);
    await card.filter({ hasText: 'Call ended' }).waitFor();
    await page.getByRole('tab', { name: 'Calls' }).click();
    const row = page.getByTestId('call-row').filter({ hasText: CALLER });
    await row.filter({ hasText: 'Ended' }).waitFor();
    assert.match(await row.innerText(), /Agent hung up/);
    assert.match(await row.innerText(), /sales/);
    await row.click();

    const detail = page.getByTestId('call-detail');
    await detail.waitFor();
    assert.equal(await page.getByTestId('call-title').innerText(), CALLER);
    assert.equal(await detail.getByTestId('call-outcome').innerText(), 'Agent hung up');
    const timeline = detail.getByTestId('call-timeline');
    const kinds = await timeline.locator('.call-event').evaluateAll((els) => els.map((el) => el.dataset.kind));
    for (const kind of ['entered', 'ivr_node', 'queued', 'offered', 'answered', 'recording', 'ended']) assert.ok(kinds.includes(kind), `${kind} missing from ${kinds}`);
    assert.ok(kinds.indexOf('answered') < kinds.indexOf('ended'), `${kinds}`);
    const text = await timeline.innerText();
    for (const line of ['Call came in', 'IVR: menu', 'IVR: account', 'Queued in sales', 'Rang you', 'Answered by you', 'Call ended']) assert.ok(text.includes(line), `“${line}” missing from the timeline:\n${text}`);
    assert.doesNotMatch(text, new RegExp(ACCOUNT));

    /* The recording plays and downloads (it is fetched from Asterisk after the call). */
    const recording = detail.getByTestId('recording');
    const audio = recording.locator('audio');
    await audio.waitFor({ timeout: 15_000 });
    assert.match(await audio.getAttribute('src'), new RegExp(`^/api/v1/tenants/${setup.tid}/recordings/\\d+/audio$`));
    assert.ok((await audioDuration(audio)) > 0, 'the browser reads the recording');
    const download = recording.getByRole('link', { name: 'Download call recording' });
    const href = await download.getAttribute('href');
    const saved = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, disposition: res.headers.get('content-disposition'), type: res.headers.get('content-type') };
    }, href);
    assert.deepEqual(saved, { status: 200, disposition: `attachment; filename="recording-${href.match(/recordings\/(\d+)/)[1]}.wav"`, type: 'audio/wav' });
    await screenshot(page, 'inbox-call-detail');

    /* On a phone: the detail alone, and back to the list. */
    await page.setViewportSize({ width: 390, height: 844 });
    await detail.waitFor();
    assert.equal(await page.locator('.inbox-list').isVisible(), false, 'the list gives way to the call');
    await screenshot(page, 'inbox-call-detail-mobile');
    await page.getByRole('button', { name: 'Back to calls' }).click();
    await row.waitFor();
    assert.equal(await detail.isVisible(), false);
    await screenshot(page, 'inbox-calls-mobile');
    agent.assertClean();
  } finally {
    await agent.context.close();
  }
});

test('a voicemail is listed for the team with a player', async () => {
  const agent = await agentInbox();
  const { page } = agent;
  try {
    const { channel } = await control('POST', '/calls', { did: setup.did, caller: VM_CALLER });
    await asked('play the menu', playsTo(channel));
    await control('POST', `/calls/${channel}/dtmf`, { digit: '2' });
    await asked('record the message', (r) => r.method === 'POST' && r.path === `/ari/channels/${channel}/record`);
    await sleep(1200); // a message of about a second
    await control('POST', `/calls/${channel}/dtmf`, { digit: '#' });
    await asked('hang up after the message', (r) => r.method === 'DELETE' && r.path === `/ari/channels/${channel}`);

    // The agent is on the chats: the Voicemail tab counts the new message.
    const tab = page.getByRole('tab', { name: /Voicemail/ });
    await tab.locator('.view-count', { hasText: '1' }).waitFor();
    await tab.click();
    const item = page.getByTestId('voicemail').first();
    await item.waitFor();
    assert.match(await item.innerText(), /Mailbox sales/);
    const audio = item.locator('audio');
    await audio.waitFor({ timeout: 15_000 });
    assert.ok((await audioDuration(audio)) > 0, 'the browser reads the message');
    assert.equal(await tab.locator('.view-count').isVisible(), false, 'seen');
    await screenshot(page, 'inbox-voicemail');
    agent.assertClean();
  } finally {
    await agent.context.close();
  }
});

test('the agent transfers a connected call to another extension: the card says where it went and the timeline shows the transfer', async () => {
  const agent = await agentInbox();
  const { page } = agent;
  try {
    /* A caller reaches the agent, who picks up. */
    const isRing = (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${setup.endpoint}` && r.query.channelId;
    const before = (await control('GET', '/requests')).filter(isRing).length;
    const { channel } = await control('POST', '/calls', { did: setup.did, caller: XFER_CALLER });
    await asked('play the menu', playsTo(channel));
    await control('POST', `/calls/${channel}/dtmf`, { digit: '1' });
    await asked('ask for the account number', playsTo(channel), { n: 2 });
    for (const digit of ACCOUNT) await control('POST', `/calls/${channel}/dtmf`, { digit });
    const ring = await asked("ring the agent's phone", isRing, { n: before + 1 });
    const card = page.getByTestId('call-card').filter({ hasText: XFER_CALLER });
    await card.filter({ hasText: 'Incoming call' }).waitFor();
    await control('POST', `/calls/${ring.query.channelId}/answer`);
    await card.filter({ hasText: 'On call' }).waitFor();
    const callId = Number(await card.getAttribute('data-call-id'));

    /* Transfer: a dialog that keeps the focus, closes with Escape, and checks what is typed. */
    const transfer = card.getByRole('button', { name: `Transfer the call from ${XFER_CALLER}` });
    await transfer.click();
    const dialog = page.getByRole('dialog', { name: 'Transfer call' });
    await dialog.waitFor();
    assert.equal(await dialog.getByRole('radio', { name: 'Extension' }).getAttribute('aria-checked'), 'true');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Transfer', 'the focus is back on the button');
    await transfer.click();
    await dialog.waitFor();
    for (let i = 0; i < 8; i += 1) {
      await page.keyboard.press('Tab');
      assert.ok(await dialog.evaluate((el) => el.contains(document.activeElement)), 'the focus stays in the dialog');
    }
    // A number must be E.164.
    await dialog.getByRole('radio', { name: 'Number' }).click();
    await dialog.getByLabel('Number').fill('415 555');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await dialog.locator('.field-error', { hasText: 'Enter the number in E.164 form' }).waitFor();
    assert.equal(await dialog.getByLabel('Number').getAttribute('aria-invalid'), 'true');
    // An unknown extension: the server's answer is shown in the dialog, which stays open.
    await dialog.getByRole('radio', { name: 'Extension' }).click();
    const ext = dialog.getByRole('combobox', { name: 'Extension' });
    await ext.fill('9999');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await dialog.getByRole('alert').filter({ hasText: /no extension 9999/i }).waitFor();
    // The phone directory (any member reads it) lists the other phones, not the agent's own,
    // with whether each takes a call now; typing narrows it, and 1002 is picked from it.
    await ext.fill('');
    const directory = dialog.getByRole('listbox', { name: 'Phone directory' });
    const desk = directory.getByRole('option', { name: /1002/ });
    await desk.waitFor();
    assert.match(await desk.innerText(), /Front desk/);
    assert.match(await desk.innerText(), /Available/);
    assert.equal(await directory.getByRole('option', { name: /1001/ }).count(), 0, "the agent's own phone is not offered");
    await ext.fill('nobody');
    assert.equal(await directory.getByRole('option').count(), 0);
    await ext.fill('front');
    assert.equal(await directory.getByRole('option').count(), 1);
    // From the keyboard: the arrow keys move through the list and Enter picks (not submits).
    await ext.fill('');
    await ext.press('ArrowDown');
    assert.equal(await ext.getAttribute('aria-activedescendant'), await desk.getAttribute('id'));
    await ext.press('Enter');
    assert.equal(await ext.inputValue(), '1002');
    assert.ok(await dialog.isVisible(), 'Enter on the list picks without sending');
    // And with the mouse.
    await ext.fill('');
    await desk.click();
    assert.equal(await ext.inputValue(), '1002');
    assert.equal(await desk.getAttribute('aria-selected'), 'true');
    assert.ok(await ext.evaluate((el) => el === document.activeElement), 'the focus stays in the box');
    await screenshot(page, 'inbox-call-transfer');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await dialog.waitFor({ state: 'detached' });

    /* The card says the call was handed on, a toast says where; the desk phone is rung. */
    const handed = card.filter({ hasText: 'Call transferred' });
    await handed.waitFor();
    assert.equal(await handed.getByTestId('call-handed-on').innerText(), 'Handed on to extension 1002');
    await page.getByText('Call transferred to extension 1002.').waitFor();
    assert.equal(await handed.getByRole('button', { name: /Transfer/ }).count(), 0);
    const deskRing = await asked('ring extension 1002', (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${setup.desk}`);
    await asked("hang up the agent's phone", (r) => r.method === 'DELETE' && r.path === `/ari/channels/${ring.query.channelId}`);
    /* The desk picks up: the call is with the desk now. */
    await control('POST', `/calls/${deskRing.query.channelId}/answer`);
    let call;
    for (let i = 0; i < 100; i += 1) {
      const res = await page.request.get(`/api/v1/tenants/${setup.tid}/calls/${callId}`);
      assert.equal(res.status(), 200);
      call = await res.json();
      if (call.transferred_to) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(call.transferred_to, 'extension 1002 (Front desk)');

    /* The timeline (API and Calls view) shows the transfer. */
    const kinds = call.timeline.map((e) => e.kind);
    assert.ok(kinds.includes('transferred_by_agent') && kinds.includes('transferring'), `${kinds}`);
    assert.ok(kinds.indexOf('answered') < kinds.indexOf('transferred_by_agent'), `${kinds}`);
    await handed.getByRole('button', { name: 'Call details' }).click();
    const timeline = page.getByTestId('call-detail').getByTestId('call-timeline');
    await timeline.locator('.call-event[data-kind="transferred_by_agent"]').waitFor();
    const text = await timeline.innerText();
    assert.match(text, /Transferred by you\s*to extension 1002/);
    assert.match(text, /Transferring/);
    assert.equal(await page.getByTestId('call-detail').getByTestId('call-transferred-to').innerText(), 'extension 1002 (Front desk)');
    await screenshot(page, 'inbox-call-transferred');

    /* The caller and the desk finish their talk. */
    await control('POST', `/calls/${channel}/hangup`);
    agent.assertClean();
  } finally {
    await agent.context.close();
  }
});

test('the agent holds a call, consults the desk while the caller hears music, and puts the caller through', async () => {
  const agent = await agentInbox();
  const { page } = agent;
  try {
    const isRing = (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${setup.endpoint}` && r.query.channelId;
    const before = (await control('GET', '/requests')).filter(isRing).length;
    const { channel } = await control('POST', '/calls', { did: setup.did, caller: CONSULT_CALLER });
    await asked('play the menu', playsTo(channel));
    await control('POST', `/calls/${channel}/dtmf`, { digit: '1' });
    await asked('ask for the account number', playsTo(channel), { n: 2 });
    for (const digit of ACCOUNT) await control('POST', `/calls/${channel}/dtmf`, { digit });
    const ring = await asked("ring the agent's phone", isRing, { n: before + 1 });
    const card = page.getByTestId('call-card').filter({ hasText: CONSULT_CALLER });
    await card.filter({ hasText: 'Incoming call' }).waitFor();
    await control('POST', `/calls/${ring.query.channelId}/answer`);
    await card.filter({ hasText: 'On call' }).waitFor();
    const callId = Number(await card.getAttribute('data-call-id'));
    const mohFor = (r) => r.method === 'POST' && r.path === `/ari/channels/${channel}/moh`;

    /* Hold: the caller hears music; Resume: back to talking. */
    await card.getByRole('button', { name: `Put the call from ${CONSULT_CALLER} on hold` }).click();
    await card.filter({ hasText: 'On hold' }).waitFor();
    await card.getByText('The caller hears music on hold.').waitFor();
    await asked('play music on hold to the caller', mohFor);
    await card.getByRole('button', { name: `Take the call from ${CONSULT_CALLER} off hold` }).click();
    await card.filter({ hasText: 'On call' }).waitFor();
    await asked('stop the music', (r) => r.method === 'DELETE' && r.path === `/ari/channels/${channel}/moh`);

    /* Consult first: the desk is rung from the agent's phone while the caller holds. */
    await card.getByRole('button', { name: `Transfer the call from ${CONSULT_CALLER}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Transfer call' });
    await dialog.waitFor();
    await dialog.getByRole('radio', { name: 'Queue' }).click();
    assert.equal(await dialog.getByRole('button', { name: 'Consult first' }).isVisible(), false, 'a queue cannot be consulted');
    await dialog.getByRole('radio', { name: 'Extension' }).click();
    const ext = dialog.getByLabel('Extension', { exact: true });
    if (await ext.evaluate((el) => el.tagName === 'SELECT')) await ext.selectOption('1002');
    else await ext.fill('1002');
    await dialog.getByRole('button', { name: 'Consult first' }).click();
    await dialog.waitFor({ state: 'detached' });
    await card.filter({ hasText: 'Consulting' }).waitFor();
    const consult = await asked('ring the desk from the agent\'s phone', (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${setup.desk}` && r.query.originator === ring.query.channelId);
    await asked('play music on hold to the caller again', mohFor, { n: 2 });
    const status = card.getByTestId('call-status');
    await status.filter({ hasText: `Talking to extension 1002; ${CONSULT_CALLER} is on hold.` }).waitFor();
    await screenshot(page, 'inbox-call-consulting');

    /* Complete: the caller is put through to the desk, the agent's phone hangs up. */
    await card.getByRole('button', { name: `Put ${CONSULT_CALLER} through to extension 1002` }).click();
    const handed = card.filter({ hasText: 'Call transferred' });
    await handed.waitFor();
    assert.equal(await handed.getByTestId('call-handed-on').innerText(), 'Handed on to extension 1002');
    await page.getByText('Call transferred to extension 1002.').waitFor();
    await asked("hang up the agent's phone", (r) => r.method === 'DELETE' && r.path === `/ari/channels/${ring.query.channelId}`);
    await asked('bridge the caller with the desk', (r) => r.path.endsWith('/addChannel') && String(r.query.channel || '').includes(channel) && String(r.query.channel || '').includes(consult.query.channelId));

    /* The Calls view tells the story. */
    await handed.getByRole('button', { name: 'Call details' }).click();
    const timeline = page.getByTestId('call-detail').getByTestId('call-timeline');
    await timeline.locator('.call-event[data-kind="transferred_by_agent"]').waitFor();
    const text = await timeline.innerText();
    assert.match(text, /Put on hold by you/);
    assert.match(text, /Taken off hold/);
    assert.match(text, /Consulted extension 1002\s*by you/);
    assert.match(text, /Consultation answered/);
    assert.match(text, /Put through by you\s*to extension 1002 · after consulting/);
    const res = await page.request.get(`/api/v1/tenants/${setup.tid}/calls/${callId}`);
    const kinds = (await res.json()).timeline.map((e) => e.kind);
    assert.ok(kinds.includes('transferred'), `${kinds}`);

    await control('POST', `/calls/${channel}/hangup`);
    agent.assertClean();
  } finally {
    await agent.context.close();
  }
});

test('the agent joins the caller and the consulted desk into a three-way call, then drops the desk', async () => {
  const agent = await agentInbox();
  const { page } = agent;
  try {
    const isRing = (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${setup.endpoint}` && r.query.channelId;
    const before = (await control('GET', '/requests')).filter(isRing).length;
    const { channel } = await control('POST', '/calls', { did: setup.did, caller: THREE_WAY_CALLER });
    await asked('play the menu', playsTo(channel));
    await control('POST', `/calls/${channel}/dtmf`, { digit: '1' });
    await asked('ask for the account number', playsTo(channel), { n: 2 });
    for (const digit of ACCOUNT) await control('POST', `/calls/${channel}/dtmf`, { digit });
    const ring = await asked("ring the agent's phone", isRing, { n: before + 1 });
    const card = page.getByTestId('call-card').filter({ hasText: THREE_WAY_CALLER });
    await card.filter({ hasText: 'Incoming call' }).waitFor();
    await control('POST', `/calls/${ring.query.channelId}/answer`);
    await card.filter({ hasText: 'On call' }).waitFor();

    await card.getByRole('button', { name: `Transfer the call from ${THREE_WAY_CALLER}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Transfer call' });
    await dialog.waitFor();
    await dialog.getByLabel('Extension', { exact: true }).fill('1002');
    await dialog.getByRole('button', { name: 'Consult first' }).click();
    await dialog.waitFor({ state: 'detached' });
    await card.getByTestId('call-status').filter({ hasText: 'Talking to extension 1002' }).waitFor();

    /* Join all three: no more music for the caller, who is bridged with both phones. */
    await card.getByRole('button', { name: `Bring ${THREE_WAY_CALLER} into your talk with extension 1002` }).click();
    await card.filter({ hasText: 'Three-way call' }).waitFor();
    await card.getByTestId('call-status').filter({ hasText: `Three-way call with ${THREE_WAY_CALLER} and extension 1002.` }).waitFor();
    await asked('bring the caller into the talk', (r) => r.path.endsWith('/addChannel') && r.query.channel === channel);
    await screenshot(page, 'inbox-call-three-way');

    /* Drop the desk: the agent and the caller talk on. */
    await card.getByRole('button', { name: `Hang up extension 1002 and stay with ${THREE_WAY_CALLER}` }).click();
    await card.filter({ hasText: 'On call' }).waitFor();
    assert.equal(await card.getByRole('button', { name: `Transfer the call from ${THREE_WAY_CALLER}` }).count(), 1);
    const consult = await asked('ring the desk', (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${setup.desk}` && r.query.originator === ring.query.channelId);
    await asked('hang up the desk', (r) => r.method === 'DELETE' && r.path === `/ari/channels/${consult.query.channelId}`);

    await control('POST', `/calls/${ring.query.channelId}/hangup`);
    await card.filter({ hasText: 'Call ended' }).waitFor();
    agent.assertClean();
  } finally {
    await agent.context.close();
  }
});

test('the agent calls a number from the inbox: their phone rings first, then the number, and the finished call can be called back', async () => {
  const agent = await agentInbox();
  const { page } = agent;
  try {
    await page.getByRole('tab', { name: 'Calls' }).click();
    await page.getByTestId('call-dial').click();
    const dialog = page.getByRole('dialog', { name: 'Call a number' });
    await dialog.waitFor();
    const number = dialog.getByLabel('Number');
    /* A number without its country code is refused on the field, before anything is sent. */
    await number.fill('4155550144');
    await dialog.getByRole('button', { name: 'Call' }).click();
    await dialog.locator('.field-error', { hasText: 'Enter the number in E.164 form' }).waitFor();
    /* Pasted with spaces and brackets: fine. */
    await number.fill('+1 (415) 555-0144');
    const isRing = (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${setup.endpoint}` && r.query.channelId;
    const before = (await control('GET', '/requests')).filter(isRing).length;
    // The customer's phone, reached through the trunk, answers.
    await control('POST', `/phones/${encodeURIComponent(`${DIALLED}@itsp`)}`, { behaviour: 'answers', after_ms: 200 });
    await dialog.getByRole('button', { name: 'Call' }).click();
    await dialog.waitFor({ state: 'detached' });

    /* The agent's phone rings first; picked up, the number is dialled. */
    const ring = await asked("ring the agent's phone", isRing, { n: before + 1 });
    await control('POST', `/calls/${ring.query.channelId}/answer`);
    await asked('dial the number through the trunk', (r) => r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === `PJSIP/${DIALLED}@itsp`);
    /* The call is the one shown, as it goes. */
    assert.equal(await page.getByTestId('call-title').innerText(), DIALLED);
    await screenshot(page, 'inbox-call-dialled');

    /* They talk; the agent hangs up; the finished call offers Call back, with the number filled in. */
    await asked('connect the agent and the customer', (r) => r.path.endsWith('/addChannel') && String(r.query.channel || '').includes(ring.query.channelId));
    await control('POST', `/calls/${ring.query.channelId}/hangup`);
    const again = page.getByTestId('call-back');
    await again.waitFor();
    await again.click();
    const redial = page.getByRole('dialog', { name: 'Call a number' });
    await redial.waitFor();
    assert.equal(await redial.getByLabel('Number').inputValue(), DIALLED);
    await redial.getByRole('button', { name: 'Cancel' }).click();
    await redial.waitFor({ state: 'detached' });
    agent.assertClean();
  } finally {
    await agent.context.close();
  }
});
