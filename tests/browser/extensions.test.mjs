// Extensions page: the demo admin creates an agent's extension, sees the SIP password once,
// finds the extension listed and provisioned (into the ARI stand-in the test script runs as
// the server's Asterisk) with its phone's registration and device state as Asterisk reports
// them, and the password is not on the page after a reload; an agent cannot open the page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, loginAndWait, logout, env, DEMO, screenshot } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('demo admin creates an extension and sees its password once', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Extensions' }).click();
    await page.getByRole('heading', { level: 1, name: 'Extensions' }).waitFor();

    // Ten digits from the clock: unique across runs against the same server.
    const number = String(Date.now()).slice(-10);
    await page.getByTestId('new-extension').click();
    const dialog = page.getByRole('dialog', { name: 'New extension' });
    await dialog.waitFor();
    await dialog.getByLabel('Number').fill('1');
    await dialog.getByLabel('Display name').fill('Alex desk phone');
    await dialog.getByTestId('save-extension').click();
    // Checked in the page before anything is sent.
    await dialog.getByText('Use 2 to 10 digits.').waitFor();
    await dialog.getByLabel('Number').fill(number);
    await dialog.getByLabel('Agent').selectOption({ label: `Alex Agent (${DEMO.agent1})` });
    await dialog.locator('input[data-codec="ulaw"]').uncheck();
    await dialog.getByLabel('Call limit').fill('3');
    await dialog.getByTestId('save-extension').click();

    const secret = page.getByRole('dialog', { name: `Extension ${number} created` });
    await secret.waitFor();
    const password = await secret.locator('input[data-secret]').inputValue();
    assert.ok(password.length >= 20, `generated SIP password too short: ${password}`);
    assert.match(await secret.innerText(), /demo-\d+/);
    await secret.getByRole('button', { name: 'Done' }).click();
    await secret.waitFor({ state: 'detached' });

    const row = page.locator(`tr[data-number="${number}"]`);
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /Alex desk phone/);
    assert.match(text, /Alex Agent/);
    assert.match(text, /g722, alaw/);
    assert.match(text, /Provisioned/);
    assert.doesNotMatch(text, /Not provisioned|Failed/);
    await screenshot(page, 'extensions-desktop');

    // The phone registers (the stand-in reports it as Asterisk does): the page says so after a
    // reload, and again when it goes away.
    const endpoint = (await row.locator('.user-email').first().innerText()).trim();
    const phoneState = async (behaviour, shown) => {
      const res = await fetch(`${env.ariControl}/phones/${endpoint}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ behaviour }),
      });
      assert.ok(res.ok, `phone ${behaviour}: ${res.status}`);
      for (let i = 0; i < 50; i += 1) {
        await page.reload();
        const cell = page.locator(`tr[data-number="${number}"] [data-testid="registration"]`);
        await cell.waitFor();
        if ((await cell.innerText()).includes(shown)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.fail(`the phone never showed ${shown}`);
    };
    // What the phone is doing (Asterisk's device state) and its calls; Refresh reads them
    // again without reloading the page.
    const calls = page.locator(`tr[data-number="${number}"] [data-testid="calls"]`);
    const device = async (shown) => {
      for (let i = 0; i < 50; i += 1) {
        await page.getByTestId('refresh-extensions').click();
        await page.waitForFunction(() => !document.querySelector('[data-testid="refresh-extensions"]').hasAttribute('aria-busy'));
        if ((await calls.innerText()).includes(shown)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.fail(`the phone never showed ${shown}: ${await calls.innerText()}`);
    };
    await phoneState('answers', 'Online');
    await device('Idle');
    assert.match(await calls.innerText(), /0 calls/);
    await phoneState('unregistered', 'Offline');
    await device('Unavailable');

    // From the server after a reload, and the password is nowhere on the page.
    await page.reload();
    await page.locator(`tr[data-number="${number}"]`).waitFor();
    assert.ok(!(await page.content()).includes(password), 'the SIP password is shown again');

    // A duplicate number is refused on the number field.
    await page.getByTestId('new-extension').click();
    await dialog.waitFor();
    await dialog.getByLabel('Number').fill(number);
    await dialog.getByLabel('Display name').fill('Twin');
    await dialog.getByTestId('save-extension').click();
    await dialog.getByText(/already exists/).waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // The include file names the new extension.
    const include = await page.evaluate(async () => {
      const res = await fetch(document.querySelector('[data-testid="download-include"]').getAttribute('href'));
      return res.text();
    });
    assert.match(include, new RegExp(`\\[demo-${number}\\]\\(agent-ep\\)`));

    await logout(page);
    assertClean();
  } finally {
    await context.close();
  }
});

test('an agent has no Extensions entry', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.agent1, env.demoPassword);
    const nav = page.getByRole('navigation', { name: 'Primary' });
    assert.equal(await nav.getByRole('link', { name: 'Extensions' }).count(), 0);
    assertClean();
  } finally {
    await context.close();
  }
});
