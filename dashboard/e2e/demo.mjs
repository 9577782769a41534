// Starts `apiwatch demo --live` on loopback for a browser test: the live service fed with
// generated traffic (attacks among it) as it goes. Stopped by `stop()`.
import { spawn } from 'node:child_process';
import { binary, freePort, waitHealthy } from './service.mjs';

export const DEMO_TOKEN = 'demo-e2e-token-7c1d2e9b4a';

/** `geoip`: a GeoLite2 City database, or none (every country is then unknown). */
export async function startDemo({ rate = 50, geoip = process.env.APIWATCH_GEOLITE2_CITY } = {}) {
  const port = await freePort();
  const args = ['demo', '--live', '--listen', `127.0.0.1:${port}`, '--token', DEMO_TOKEN, '--rate', String(rate)];
  if (geoip) args.push('--geoip', geoip);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (b) => {
    log += b;
  });
  child.stderr.on('data', (b) => {
    log += b;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitHealthy(base, child, () => log);
  return {
    base,
    log: () => log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', r)));
      return code;
    },
  };
}
