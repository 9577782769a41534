// The overview and the threat map in a real browser against the real binary, on a laptop's
// screen: charts drawn from logged traffic, the KPIs, open incidents, active decisions and
// the sources' health; the world map with its countries, shaded from the geo metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, startService } from './service.mjs';
import { SHOTS, launch, signedIn } from './browser.mjs';

const XSS = '<img src=x onerror=alert(document.domain)>';

/** nginx combined lines with a request time, stamped now: `[ip, path, status, seconds]`. */
function logLines(rows) {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n) => String(n).padStart(2, '0');
  const d = new Date();
  const date = `${two(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}`;
  const stamp = `${date}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
  return rows
    .map(([ip, path, status, seconds]) => `${ip} - - [${stamp}] "GET ${path} HTTP/1.1" ${status} 512 "-" "curl/8.5.0" ${seconds}\n`)
    .join('');
}

/** What `GET /v1/metrics/geo` answers, with attacker-chosen names among the networks. */
const GEO = {
  since_ms: Date.now() - 3_600_000,
  until_ms: Date.now(),
  countries: [
    { country: 'US', requests: 12_000, alerts: 4 },
    { country: 'CN', requests: 3_100, alerts: 41 },
    { country: 'RU', requests: 2_400, alerts: 27 },
    { country: 'DE', requests: 900, alerts: 3 },
    { country: 'BR', requests: 410, alerts: 9 },
    { country: 'IN', requests: 150, alerts: 0 },
    { country: 'SG', requests: 75, alerts: 2 },
    { country: '??', requests: 12, alerts: 1 },
    { country: 'other', requests: 5, alerts: 0 },
  ],
  networks: [
    { network: 'AS15169 Google LLC', asn: 15169, org: 'Google LLC', alerts: 4, requests: 120, addresses: 3, countries: ['US'] },
    { network: `AS64500 ${XSS}`, asn: 64500, org: XSS, alerts: 40, requests: 2_900, addresses: 17, countries: ['CN', 'SG'] },
    { network: '203.0.113.0/24', asn: null, org: null, alerts: 27, requests: 2_300, addresses: 5, countries: ['RU'] },
    { network: 'AS64501', asn: 64501, org: null, alerts: 1, requests: 3, addresses: 1, countries: [] },
  ],
};

/** Pixels of a colour (within a tolerance) on a canvas, counted in the page. */
function pixelsOf(page, selector, [r, g, b]) {
  return page.evaluate(
    ({ selector, r, g, b }) => {
      const canvas = document.querySelector(selector);
      if (!canvas) return -1;
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - r) < 24 && Math.abs(data[i + 1] - g) < 24 && Math.abs(data[i + 2] - b) < 24 && data[i + 3] > 200) n += 1;
      }
      return n;
    },
    { selector, r, g, b },
  );
}

test('the overview charts logged traffic and the threat map draws the world', async () => {
  const service = await startService();
  const browser = await launch();
  try {
    const { page, problems } = await signedIn(browser, service.base, ADMIN_TOKEN);

    // The overview is the home page and the first in the navigation.
    await page.waitForSelector('.overview');
    assert.equal(await page.locator('header nav a').first().innerText(), 'Overview');
    assert.equal(await page.locator('header nav a.current').innerText(), 'Overview');
    await page.waitForSelector('table.sources >> text=edge');

    // Traffic: successes, client and server errors, timed; then an attack that opens an
    // incident and a decision.
    const rows = [];
    for (let i = 0; i < 40; i += 1) rows.push([`198.51.100.${(i % 5) + 1}`, `/api/items/${i}`, 200, (0.01 + i / 1000).toFixed(3)]);
    for (let i = 0; i < 6; i += 1) rows.push(['198.51.100.9', `/api/missing/${i}`, 404, '0.004']);
    for (let i = 0; i < 3; i += 1) rows.push(['198.51.100.7', '/api/checkout', 500, '1.250']);
    appendFileSync(join(service.dir, 'logs/access.log'), logLines(rows));
    service.append('203.0.113.66', ['/.env', '/.git/config', '/wp-config.php.bak', '/backup.sql', '/server-status'], XSS);

    // Four charts, drawn, with the requests counted (the page asks again every 10 s).
    await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 4);
    await page.waitForFunction(
      () => /^54 in all$/.test(document.querySelector('.charts .panel h3 .note')?.textContent || ''),
      null,
      { timeout: 30_000 },
    );
    const notes = await page.locator('.charts .panel h3 .note').allInnerTexts();
    assert.match(notes[2], /^11 4xx \(20\.4%\), 3 5xx \(5\.6%\)$/, notes[2]);
    assert.match(notes[3], /^p95 now \d/, notes[3]);
    const blue = await pixelsOf(page, '.charts .panel:nth-child(1) canvas', [0x5f, 0xb3, 0xf9]);
    assert.ok(blue > 3, `the requests chart draws its line (${blue} pixels)`);
    const red = await pixelsOf(page, '.charts .panel:nth-child(3) canvas', [0xff, 0x5c, 0x5c]);
    assert.ok(red > 5, `the errors chart draws the 5xx (${red} pixels)`);

    // The KPIs, the open incident and the decision the attack brought.
    assert.equal(await page.locator('.kpi').count(), 5);
    await page.waitForFunction(
      () => Number(document.querySelector('.kpi .value').textContent) >= 1
        && /proposed|block/.test(document.querySelector('.columns').textContent),
      null,
      { timeout: 30_000 },
    );
    const kpis = await page.locator('.kpis').innerText();
    assert.match(kpis, /Mean time to detect/);
    assert.match(kpis, /False-positive rate/);
    await page.waitForSelector('.sev-bars');
    await page.waitForSelector('.columns >> text=203.0.113.66');
    assert.match(await page.locator('table.sources').innerText(), /edge\s+file/);
    await page.screenshot({ path: join(SHOTS, 'overview.png') });
    await page.screenshot({ path: join(SHOTS, 'overview-full.png'), fullPage: true });

    // A silent source stands out (the service reports one after minutes of silence: here the
    // report gets one more source, silent since the start).
    await page.route('**/v1/sources', async (route) => {
      const report = await (await route.fetch()).json();
      report.items.push({
        name: 'partner-gateway', kind: 'syslog', events_total: 0, events_per_second: 0, newest_event_ms: null,
        lag_ms: null, last_delivered_ms: null, silent: true, silent_after_ms: 300_000,
      });
      await route.fulfill({ json: report });
    });
    await page.waitForSelector('table.sources tr.silent >> text=partner-gateway', { timeout: 15_000 });
    assert.equal(await page.locator('.overview .alarm').innerText(), 'A source is silent: partner-gateway (nothing for 5 min or more).');
    await page.screenshot({ path: join(SHOTS, 'overview-silent.png'), fullPage: true });
    await page.unroute('**/v1/sources');

    // A narrower window: the charts follow their boxes.
    await page.setViewportSize({ width: 1000, height: 768 });
    await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every(
      (c) => Math.abs(c.querySelector('canvas').getBoundingClientRect().width - c.clientWidth) < 2 && c.clientWidth > 800,
    ));
    await page.setViewportSize({ width: 1366, height: 768 });

    // Another period: kept in the address, the charts stay.
    await page.click('.overview button:has-text("24 h")');
    assert.match(page.url(), /#\/overview\/24h$/);
    await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 4);

    // The threat map: the world's countries, whatever the geo metrics answer.
    await page.click('header >> text=Threat map');
    await page.waitForSelector('svg.world');
    const countries = await page.locator('svg.world path').count();
    assert.ok(countries > 100, `${countries} countries drawn`);
    // Until the service answers GET /v1/metrics/geo, the page says why it has no figures.
    await page.waitForSelector('.threat-map .error, table.networks, .threat-map .panel.wide p.muted:not(:has-text("Loading"))');
    const failed = await page.locator('.threat-map .error').count();
    if (failed) {
      assert.match(await page.locator('.threat-map .error').innerText(), /^The map's data could not be loaded: ./);
    } else {
      // The service has no GeoIP database here: every address is of no known country.
      await page.waitForSelector('table.networks >> text=203.0.113.0/24');
      assert.match(await page.locator('table.countries').innerText(), /Unknown\s+\?\?\s+54\s+[1-9]/);
      assert.equal(await page.locator('svg.world path.seen').count(), 0);
    }
    await page.screenshot({ path: join(SHOTS, 'map-as-served.png') });

    // The documented answer, shaded and listed, names shown as text.
    await page.route('**/v1/metrics/geo*', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(GEO) }));
    await page.click('.threat-map button:has-text("6 h")');
    await page.waitForSelector('table.networks');
    assert.equal(await page.locator('.threat-map .error').count(), 0);
    assert.equal(await page.locator('svg.world path.seen').count(), 6, 'US, CN, RU, DE, BR and IN are shaded (SG is too small)');
    const networks = await page.locator('table.networks').innerText();
    assert.ok(networks.includes(XSS), 'an organisation named like markup is shown as text');
    assert.match(networks.split('\n')[1], /^AS64500/, 'the network with the most alerts comes first');
    assert.match(networks, /203\.0\.113\.0\/24\s+address block/);
    assert.match(await page.locator('table.countries').innerText(), /United States\s+US\s+12,000\s+4/);
    assert.match(await page.locator('.threat-map').innerText(), /without a known country: 12 requests, 1 alert/);
    const usTraffic = await page.locator('svg.world path[data-code=US]').getAttribute('fill');
    assert.match(await page.locator('svg.world path[data-code=US] title').textContent(), /^United States: 12,000 requests, 4 alerts$/);
    await page.hover('svg.world path[data-code=BR]');
    assert.match(await page.locator('.threat-map .hover').innerText(), /^Brazil: 410 requests, 9 alerts$/);
    await page.screenshot({ path: join(SHOTS, 'map.png') });
    await page.screenshot({ path: join(SHOTS, 'map-full.png'), fullPage: true });

    await page.click('.threat-map button:has-text("Alerts")');
    assert.match(await page.locator('.threat-map table.countries tbody tr').first().innerText(), /China/);
    assert.notEqual(await page.locator('svg.world path[data-code=US]').getAttribute('fill'), usTraffic);
    assert.equal(await page.locator('svg.world path.seen').count(), 5, 'India drew no alert');
    await page.screenshot({ path: join(SHOTS, 'map-alerts.png') });

    assert.deepEqual(problems, []);
    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
  } finally {
    await browser.close();
    await service.stop();
  }
});
