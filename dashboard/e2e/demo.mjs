// Starts `apiwatch demo --live` on loopback for a browser test: the live service fed with
// generated traffic (attacks among it) as it goes. Stopped by `stop()`.
import { freePort, spawnApiwatch } from './service.mjs';

export const DEMO_TOKEN = 'demo-e2e-token-7c1d2e9b4a';

/** `geoip`: a GeoLite2 City database, or none (every country is then unknown). */
export async function startDemo({ rate = 50, geoip = process.env.APIWATCH_GEOLITE2_CITY } = {}) {
  const port = await freePort();
  const args = ['demo', '--live', '--listen', `127.0.0.1:${port}`, '--token', DEMO_TOKEN, '--rate', String(rate)];
  if (geoip) args.push('--geoip', geoip);
  return spawnApiwatch(args, port);
}
