// Bundles the dashboard into ../apiwatch/assets/dashboard (index.html, app.js, app.css, and
// licenses.txt), the files the service embeds at compile time. Names are fixed and the output
// depends only on the sources and the locked packages, so the test script can rebuild and
// compare.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';

const out = new URL('../apiwatch/assets/dashboard/', import.meta.url);
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  // The bundle carries no comments; the packages' notices go to licenses.txt instead.
  legalComments: 'none',
  metafile: true,
  outdir: out.pathname,
  logLevel: 'warning',
});
await copyFile('src/index.html', new URL('index.html', out));

// Every package with code or data in the bundle, with its licence text: the notices their
// licences ask to travel with copies (the binary embeds this file and serves it).
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) packages.add(m[1]);
}
let notices = 'Third-party software in the apiwatch dashboard (apiwatch/assets/dashboard/app.js, app.css)\n';
for (const name of [...packages].sort()) {
  const dir = `node_modules/${name}`;
  const meta = JSON.parse(await readFile(`${dir}/package.json`, 'utf8'));
  const file = (await readdir(dir)).filter((f) => /^(licen[cs]e|copying)/i.test(f)).sort()[0];
  if (!file) throw new Error(`${name}: no licence file to include`);
  const text = (await readFile(`${dir}/${file}`, 'utf8')).trim();
  notices += `\n${'='.repeat(78)}\n${meta.name} ${meta.version} (${meta.license})\n${'='.repeat(78)}\n\n${text}\n`;
}
await writeFile(new URL('licenses.txt', out), notices);
