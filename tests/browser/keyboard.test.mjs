// Keyboard use inside the shell: menus (arrows, Escape) and dialogs (focus trap, Escape).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, loginAndWait, env, DEMO } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const activeInside = (page, selector) => page.evaluate((sel) => Boolean(document.activeElement?.closest(sel)), selector);

test('menus and dialogs work from the keyboard and keep focus inside', async () => {
  const { page, context, assertClean } = await newPage(browser);
  try {
    await loginAndWait(page, DEMO.admin, env.demoPassword);
    await page.goto('/#/users');
    await page.locator(`tr[data-user-email="${DEMO.agent1}"]`).waitFor();

    // Row menu: Enter opens it with the first item focused, arrows move, Escape closes
    // and gives focus back to the trigger.
    const trigger = page.getByRole('button', { name: 'Actions for Alex Agent' });
    await trigger.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu');
    await menu.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Edit user');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Reset password');
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Actions for Alex Agent');

    // Open "Edit user" from the keyboard; focus starts in the dialog and Tab never leaves it.
    await page.keyboard.press('Enter');
    await menu.waitFor();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Edit user' });
    await dialog.waitFor();
    assert.ok(await activeInside(page, 'dialog'), 'focus did not move into the dialog');
    for (let i = 0; i < 12; i += 1) {
      await page.keyboard.press('Tab');
      assert.ok(await activeInside(page, 'dialog'), `Tab #${i + 1} moved focus out of the dialog`);
    }
    for (let i = 0; i < 6; i += 1) {
      await page.keyboard.press('Shift+Tab');
      assert.ok(await activeInside(page, 'dialog'), `Shift+Tab #${i + 1} moved focus out of the dialog`);
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Actions for Alex Agent');

    // The tenant switcher opens with ArrowDown and lists the current tenant as checked.
    await page.getByTestId('tenant-switcher').focus();
    await page.keyboard.press('ArrowDown');
    await page.getByRole('menuitemradio', { checked: true }).waitFor();
    await page.keyboard.press('Escape');
    assertClean();
  } finally {
    await context.close();
  }
});
