// Bundles the dashboard into ../apiwatch/assets/dashboard (index.html, app.js, app.css), the
// files the service embeds at compile time. Names are fixed and the output depends only on
// the sources and the locked packages, so the test script can rebuild and compare.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';

const out = new URL('../apiwatch/assets/dashboard/', import.meta.url);
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  legalComments: 'none',
  outdir: out.pathname,
  logLevel: 'warning',
});
await copyFile('src/index.html', new URL('index.html', out));
