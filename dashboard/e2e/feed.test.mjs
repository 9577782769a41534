// Sign in, watch an attack from a followed log arrive in the live feed, see the sources'
// health, sign out: the dashboard in a real browser against the real binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ADMIN_TOKEN, startService } from './service.mjs';
import { SHOTS, launch, watchedPage } from './browser.mjs';

const XSS = '<img src=x onerror=alert(document.domain)>';

test('an attack appears in the live feed within seconds of being logged', async () => {
  const service = await startService();
  const browser = await launch();
  try {
    const { page, problems } = await watchedPage(browser);
    await page.goto(service.base + '/');
    await page.fill('#token', 'aw_wrong-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=That token is not valid.');
    await page.screenshot({ path: join(SHOTS, 'sign-in.png') });

    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.click('header >> text=Live feed');
    await page.waitForSelector('.state.live', { timeout: 10_000 });
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'apiwatch_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is out of scripts\' reach');

    const logged = Date.now();
    service.append('203.0.113.66', ['/.env', '/.git/config', '/wp-config.php.bak', '/backup.sql', '/server-status'], XSS);
    await page.waitForSelector('tr.kind-alert >> text=Probing for sensitive files', { timeout: 15_000 });
    const seconds = (Date.now() - logged) / 1000;
    assert.ok(seconds < 10, `the alert took ${seconds} s to appear`);
    await page.waitForSelector('tr.kind-incident >> text=203.0.113.66');
    await page.waitForSelector('tr.kind-decision >> text=block ip 203.0.113.66');
    // An alert that joined an incident links to it.
    await page.waitForSelector('tr.kind-alert a[href^="#/incident/inc-"]');

    // The filters narrow what is shown.
    await page.fill('input[name=actor]', '198.51.100.1');
    assert.equal(await page.locator('table.feed tbody tr').count(), 0);
    await page.fill('input[name=actor]', '203.0.113.66');
    assert.ok((await page.locator('table.feed tbody tr').count()) >= 3);
    await page.fill('input[name=actor]', '');
    await page.screenshot({ path: join(SHOTS, 'live-feed.png') });

    await page.click('text=Sources');
    await page.waitForSelector('text=Events/s');
    const row = await page.locator('tbody tr').first().innerText();
    assert.match(row, /edge\s+file/);
    assert.match(row, /delivering/);
    assert.match(row, /10 min/, 'the source\'s own silence threshold');
    await page.screenshot({ path: join(SHOTS, 'sources.png') });

    await page.click('text=Sign out');
    await page.waitForSelector('#token');
    const after = await fetch(service.base + '/v1/alerts', { headers: { Cookie: `apiwatch_session=${session.value}` } });
    assert.equal(after.status, 401, 'the session ended with the sign-out');

    assert.deepEqual(problems, []);
    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
  } finally {
    await browser.close();
    await service.stop();
  }
});
