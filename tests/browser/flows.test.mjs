// IVR flows in the admin: the demo tenant's admin opens the support line, breaks a menu
// target, sees the problem on its line with a hint, is refused publishing, fixes it and
// publishes a new version; the Phone numbers page shows which flow each DID starts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, loginAndWait, env, DEMO, screenshot } from './helpers.mjs';

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

test('an admin validates, is refused, fixes and publishes a flow; numbers show their flows', async () => {
  const { page, assertClean } = await newPage(browser);
  await loginAndWait(page, DEMO.admin, env.demoPassword);
  await page.goto('/#/flows');
  await page.getByRole('heading', { name: 'IVR flows', level: 1 }).waitFor();

  const files = page.getByTestId('flow-files');
  const row = files.locator('tr[data-path="flows/support-main.yaml"]');
  await row.waitFor();
  assert.match(await row.innerText(), /Acme support line/);
  assert.match(await row.innerText(), /Valid/);
  const live = await page.getByTestId('flows-live').innerText();
  const before = Number(/version (\d+)/.exec(live)[1]);

  await row.getByRole('button', { name: 'Open flows/support-main.yaml' }).click();
  const source = page.getByTestId('flow-source');
  await source.waitFor();
  // The flow's picture, drawn by the server.
  await page.getByTestId('show-graph').click();
  const picture = page.getByTestId('flow-graph').locator('img');
  await picture.waitFor();
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 500, await picture.elementHandle());
  await screenshot(page, 'flows-graph');
  await page.getByTestId('show-graph').click();
  const original = await source.inputValue();
  assert.match(original, /"2": billing_account/);
  await source.fill(original.replace('"2": billing_account', '"2": biling_account'));

  await page.getByTestId('validate-flow').click();
  const missing = page.getByTestId('diagnostics').locator('li[data-code="IVR006"]');
  await missing.waitFor();
  const text = await missing.innerText();
  assert.match(text, /biling_account/);
  assert.match(text, /did you mean 'billing_account'\?/);
  const line = Number(/flows\/support-main\.yaml:(\d+):/.exec(text)[1]);
  // Clicking the problem selects its line in the source.
  await missing.click();
  const selected = await source.evaluate((el) => el.value.slice(el.selectionStart, el.selectionEnd));
  assert.match(selected, /biling_account/);
  assert.equal(original.split('\n')[line - 1].trim(), '"2": billing_account');
  await screenshot(page, 'flows-invalid');

  // Publishing the broken file is refused and writes nothing.
  await page.getByTestId('publish-flow').click();
  await page.getByRole('alert').filter({ hasText: 'Not published' }).waitFor();

  // Fixed (and with a new greeting), it goes live as the next version.
  await source.fill(original.replace('For technical support, press 1.', 'For technical support and outages, press 1.'));
  await page.getByTestId('publish-flow').click();
  await page.getByText(`Version ${before + 1} is live.`).waitFor();
  const history = page.getByTestId('flow-history');
  const newest = history.locator(`tr[data-version="${before + 1}"]`);
  await newest.waitFor();
  assert.match(await newest.innerText(), /Live/);
  assert.match(await newest.innerText(), /Published here/);
  assert.match(await newest.innerText(), /flows\/support-main\.yaml/);
  await screenshot(page, 'flows-published');

  await page.goto('/#/dids');
  await page.getByRole('heading', { name: 'Phone numbers', level: 1 }).waitFor();
  const did = page.getByTestId('dids').locator('tr[data-number="+14155550100"]');
  await did.waitFor();
  assert.match(await did.innerText(), /support-main/);
  assert.match(await did.innerText(), /OK/);
  // The shipped example's main number has a name, a failover and emergency notes.
  assert.equal(await did.getByTestId('did-name').innerText(), 'Acme Support');
  assert.equal(await did.getByTestId('did-failover').innerText(), 'extension 4000');
  assert.match(await did.getByTestId('did-emergency').innerText(), /Emergency: E911 address on file/);
  await screenshot(page, 'phone-numbers');
  await page.getByTestId('edit-routes').click();
  await page.getByTestId('flow-source').waitFor();
  assert.match(await page.getByTestId('flow-source').inputValue(), /\+14155550100/);
  assertClean();
});
