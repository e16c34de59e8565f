// Sign-in behaviour: wrong credentials and keyboard use of the login page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, env, DEMO, unique, screenshot } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function submitLogin(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  await alert.waitFor();
  return (await alert.innerText()).trim();
}

test('a wrong password shows a clear error that does not reveal whether the email exists', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await page.goto('/#/login');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    const unknown = await submitLogin(page, `nobody-${unique()}@example.com`, 'not-the-password-1');
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const known = await submitLogin(page, DEMO.agent2, `wrong-${unique()}`);
    // A successful sign-in clears the account's failure count, so reruns against
    // the same server never lock agent2 out.
    const reset = await context.request.post('/api/v1/auth/login', { data: { email: DEMO.agent2, password: env.demoPassword } });
    assert.equal(reset.status(), 200);
    await context.clearCookies();

    assert.equal(known, unknown, 'an existing and an unknown email must get the same message');
    assert.match(known, /email or password/i);
    assert.doesNotMatch(known, /not found|no such|does not exist|unknown user|no account/i);
    // Still on the login page, password cleared and focused for the next try.
    assert.match(page.url(), /#\/login/);
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'password');
    await screenshot(page, 'login-error');
    assertClean();
  } finally {
    await context.close();
  }
});

test('the login page is keyboard-usable: Tab reaches the fields and Enter submits', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await page.goto('/#/login');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, 'login');
    await page.evaluate(() => document.activeElement?.blur());

    // Tab from the top of the document until the email field has focus.
    let reached = false;
    for (let i = 0; i < 8 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.getAttribute('name') === 'email');
    }
    assert.ok(reached, 'Tab never reached the email field');
    // The focused field shows a visible focus indicator.
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return s.boxShadow !== 'none' || (s.outlineStyle !== 'none' && s.outlineWidth !== '0px');
    });
    assert.ok(ring, 'the focused email field has no visible focus ring');

    await page.keyboard.type(DEMO.supervisor);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'password');
    await page.keyboard.type(env.demoPassword);
    await page.keyboard.press('Enter');

    await page.locator('nav[aria-label="Primary"]').waitFor();
    await page.getByRole('heading', { level: 1 }).waitFor();
    assert.match(page.url(), /#\/home/);
    await page.getByText('What you can do here').waitFor();
    assertClean();
  } finally {
    await context.close();
  }
});
