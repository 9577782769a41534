// Starts the apiwatch binary on loopback for a browser test: a scratch directory, a followed
// nginx log to append attacks to, the API with an administrator token. Stopped by `stop()`.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADMIN_TOKEN = 'admin-token-e2e-0123456789abcdef';

export const binary = process.env.APIWATCH_BIN || resolve(fileURLToPath(new URL('.', import.meta.url)), '../../target/debug/apiwatch');

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

/** Waits until `base` answers /health, for at most 30 s; fails if `child` exits first. */
export async function waitHealthy(base, child, log) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    if (child.exitCode !== null) throw new Error(`apiwatch exited: ${log()}`);
    if (Date.now() > deadline) throw new Error(`apiwatch did not become healthy: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs the binary with `args` (spawn `options`, e.g. `cwd`) until it answers /health on
 * `port`. Its output is kept for failure messages; `stop()` sends SIGTERM and gives the exit
 * status.
 */
export async function spawnApiwatch(args, port, options = {}) {
  const child = spawn(binary, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (b) => {
    log += b;
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  await waitHealthy(base, child, () => log);
  return {
    base,
    log: () => log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', r)));
    },
  };
}

export async function startService() {
  const dir = mkdtempSync(join(tmpdir(), 'apiwatch-e2e-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'apiwatch.yaml'),
    [
      'data_dir: data',
      `listen: 127.0.0.1:${port}`,
      'api:',
      `  token: ${ADMIN_TOKEN}`,
      'storage:',
      '  commit_interval: 100ms',
      'sources:',
      '  - {type: file, name: edge, format: nginx, include: [logs/access.log]}',
      'correlate:',
      '  risk_threshold: 10',
      '',
    ].join('\n'),
  );
  const service = await spawnApiwatch(['run', '-c', 'apiwatch.yaml'], port, { cwd: dir });
  return {
    ...service,
    dir,
    /** Appends nginx combined lines, stamped now, for `ip` asking for `paths` with `userAgent`. */
    append(ip, paths, userAgent) {
      const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
      const two = (n) => String(n).padStart(2, '0');
      const lines = paths.map((path, i) => {
        const d = new Date(Date.now() + i * 1000);
        const stamp = `${two(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
        return `${ip} - - [${stamp}] "GET ${path} HTTP/1.1" 404 512 "-" "${userAgent}"\n`;
      });
      appendFileSync(join(dir, 'logs/access.log'), lines.join(''));
    },
  };
}
