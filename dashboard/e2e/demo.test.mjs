// The whole way an analyst goes, on the live demo's generated traffic: sign in, see an attack
// arrive in the live feed within seconds, open its incident, block the attacker, find the
// decision listed; the script in the attacker's user agent is shown as text on the incident
// and actor pages and never runs. Screenshots of every page go to target/e2e/demo-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEMO_TOKEN, startDemo } from './demo.mjs';
import { SHOTS, launch, signedIn } from './browser.mjs';

const XSS = '<img src=x onerror=alert(document.domain)>';

/** The address the script payload came from, once an alert on it is stored (60 s at most). */
async function xssAttacker(base) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await fetch(`${base}/v1/alerts?rule=injection-xss`, { headers: { Authorization: `Bearer ${DEMO_TOKEN}` } });
    const items = r.ok ? (await r.json()).items : [];
    const ip = items.length ? items[items.length - 1].actor['source.ip'] : undefined;
    if (ip) return ip;
    if (Date.now() > deadline) throw new Error('no injection-xss alert within a minute');
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

/** The text of the page's main part. */
const mainText = (page) => page.locator('main').innerText();

test('an attack from the live demo, followed from the feed to a block', async () => {
  const demo = await startDemo();
  const browser = await launch();
  try {
    const { page, problems } = await signedIn(browser, demo.base, DEMO_TOKEN);

    // The demo's first scenario sweeps for sensitive files with a script in its user agent,
    // then tries path traversal; the alerts on it fold into an incident about half a minute
    // in, which reaches the open feed as it happens. The address comes from the API, so
    // another incident arriving first changes nothing.
    await page.getByRole('link', { name: 'Live feed' }).click();
    await page.waitForSelector('.state.live', { timeout: 20_000 });
    const attacker = await xssAttacker(demo.base);
    const row = page.locator('tr.kind-incident', { hasText: `ip:${attacker}` }).first();
    await row.waitFor({ timeout: 90_000 });
    const shownMs = Date.now();
    const openedMs = Date.parse(`${(await row.locator('td').first().innerText()).replace(' ', 'T')}Z`);
    const seconds = (shownMs - openedMs) / 1000;
    assert.ok(seconds < 10, `the incident reached the feed ${seconds} s after it was opened`);
    await page.screenshot({ path: join(SHOTS, 'demo-feed.png') });

    // Its incident: the timeline shows the payload as text.
    await row.locator('a').click();
    await page.waitForSelector('text=Attacker timeline');
    await page.locator('.alert-item', { hasText: 'injection-xss' }).waitFor({ timeout: 45_000 });
    assert.ok((await mainText(page)).includes(XSS), 'the incident shows the user agent as text');
    await page.screenshot({ path: join(SHOTS, 'demo-incident.png') });

    // Block the attacker; the decision is listed as active.
    await page.getByRole('button', { name: `Block ${attacker}` }).click();
    const notice = page.locator('.notice').filter({ hasText: /Decision \d+: block ip/ });
    await notice.waitFor({ timeout: 30_000 });
    assert.match(await notice.innerText(), new RegExp(`block ip ${attacker.replace(/\./g, '\\.')} for .*active\\.$`));
    await page.getByRole('link', { name: 'Decisions' }).click();
    const listed = page.locator('table.decisions tbody tr', { hasText: attacker }).filter({ hasText: 'active' });
    await listed.first().waitFor({ timeout: 30_000 });
    assert.ok(
      (await listed.locator('a[href^="#/incident/"]').count()) >= 1,
      'the decision made on the incident page names the incident',
    );
    await page.screenshot({ path: join(SHOTS, 'demo-decisions.png') });

    // The attacker's page: the payload again as text.
    await page.goto(`${demo.base}/#/actor/${encodeURIComponent(`ip:${attacker}`)}`);
    await page.waitForFunction((x) => document.querySelector('main').innerText.includes(x), XSS, { timeout: 45_000 });
    await page.screenshot({ path: join(SHOTS, 'demo-actor.png'), fullPage: true });

    // The other pages show the demo's traffic.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.waitForSelector('.uplot canvas');
    await page.screenshot({ path: join(SHOTS, 'demo-overview.png') });
    await page.getByRole('link', { name: 'Threat map' }).click();
    await page.waitForSelector('svg path');
    await page.screenshot({ path: join(SHOTS, 'demo-map.png') });

    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
    assert.deepEqual(problems, []);
  } catch (e) {
    e.message += `\n--- the demo's output, last lines ---\n${demo.log().slice(-3000)}`;
    throw e;
  } finally {
    await browser.close();
    const code = await demo.stop();
    assert.equal(code, 0, demo.log());
  }
  assert.equal(demo.log().split(DEMO_TOKEN).length - 1, 1, 'the token is printed once');
});
