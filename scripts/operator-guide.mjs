// Trunk post-build step: renders the deployment kit's guide (deploy/README.md) into the built
// page as /deploy/index.html, so that the page's reader guidance can point at the section that
// explains a situation (WinUSB, udev, pcscd, the Isolated Web App) — as a link in a browser, in
// a frame of the page itself in a kiosk. Section ids are GitHub's, so the same anchors work on
// the repository's copy. No inline script or style: it loads under the page's strict policy.
//
// Trunk runs it with TRUNK_STAGING_DIR set; by hand: node scripts/operator-guide.mjs DIR.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { marked } from 'marked';

const directory = process.env.TRUNK_STAGING_DIR || process.argv[2];
if (!directory) {
  console.error('operator-guide: no TRUNK_STAGING_DIR and no directory given');
  process.exit(2);
}
const root = join(dirname(new URL(import.meta.url).pathname), '..');
const markdown = readFileSync(join(root, 'deploy/README.md'), 'utf8');

/** GitHub's heading anchor: lowercase, punctuation dropped, spaces to hyphens, repeats numbered. */
function slugger() {
  const seen = new Map();
  return (text) => {
    const base = text
      .toLowerCase()
      .trim()
      .replace(/<[^>]*>/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return count === 0 ? base : `${base}-${count}`;
  };
}

const slug = slugger();
const renderer = new marked.Renderer();
renderer.heading = function ({ tokens, depth, text }) {
  const id = slug(text.replace(/`/g, ''));
  return `<h${depth} id="${id}">${this.parser.parseInline(tokens)}</h${depth}>\n`;
};
// Links to other sites open outside the guide's frame; links within it stay.
renderer.link = function ({ href, title, tokens }) {
  const label = this.parser.parseInline(tokens);
  const outside = /^https?:/.test(href);
  const titled = title ? ` title="${title}"` : '';
  return outside
    ? `<a href="${href}"${titled} target="_blank" rel="noopener">${label}</a>`
    : `<a href="${href}"${titled}>${label}</a>`;
};

const body = marked.parse(markdown, { renderer, gfm: true });
const title = (markdown.match(/^# (.+)$/m) || [, 'Deployment guide'])[1];
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="guide.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
const guide = join(directory, 'deploy');
mkdirSync(guide, { recursive: true });
writeFileSync(join(guide, 'index.html'), html);
writeFileSync(join(guide, 'guide.css'), readFileSync(join(root, 'www/guide.css')));
console.log('operator-guide: deploy/README.md is /deploy/index.html');
