// Screenshots of every page on the live demo's traffic, for the README (docs/screenshots/):
//   node dashboard/e2e/tour.mjs [minutes of traffic first, default 10]   (SCREENSHOTS_DIR: elsewhere)
// Runs the binary named by APIWATCH_BIN (default target/debug/apiwatch; a release build
// keeps the pages quick after minutes of traffic); GeoIP from
// APIWATCH_GEOLITE2_CITY so the threat map has countries.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_TOKEN, startDemo } from './demo.mjs';
import { launch, signedIn } from './browser.mjs';

const OUT = process.env.SCREENSHOTS_DIR || resolve(fileURLToPath(new URL('.', import.meta.url)), '../../docs/screenshots');
const minutes = Number(process.argv[2] || 10);

mkdirSync(OUT, { recursive: true });
const demo = await startDemo({ rate: 50 });
const browser = await launch();
try {
  console.error(`${demo.base}: ${minutes} minutes of traffic first`);
  await new Promise((r) => setTimeout(r, minutes * 60_000));
  const { page, problems } = await signedIn(browser, demo.base, DEMO_TOKEN);
  await page.waitForSelector('.uplot canvas');
  await page.waitForTimeout(1500);
  const shot = async (name) => {
    await page.mouse.move(0, 0);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: resolve(OUT, `${name}.png`) });
    console.error(resolve(OUT, `${name}.png`));
  };
  await shot('overview');
  await page.goto(demo.base + '/#/map');
  await page.waitForSelector('svg path');
  await shot('map');
  // The incident of the demo's first attack: the oldest one.
  const incidents = await (
    await fetch(`${demo.base}/v1/incidents?limit=1000`, { headers: { Authorization: `Bearer ${DEMO_TOKEN}` } })
  ).json();
  const first = incidents.items[incidents.items.length - 1].incident;
  await page.goto(`${demo.base}/#/incident/${encodeURIComponent(first.id)}`);
  await page.waitForSelector('.alert-item');
  await shot('incident');
  await page.goto(`${demo.base}/#/actor/${encodeURIComponent(first.actors[0])}`);
  await page.waitForSelector('main h3 >> text=User agents', { timeout: 60_000 });
  await shot('actor');
  for (const name of ['decisions/proposed', 'rules', 'sources']) {
    await page.goto(`${demo.base}/#/${name}`);
    await page.waitForSelector('table');
    await shot(name.replace('/', '-'));
  }
  const search = new URLSearchParams({ q: 'http.response.status_code>=400 AND NOT url.path="/health"', since: '1h' });
  await page.goto(`${demo.base}/#/search/${encodeURIComponent(search.toString())}`);
  await page.waitForSelector('table.events, .error-box', { timeout: 60_000 });
  if (await page.locator('.error-box').count()) throw new Error(await page.locator('.error-box').innerText());
  await shot('search');
  if (problems.length) throw new Error(problems.join('\n'));
} finally {
  await browser.close();
  await demo.stop();
}
