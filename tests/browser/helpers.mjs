// Shared setup for the browser tests: Debian's Chromium driven by playwright-core.
//
// Environment (set by the test script that starts the server):
//   SB_URL              base URL of a running switchboard (e.g. http://127.0.0.1:8080)
//   SB_ADMIN_EMAIL      platform operator email
//   SB_ADMIN_PASSWORD   platform operator password
//   SB_DEMO_PASSWORD    password of the demo users seeded by `switchboard serve --demo`
//   SB_ARI_CONTROL      control API of the ARI stand-in the server takes calls from
//                       (`cargo run --example ari_standin`), e.g. http://127.0.0.1:9001/control
//   SB_CHROMIUM         optional, path of the browser (default /usr/bin/chromium)

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.join(here, 'artifacts');

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set. The browser tests need a running server: see the README's test command, which starts one (with the ARI stand-in as its Asterisk) and sets SB_URL, SB_ADMIN_EMAIL, SB_ADMIN_PASSWORD, SB_DEMO_PASSWORD and SB_ARI_CONTROL.`);
  }
  return value;
}

export const env = {
  get url() {
    return required('SB_URL').replace(/\/+$/, '');
  },
  get adminEmail() {
    return required('SB_ADMIN_EMAIL');
  },
  get adminPassword() {
    return required('SB_ADMIN_PASSWORD');
  },
  get demoPassword() {
    return required('SB_DEMO_PASSWORD');
  },
  get ariControl() {
    return required('SB_ARI_CONTROL').replace(/\/+$/, '');
  },
};

export const DEMO = {
  admin: 'admin@demo.example',
  supervisor: 'supervisor@demo.example',
  agent1: 'agent1@demo.example',
  agent2: 'agent2@demo.example',
};

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.SB_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * A fresh browser context + page that records console errors, uncaught
 * exceptions and CSP violations. Call `assertClean()` at the end of a test.
 */
export async function newPage(browser, { viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext({ viewport, baseURL: env.url, reducedMotion: 'reduce' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // A failed API call shows up as "Failed to load resource: ... 401/403/404/409/422/429";
    // the UI handles those, so they are expected in some tests.
    if (/Failed to load resource: the server responded with a status of (401|403|404|409|422|429)/.test(text)) return;
    problems.push(`console error: ${text}`);
  });
  return {
    context,
    page,
    problems,
    assertClean() {
      assert.deepEqual(problems, [], `the page reported errors:\n${problems.join('\n')}`);
    },
  };
}

/** Fill the login form and submit it with Enter. */
export async function login(page, email, password) {
  await page.goto('/#/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Password', { exact: true }).press('Enter');
}

/** Log in and wait until the shell (top bar + a page heading) is on screen. */
export async function loginAndWait(page, email, password) {
  await login(page, email, password);
  await page.getByTestId('user-menu').waitFor();
  await page.getByRole('heading', { level: 1 }).waitFor();
}

/** Sign out through the user menu; resolves when the login form is back. */
export async function logout(page) {
  await page.getByTestId('user-menu').click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** A unique suffix so runs against a long-lived database never collide. */
export function unique() {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
