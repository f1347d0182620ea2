// Bundles the page with esbuild into one folder the server serves (default: dist/, or
// --outdir DIR). No CDN: OpenLayers comes from node_modules (pinned by package-lock.json).
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--outdir');
const outdir = i > 0 ? process.argv[i + 1] : join(here, 'dist');
mkdirSync(outdir, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outfile: join(outdir, 'app.js'),
  loader: { '.css': 'css' },
  logLevel: 'warning',
});
copyFileSync(join(here, 'src/index.html'), join(outdir, 'index.html'));
console.log(`web: built ${outdir}`);
