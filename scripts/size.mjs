// Prints the brotli-compressed bytes of everything the production page downloads before a
// renewal: the files dist/index.html loads (wasm, js, css) and the data it fetches. Run by
// scripts/size after a release build; the target is 200 KB (see issue 5).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const dist = process.argv[2] || 'dist';
const TARGET = 200 * 1024;
const brotli = (bytes) =>
  brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  }).length;

// What the page downloads: everything in dist except source maps.
const files = readdirSync(dist)
  .filter((name) => !name.endsWith('.map') && statSync(join(dist, name)).isFile())
  .sort();
let raw = 0;
let compressed = 0;
const rows = files.map((name) => {
  const bytes = readFileSync(join(dist, name));
  const size = brotli(bytes);
  raw += bytes.length;
  compressed += size;
  return [name, bytes.length, size];
});
const pad = Math.max(...files.map((name) => name.length));
for (const [name, bytes, size] of rows) {
  console.log(`${name.padEnd(pad)}  ${String(bytes).padStart(9)} B  ${String(size).padStart(8)} B brotli`);
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`${'total'.padEnd(pad)}  ${String(raw).padStart(9)} B  ${String(compressed).padStart(8)} B brotli`);
console.log(
  `brotli total ${kb(compressed)} KB; target ${kb(TARGET)} KB: ${compressed <= TARGET ? 'within' : 'over'} (${(compressed / TARGET).toFixed(2)} × target)`,
);
