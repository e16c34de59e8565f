// Users page: a tenant admin manages users; an agent cannot reach the page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, loginAndWait, logout, env, DEMO, unique, screenshot } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('demo admin creates a user, sees it listed, and signs out', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page.locator('table.table-users').waitFor();
    // The seeded agent is listed.
    await page.locator(`tr[data-user-email="${DEMO.agent1}"]`).waitFor();

    const email = `new-${unique()}@demo.example`;
    await page.getByTestId('add-user').click();
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await dialog.waitFor();
    // Escape closes the dialog, and it opens again.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('add-user').click();
    await dialog.waitFor();

    await dialog.getByLabel('Full name').fill('Grace Hopper');
    await dialog.getByLabel('Email').fill(email);
    await dialog.getByLabel('Role').selectOption('supervisor');
    await dialog.getByLabel('Email').press('Enter');

    // The generated password is shown once.
    const secret = page.getByRole('dialog', { name: 'Share the password' });
    await secret.waitFor();
    const password = await secret.locator('input[data-secret]').inputValue();
    assert.ok(password.length >= 10, `generated password too short: ${password}`);
    await secret.getByRole('button', { name: 'Done' }).click();
    await secret.waitFor({ state: 'detached' });

    const row = page.locator(`tr[data-user-email="${email}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /Grace Hopper/);
    assert.match(await row.innerText(), /Supervisor/);
    await page.getByRole('status').filter({ hasText: 'was added' }).first().waitFor();

    // Survives a reload: it comes from the server, not only from the page state.
    await page.reload();
    await page.locator(`tr[data-user-email="${email}"]`).waitFor();
    await page.waitForTimeout(300);
    await screenshot(page, 'users-desktop');

    await logout(page);
    assert.match(page.url(), /#\/login/);
    assertClean();
  } finally {
    await context.close();
  }
});

test('the users page at a 390px mobile viewport', async () => {
  const { page, context, assertClean } = await newPage(browser, { viewport: { width: 390, height: 844 } });
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.goto('/#/users');
    await page.locator('table.table-users').waitFor();
    // The sidebar is collapsed behind the menu button.
    assert.equal(await page.locator('#sidebar').isVisible(), false);
    await page.waitForTimeout(300);
    await screenshot(page, 'users-mobile');
    await page.getByRole('button', { name: 'Open navigation' }).click();
    await page.locator('#sidebar').getByRole('link', { name: 'Users' }).waitFor({ state: 'visible' });
    await page.waitForTimeout(300);
    await screenshot(page, 'users-mobile-nav');
    await page.keyboard.press('Escape');
    await page.waitForTimeout(300);
    assert.equal(await page.locator('#sidebar').isVisible(), false);
    assertClean();
  } finally {
    await context.close();
  }
});

test('markup in a user name is shown as text, never run', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    const name = 'Mallory <img src=x onerror="window.__xss=1"><b>bold</b>';
    const email = `markup-${unique()}@demo.example`;
    const status = await page.evaluate(
      async ({ name, email }) => {
        const me = await (await fetch('/api/v1/me')).json();
        const tid = me.memberships.find((m) => m.tenant_slug === 'demo').tenant_id;
        const res = await fetch(`/api/v1/tenants/${tid}/users`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
          body: JSON.stringify({ name, email, role: 'agent' }),
        });
        return res.status;
      },
      { name, email },
    );
    assert.equal(status, 201);
    await page.goto('/#/users');
    const row = page.locator(`tr[data-user-email="${email}"]`);
    await row.waitFor();
    assert.ok((await row.innerText()).includes(name), 'the name is not shown literally');
    assert.equal(await row.locator('img, b').count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assertClean();
  } finally {
    await context.close();
  }
});

test('an agent has no Users entry and sees a no-access state at #/users', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.agent1, env.demoPassword);
    const nav = page.getByRole('navigation', { name: 'Primary' });
    assert.equal(await nav.getByRole('link', { name: 'Users' }).count(), 0);
    assert.equal(await nav.getByRole('link', { name: 'Tenants' }).count(), 0);
    await page.getByText('What you can do here').waitFor();

    await page.goto('/#/users');
    await page.getByRole('heading', { name: "You don't have access to this page" }).waitFor();
    assert.equal(await page.locator('table.table-users').count(), 0);
    await screenshot(page, 'agent-no-access');

    // The server agrees: the API refuses the list too.
    const status = await page.evaluate(async () => {
      const me = await (await fetch('/api/v1/me', { credentials: 'same-origin' })).json();
      const demo = me.memberships.find((m) => m.tenant_slug === 'demo');
      const res = await fetch(`/api/v1/tenants/${demo.tenant_id}/users`, { credentials: 'same-origin' });
      return res.status;
    });
    assert.equal(status, 403);
    assertClean();
  } finally {
    await context.close();
  }
});
