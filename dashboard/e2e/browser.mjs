// Debian's Chromium driven by playwright-core, headless, with no network of its own: every
// flag that would make it call home is off.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHOTS = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../target/e2e');

export async function launch() {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that records script errors and refused loads (a policy violation shows there). */
export async function watchedPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) problems.push(m.text());
  });
  page.on('dialog', (d) => {
    problems.push(`a dialog opened: ${d.message()}`);
    d.dismiss();
  });
  return { page, problems };
}

/** A watched page at a laptop's size (1366×768), signed in with `token`. */
export async function signedIn(browser, base, token) {
  const watched = await watchedPage(browser);
  await watched.page.setViewportSize({ width: 1366, height: 768 });
  await watched.page.goto(base + '/');
  await watched.page.fill('#token', token);
  await watched.page.click('button[type=submit]');
  await watched.page.waitForSelector('header nav');
  return watched;
}
