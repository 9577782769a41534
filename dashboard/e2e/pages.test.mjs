// The analyst's pages in a real browser against the real binary: an attack with a script in
// its user agent is followed from the live feed to its incident (timeline, triage, a block),
// to the decisions (approve, extend, a refused extension, lift), to the attacker's page (the
// user agent shown as text), to the rules (a mute added and deleted) and to a search of its
// events; then a viewer sees the same pages without the buttons that change anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, startService } from './service.mjs';
import { SHOTS, launch, signedIn } from './browser.mjs';

const XSS = '<img src=x onerror=alert(document.domain)>';
const ATTACKER = '203.0.113.66';
const PATHS = ['/.env', '/.git/config', '/wp-config.php.bak', '/backup.sql', '/server-status'];

/** Appends nginx lines for `user` signed in from each of `ips`, probing `paths`. */
function appendSignedIn(service, user, ips, paths) {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n) => String(n).padStart(2, '0');
  const lines = ips.flatMap((ip, j) =>
    paths.map((path, i) => {
      const d = new Date(Date.now() + (j * paths.length + i) * 1000);
      const stamp = `${two(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
      return `${ip} - ${user} [${stamp}] "GET ${path} HTTP/1.1" 404 512 "-" "curl/8.5.0"\n`;
    }),
  );
  appendFileSync(join(service.dir, 'logs/access.log'), lines.join(''));
}

/** The visible text of the page's main part. */
const mainText = (page) => page.locator('main').innerText();

/** Waits for the outcome of a change and returns its text. */
async function outcome(page, pattern) {
  const notice = page.locator('.notice').filter({ hasText: pattern });
  await notice.waitFor({ timeout: 10_000 });
  return notice.innerText();
}

/** A new API token with `role`, made by the administrator. */
async function makeToken(base, name, role) {
  const made = await fetch(base + '/v1/tokens', {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, role }),
  }).then((r) => r.json());
  return made.token;
}

test('incident, decisions, actor, rules and search pages', async () => {
  const service = await startService();
  const browser = await launch();
  try {
    const { page, problems } = await signedIn(browser, service.base, ADMIN_TOKEN);
    await page.goto(service.base + '/#/feed');
    await page.waitForSelector('.state.live', { timeout: 10_000 });
    service.append(ATTACKER, PATHS, XSS);

    // From the feed's incident row to the incident.
    const row = page.locator('tr.kind-incident', { hasText: ATTACKER }).first();
    await row.waitFor({ timeout: 15_000 });
    await row.locator('a').click();
    await page.waitForSelector('text=Attacker timeline');
    assert.match(page.url(), /#\/incident\/inc-/);
    // Every alert of the incident, in time order, with its evidence events.
    await page.locator('.alert-item', { hasText: 'recon-sensitive-file-probe' }).waitFor({ timeout: 20_000 });
    const alerts = await page.locator('.alert-item').count();
    assert.ok(alerts >= 1, `${alerts} alerts in the timeline`);
    const firsts = await page.locator('.alert-item .alert-head .nowrap').allInnerTexts();
    assert.deepEqual([...firsts].sort(), firsts, 'the timeline is in time order');
    const incidentText = await mainText(page);
    assert.match(incidentText, /Probing for sensitive files/);
    assert.match(incidentText, /\/wp-config\.php\.bak/);
    assert.ok(incidentText.includes('<img src=x onerror='), 'the evidence shows the user agent as text');
    assert.match(incidentText, /1 address/i);
    assert.equal(await page.locator(`.actor-group a[href="#/actor/${encodeURIComponent(`ip:${ATTACKER}`)}"]`).count(), 1);

    // Triage: acknowledge, assign, a note.
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await outcome(page, 'Acknowledged.');
    await page.waitForSelector('h2 .status-acknowledged');
    await page.fill('input[name=assignee]', 'alice');
    await page.getByRole('button', { name: 'Assign' }).click();
    await outcome(page, 'Assigned to alice.');
    await page.waitForSelector('.facts dd >> text=alice');
    await page.fill('input[name=note]', `seen ${XSS} again`);
    await page.getByRole('button', { name: 'Add note' }).click();
    await outcome(page, 'Note added.');
    await page.waitForSelector('.notes li >> text=seen <img');

    // Block the address: an administrator's decision is active at once.
    await page.fill('input[name=decision-duration]', '2h');
    await page.getByRole('button', { name: `Block ${ATTACKER}` }).click();
    const blocked = await outcome(page, /Decision \d+: block ip/);
    assert.match(blocked, new RegExp(`block ip ${ATTACKER.replace(/\./g, '\\.')} for 2h, active`));
    const mine = Number(blocked.match(/Decision (\d+)/)[1]);
    await page.locator('table.decisions tr.decision-active', { hasText: ATTACKER }).first().waitFor();
    await page.evaluate(() => scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, 'incident.png') });

    // Decisions: the block is active; the rule's proposal is approved, extended, and a too
    // long extension is refused with the server's reason; the person's block is lifted.
    await page.getByRole('link', { name: 'Decisions' }).click();
    await page.waitForSelector('.tabs a.current >> text=Active');
    await page.locator(`table.decisions tr.decision-active`, { hasText: ATTACKER }).first().waitFor();
    assert.ok((await page.locator('table.decisions tbody tr').count()) >= 1);
    await page.click('.tabs >> text=Proposed');
    const proposal = page.locator('table.decisions tr.decision-proposed', { hasText: ATTACKER }).first();
    await proposal.waitFor();
    const proposed = Number(await proposal.locator('td').first().innerText());
    await page.getByRole('button', { name: `Approve decision ${proposed}` }).click();
    assert.match(await outcome(page, `Decision ${proposed}`), /active\.$/);
    await page.click('.tabs >> text=Active');
    await page.locator(`table.decisions tr.decision-active`).nth(1).waitFor();
    await page.getByRole('button', { name: `Extend by 1h decision ${proposed}` }).click();
    assert.match(await outcome(page, `Decision ${proposed}`), /extended by 1h/);
    await page.fill('input[name=extend-by]', '400d');
    await page.getByRole('button', { name: `Extend by 400d decision ${proposed}` }).click();
    const refused = await page.locator('.notice.error').innerText();
    assert.match(refused, /Refused \(400\): an extension must be more than 0/);
    await page.fill('input[name=extend-by]', '1h');
    await page.screenshot({ path: join(SHOTS, 'decisions.png') });
    await page.getByRole('button', { name: `Lift decision ${mine}` }).click();
    assert.match(await outcome(page, `Decision ${mine}`), /lifted\.$/);
    await page.click('.tabs >> text=Lifted');
    await page.locator('table.decisions tr.decision-lifted', { hasText: ATTACKER }).waitFor();

    // The attacker's page: traffic summarised, the user agent as text, nothing run.
    await page.locator('table.decisions tr.decision-lifted a.actor').first().click();
    await page.waitForSelector(`h2 .actor-title >> text=${ATTACKER}`);
    await page.waitForSelector('h3 >> text=User agents');
    const actorText = await mainText(page);
    assert.ok(actorText.includes('<img src=x onerror='), 'the user agent is shown as text');
    assert.match(actorText, /Requests per hour/);
    assert.match(actorText, /\/\.git\/config/);
    assert.match(actorText, /404\s+5/);
    assert.match(actorText, /Probing for sensitive files/);
    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
    await page.screenshot({ path: join(SHOTS, 'actor.png'), fullPage: true });

    // Rules: listed with their statistics; a mute added, then deleted.
    await page.getByRole('link', { name: 'Rules' }).click();
    await page.waitForSelector('table.rules tbody tr');
    assert.ok((await page.locator('table.rules tbody tr').count()) > 10);
    const probe = await page.locator('table.rules tr', { hasText: 'recon-sensitive-file-probe' }).innerText();
    assert.match(probe, /propose\s+1\s+1\s+0\s+—/, 'the probe rule fired once, in one incident, no false positive');
    await page.getByRole('button', { name: 'Mute recon-sensitive-file-probe' }).click();
    await page.fill('input[name=mute-actor]', `ip:${ATTACKER}`);
    await page.fill('input[name=mute-duration]', '2h');
    await page.fill('input[name=mute-reason]', 'our own scanner');
    await page.getByRole('button', { name: 'Mute', exact: true }).click();
    const muted = await outcome(page, /Mute \d+:/);
    const muteId = Number(muted.match(/Mute (\d+)/)[1]);
    await page.locator('table.mutes tr', { hasText: 'our own scanner' }).waitFor();
    await page.evaluate(() => scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, 'rules.png') });
    await page.getByRole('button', { name: `Delete mute ${muteId}` }).click();
    await outcome(page, `Mute ${muteId} deleted.`);
    await page.locator('table.mutes').waitFor({ state: 'detached' });

    // Search: the attacker's events, a bad filter's error, pages, the query in the hash.
    await page.getByRole('link', { name: 'Search' }).click();
    await page.fill('input[name=q]', 'source.ip=>>');
    await page.click('.search-form button[type=submit]');
    await page.waitForSelector('.error-box');
    assert.match(await page.locator('.error-box').innerText(), /is not an address or a CIDR network/);
    await page.fill('input[name=q]', `source.ip=${ATTACKER} AND http.response.status_code=404`);
    await page.fill('input[name=limit]', '3');
    await page.click('.search-form button[type=submit]');
    await page.waitForSelector('table.events tbody tr');
    assert.equal(await page.locator('table.events tbody tr').count(), 3);
    await page.click('text=Next →');
    await page.waitForSelector('text=Events 4–5');
    assert.equal(await page.locator('table.events tbody tr').count(), 2);
    const linked = page.url();
    assert.match(linked, /#\/search\/.*q%3D/);
    await page.goto(service.base + '/#/feed');
    await page.goto(linked);
    await page.waitForSelector('text=Events 4–5');
    await page.fill('input[name=limit]', '100');
    await page.click('.search-form button[type=submit]');
    await page.waitForSelector('text=Events 1–5');
    const searchText = await mainText(page);
    for (const p of PATHS) assert.ok(searchText.includes(p), `${p} is found`);
    assert.ok(searchText.includes('<img src=x onerror='));
    await page.screenshot({ path: join(SHOTS, 'search.png') });

    // One account used from three addresses: its incident shows how the actors are tied.
    const SPREAD = ['198.51.100.7', '198.51.100.8', '198.51.100.9'];
    appendSignedIn(service, 'mallory', SPREAD, PATHS);
    for (let tries = 0; ; tries += 1) {
      const view = await fetch(service.base + '/v1/actors/user:mallory', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.json());
      if (view.linked.length === 3 && view.incidents.length > 0) break;
      assert.ok(tries < 100, `mallory is linked to ${JSON.stringify(view.linked)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.goto(service.base + '/#/actor/user%3Amallory');
    await page.waitForSelector('h2 .actor-title >> text=mallory');
    assert.equal(await page.locator('h3:has-text("Linked actors") + p a').count(), 3);
    await page.locator('main a', { hasText: 'Probing for sensitive files' }).first().click();
    await page.waitForSelector('text=Attacker timeline');
    const tied = await page.locator('.actor-row', { hasText: 'user:mallory' }).innerText();
    assert.match(tied, /used from 3 addresses: 198\.51\.100\.7, 198\.51\.100\.8, 198\.51\.100\.9/);
    assert.match(await page.locator('.actor-row').first().innerText(), /linked to 1 user: mallory/);
    await page.screenshot({ path: join(SHOTS, 'incident-linked.png') });

    assert.deepEqual(problems, []);
    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);

    // A viewer reads the same pages without a button that changes anything.
    const viewer = await signedIn(browser, service.base, await makeToken(service.base, 'watcher', 'viewer'));
    await viewer.page.goto(service.base + '/#/decisions/active');
    await viewer.page.waitForSelector('table.decisions tbody tr');
    assert.equal(await viewer.page.locator('table.decisions button').count(), 0);
    await viewer.page.locator('table.decisions a', { hasText: 'incident' }).first().click();
    await viewer.page.waitForSelector('text=Attacker timeline');
    assert.equal(await viewer.page.locator('main button').count(), 0);
    assert.match(await mainText(viewer.page), /can read this incident/);
    await viewer.page.goto(service.base + `/#/actor/ip:${ATTACKER}`);
    await viewer.page.waitForSelector('h3 >> text=User agents');
    assert.equal(await viewer.page.locator('main button').count(), 0);
    await viewer.page.goto(service.base + '/#/rules');
    await viewer.page.waitForSelector('table.rules tbody tr');
    assert.equal(await viewer.page.locator('main button').count(), 0);
    assert.deepEqual(viewer.problems, []);

    // An analyst's block is a proposal; approving it is left to an administrator.
    const analyst = await signedIn(browser, service.base, await makeToken(service.base, 'anna', 'analyst'));
    await analyst.page.goto(service.base + '/#/actor/ip%3A198.51.100.7');
    await analyst.page.waitForSelector('text=your decisions are proposed');
    await analyst.page.getByRole('button', { name: 'Block 198.51.100.7' }).click();
    assert.match(await outcome(analyst.page, /Decision \d+: block ip/), /block ip 198\.51\.100\.7 for 1d, proposed\.$/);
    await analyst.page.goto(service.base + '/#/decisions/proposed');
    await analyst.page.locator('table.decisions tr.decision-proposed', { hasText: '198.51.100.7' }).first().waitFor();
    assert.equal(await analyst.page.locator('table.decisions button').count(), 0);
    assert.match(await mainText(analyst.page), /Only administrators approve/);
    assert.deepEqual(analyst.problems, []);
  } finally {
    await browser.close();
    await service.stop();
  }
});
