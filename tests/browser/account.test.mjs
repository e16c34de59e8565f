// Account page: a user changes their own password.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, loginAndWait, logout, env, DEMO, unique } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The demo admin adds an agent with a known password (through the API) and signs out. */
async function createAgent(page, email, password) {
  await loginAndWait(page, DEMO.admin, env.demoPassword);
  const status = await page.evaluate(
    async ({ email, password }) => {
      const me = await (await fetch('/api/v1/me')).json();
      const tid = me.memberships.find((m) => m.tenant_slug === 'demo').tenant_id;
      const res = await fetch(`/api/v1/tenants/${tid}/users`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: JSON.stringify({ name: 'Pat Password', email, role: 'agent', password }),
      });
      return res.status;
    },
    { email, password },
  );
  assert.equal(status, 201);
  await logout(page);
}

test('a user changes their password, with inline errors for wrong input', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    const email = `pat-${unique()}@demo.example`;
    const first = `first-password-${unique()}`;
    const second = `second-password-${unique()}`;
    await createAgent(page, email, first);

    await loginAndWait(page, email, first);
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: 'Account settings' }).click();
    await page.getByRole('heading', { level: 1, name: 'Account' }).waitFor();

    const current = page.getByLabel('Current password', { exact: true });
    const next = page.getByLabel('New password', { exact: true });
    const confirm = page.getByLabel('Confirm new password', { exact: true });

    // Too short: caught before anything is sent.
    await current.fill(first);
    await next.fill('short');
    await confirm.fill('short');
    await confirm.press('Enter');
    await page.getByText('Use at least 10 characters.').waitFor();
    assert.equal(await next.getAttribute('aria-invalid'), 'true');

    // Wrong current password: the server says so, next to the field, and we stay signed in.
    await current.fill('not-my-password-at-all');
    await next.fill(second);
    await confirm.fill(second);
    await confirm.press('Enter');
    await page.getByText('That is not your current password.').waitFor();
    assert.equal(await current.getAttribute('aria-invalid'), 'true');
    assert.match(page.url(), /#\/account$/);

    // The real change.
    await current.fill(first);
    await confirm.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Your password was changed.' }).first().waitFor();
    assert.equal(await current.inputValue(), '');

    await logout(page);
    await loginAndWait(page, email, second);
    await page.getByText('What you can do here').waitFor();
    assertClean();
  } finally {
    await context.close();
  }
});
