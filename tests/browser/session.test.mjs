// Session edge cases: the session ending under an open page, and a stale CSRF
// token after signing in again elsewhere in the same browser.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, loginAndWait, env, DEMO, unique } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('when the session ends, the next request leads to sign-in and back to the same page', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.goto('/#/api-keys');
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();

    // End the session behind the page's back (as expiry or revocation would).
    await page.evaluate(async () => {
      const me = await (await fetch('/api/v1/me')).json();
      await fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'X-CSRF-Token': me.csrf_token } });
    });

    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.match(page.url(), /#\/login\?next=/);

    await page.getByLabel('Email').fill(DEMO.admin);
    await page.getByLabel('Password', { exact: true }).fill(env.demoPassword);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    assert.match(page.url(), /#\/users$/);
    assertClean();
  } finally {
    await context.close();
  }
});

test('after signing in again in another tab, changes still go through (CSRF token refreshed)', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.goto('/#/api-keys');
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();

    // Another tab of the same browser signs in: new session cookie, new CSRF token.
    const relogin = await context.request.post('/api/v1/auth/login', { data: { email: DEMO.admin, password: env.demoPassword } });
    assert.equal(relogin.status(), 200);

    const name = `After relogin ${unique()}`;
    await page.getByRole('button', { name: 'Create API key' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create API key' });
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByLabel('Name').press('Enter');
    await page.getByRole('dialog', { name: 'Your new API key' }).waitFor();
    const secret = await page.locator('input[data-secret]').inputValue();
    assert.match(secret, /\S{20,}/);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('tbody tr', { hasText: name }).waitFor();
    assertClean();
  } finally {
    await context.close();
  }
});
