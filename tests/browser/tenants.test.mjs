// Tenants page: the platform operator creates a tenant.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, loginAndWait, env, unique, screenshot } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the operator creates a tenant and sees it listed', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, env.adminEmail, env.adminPassword);
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Tenants' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();

    const id = unique();
    const name = `Browser Test ${id}`;
    const slug = `browser-test-${id}`;
    await page.getByTestId('new-tenant').click();
    const dialog = page.getByRole('dialog', { name: 'New tenant' });
    await dialog.waitFor();
    await dialog.getByLabel('Name', { exact: true }).fill(name);
    // The slug follows the name until it is edited by hand.
    assert.equal(await dialog.getByLabel('Slug').inputValue(), slug);
    await dialog.getByLabel('Agents').fill('25');
    await dialog.getByRole('button', { name: 'Create tenant' }).click();
    await dialog.waitFor({ state: 'detached' });

    const row = page.locator(`tr[data-tenant-slug="${slug}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(name));
    assert.match(await row.innerText(), /25\s+agents/);

    await page.reload();
    await page.locator(`tr[data-tenant-slug="${slug}"]`).waitFor();
    await page.waitForTimeout(300);
    await screenshot(page, 'tenants-desktop');
    assertClean();
  } finally {
    await context.close();
  }
});
