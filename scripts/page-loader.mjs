// Trunk post-build step: moves Trunk's inline module script (the loader that starts the wasm)
// out of index.html into a hashed file of its own, with subresource integrity. A page with no
// inline script can run under a strict content security policy — the Isolated Web App's
// (`script-src 'self' 'wasm-unsafe-eval'`) and the authority's own.
//
// Trunk runs it with TRUNK_STAGING_DIR set; by hand: node scripts/page-loader.mjs DIR.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const directory = process.env.TRUNK_STAGING_DIR || process.argv[2];
if (!directory) {
  console.error('page-loader: no TRUNK_STAGING_DIR and no directory given');
  process.exit(2);
}
const indexPath = join(directory, 'index.html');
const html = readFileSync(indexPath, 'utf8');

const inline = /<script type="module">([\s\S]*?)<\/script>/g;
const found = [...html.matchAll(inline)];
if (found.length !== 1) {
  console.error(`page-loader: expected one inline module script in ${indexPath}, found ${found.length}`);
  process.exit(1);
}
// Trunk hands the wasm bindings to window.wasmBindings for other scripts; the page has none.
const loader = found[0][1]
  .split('\n')
  .filter((line) => !line.includes('window.wasmBindings'))
  .filter((line, at, lines) => line.trim() !== '' || (at > 0 && lines[at - 1].trim() !== ''))
  .join('\n')
  .trim();
const bytes = Buffer.from(`${loader}\n`, 'utf8');
const name = `start-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.js`;
const integrity = `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
writeFileSync(join(directory, name), bytes);
const tag = `<script type="module" src="/${name}" integrity="${integrity}"></script>`;
writeFileSync(indexPath, html.replace(found[0][0], tag));
console.log(`page-loader: the loader is /${name}`);
