// Packs the page's release build (dist/) into a signed web bundle (.swbn) that Chromium installs
// as an Isolated Web App: the one deployment where WebUSB lets the page claim class 0x0B
// (smart-card) readers, granted by the manifest's `usb-unrestricted` permissions policy.
//
// Run through scripts/iwa, which builds dist/ first unless --dist is given:
//   node scripts/iwa.mjs --dist DIR --authority https://… [--key FILE] [--kiosk] [--out FILE]
// Prints the bundle's path and size, its web bundle ID and origin, the version, whether it was
// signed with the development key, and the Chromium flags that install and open it.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { BundleBuilder } from 'wbn';
import { IntegrityBlockSigner, NodeCryptoSigningStrategy, WebBundleId } from 'wbn-sign';
import { iconPng } from './iwa-icon.mjs';

const ROOT = resolve(import.meta.dirname, '..');

/** Where Chromium reads an Isolated Web App's manifest (it ignores `<link rel="manifest">`). */
export const MANIFEST_PATH = '/.well-known/manifest.webmanifest';
/** The meta tag the page reads its authority's base URL from (same origin without it). */
export const AUTHORITY_META = 'renewal-authority';
export const ICON_SIZES = [144, 192, 512];
export const iconPath = (size) => `/icons/icon-${size}.png`;

/**
 * The features the app's document may use. Chromium grants an Isolated Web App only what its
 * manifest lists: `usb-unrestricted` lifts WebUSB's protected classes (class 0x0B readers),
 * `usb` is WebUSB itself, `smart-card` the Web Smart Card API (PC/SC, ChromeOS), and
 * `cross-origin-isolated` the isolation every IWA runs in.
 */
export const PERMISSIONS_POLICY = {
  usb: ['self'],
  'usb-unrestricted': ['self'],
  'smart-card': ['self'],
  'cross-origin-isolated': ['self'],
};

// Every kind of file Trunk writes into dist/. Anything else stops the build: a file served
// without the right type is a page that fails in the field, not at packing time.
const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

const DEV_KEY_PATH = join(
  process.env.XDG_CONFIG_HOME || join(homedir(), '.config'),
  'citizen-renewal',
  'iwa-dev-key.pem',
);

const USAGE = `usage: scripts/iwa --authority https://AUTHORITY [--key FILE] [--kiosk] [--out FILE] [--dist DIR]

Packs the page's release build into a signed web bundle for Chromium's Isolated Web Apps.

  --authority URL  the renewal authority's base URL (https), written into index.html as
                   <meta name="${AUTHORITY_META}">; required: an IWA's own origin serves no API
  --key FILE       the Ed25519 private key (PEM, PKCS#8) that signs the bundle and fixes its
                   web bundle ID (also IWA_SIGNING_KEY_FILE; a passphrase in
                   IWA_SIGNING_KEY_PASSPHRASE). Without one, a development key is made once at
                   ${DEV_KEY_PATH}
  --kiosk          start at /?kiosk instead of /
  --out FILE       where the bundle goes (default target/iwa/renewal.swbn)
  --dist DIR       an existing release build to pack (scripts/iwa builds dist/ without it)`;

class UsageError extends Error {}

function fail(message) {
  throw new UsageError(message);
}

/** The authority's base URL, checked: the IWA's CSP lets the page connect only to https:. */
export function authorityUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    fail(`--authority ${text}: not a URL`);
  }
  if (url.protocol !== 'https:') {
    fail(
      `--authority ${text}: must be https (an Isolated Web App's content security policy ` +
        `allows connections to https: only)`,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    fail(`--authority ${text}: only scheme, host, port and path, no credentials, query or fragment`);
  }
  // The page joins API paths onto it; one form without a trailing slash.
  return url.href.replace(/\/$/, '');
}

/**
 * The signing key: the operator's, or the development key, made on first use outside the
 * repository (a key in a checkout gets committed, and whoever holds it can ship updates that
 * Chromium accepts as this app).
 */
function signingKey(keyFile) {
  if (keyFile) {
    const path = resolve(keyFile);
    let pem;
    try {
      pem = readFileSync(path);
    } catch (error) {
      fail(`signing key ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
    }
    return { key: parseKey(pem, path), path, development: path === DEV_KEY_PATH };
  }
  if (!existsSync(DEV_KEY_PATH)) {
    mkdirSync(dirname(DEV_KEY_PATH), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(DEV_KEY_PATH, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
      flag: 'wx',
    });
    console.error(`made a development signing key: ${DEV_KEY_PATH}`);
  }
  // The mode is checked, not assumed: the key may have been copied in by hand.
  if ((statSync(DEV_KEY_PATH).mode & 0o077) !== 0) chmodSync(DEV_KEY_PATH, 0o600);
  return { key: parseKey(readFileSync(DEV_KEY_PATH), DEV_KEY_PATH), path: DEV_KEY_PATH, development: true };
}

function parseKey(pem, path) {
  let key;
  try {
    key = createPrivateKey({ key: pem, passphrase: process.env.IWA_SIGNING_KEY_PASSPHRASE });
  } catch (error) {
    const encrypted = /passphrase|decrypt|bad decrypt/i.test(error.message);
    fail(
      `signing key ${path}: ${encrypted ? 'encrypted; set IWA_SIGNING_KEY_PASSPHRASE' : `not a PEM private key (${error.message})`}`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    fail(`signing key ${path}: an Ed25519 key is needed, this is ${key.asymmetricKeyType}`);
  }
  return key;
}

/** The `app` crate's version, which Chromium compares to decide whether a bundle is an update. */
function appVersion() {
  const metadata = JSON.parse(
    execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1', '--offline'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const app = metadata.packages.find((crate) => crate.name === 'app');
  if (!app) fail('cargo metadata lists no `app` crate');
  // Chromium's IWA versions are dot-separated numbers only: no pre-release or build part.
  if (!/^\d+(\.\d+)*$/.test(app.version)) {
    fail(`app version ${app.version}: an Isolated Web App's version must be numbers and dots only`);
  }
  return app.version;
}

export function webAppManifest({ version, kiosk }) {
  return {
    id: '/',
    name: '自然人憑證線上展期',
    short_name: '憑證展期',
    description: '以讀卡機上的自然人憑證IC卡，線上辦理自然人憑證展期。',
    version,
    lang: 'zh-Hant-TW',
    dir: 'ltr',
    start_url: kiosk ? '/?kiosk' : '/',
    scope: '/',
    display: 'standalone',
    background_color: '#ffffff',
    theme_color: '#0b57a4',
    icons: ICON_SIZES.map((size) => ({
      src: iconPath(size),
      sizes: `${size}x${size}`,
      type: 'image/png',
      purpose: 'any',
    })),
    permissions_policy: PERMISSIONS_POLICY,
  };
}

const escapeAttribute = (text) =>
  text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `html` naming `authority` in its meta tag: replaced if the build has one, else added. */
export function withAuthority(html, authority) {
  const tag = `<meta name="${AUTHORITY_META}" content="${escapeAttribute(authority)}">`;
  const existing = new RegExp(`<meta\\s[^>]*name=["']?${AUTHORITY_META}["']?[^>]*>`, 'i');
  if (existing.test(html)) return html.replace(existing, tag);
  const charset = /<meta\s[^>]*charset[^>]*>/i.exec(html);
  if (charset) {
    const at = charset.index + charset[0].length;
    return `${html.slice(0, at)}\n    ${tag}${html.slice(at)}`;
  }
  const head = /<head(\s[^>]*)?>/i.exec(html);
  if (!head) fail('index.html has no <head>');
  const at = head.index + head[0].length;
  return `${html.slice(0, at)}\n    ${tag}${html.slice(at)}`;
}

/** Inline scripts and event-handler attributes: the IWA's CSP blocks them, the page would not start. */
export function inlineScriptProblems(html) {
  const problems = [];
  for (const match of html.matchAll(/<script\b([^>]*)>/gi)) {
    if (!/\ssrc\s*=/i.test(match[1])) problems.push(`an inline <script${match[1]}>`);
  }
  for (const match of html.matchAll(/<[a-z][^>]*\s(on[a-z]+)\s*=/gi)) {
    problems.push(`an event-handler attribute ${match[1]}=`);
  }
  return problems;
}

function filesUnder(directory) {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

function contentType(path) {
  const type = CONTENT_TYPES[extname(path).toLowerCase()];
  if (!type) fail(`${path}: no content type known for "${extname(path)}" files (add it to CONTENT_TYPES)`);
  return type;
}

/**
 * The signed bundle. Its resources carry full `isolated-app://ID/…` URLs: the IWA reader looks
 * requests up by exact URL, and the bundle has no primary URL (IWAs open at start_url).
 */
export async function buildBundle({ dist, authority, kiosk, key, version }) {
  const webBundleId = new WebBundleId(key).serialize();
  const origin = `isolated-app://${webBundleId}`;
  const resources = new Map();
  for (const file of filesUnder(dist)) {
    const path = '/' + relative(dist, file).split(sep).join('/');
    resources.set(path, { type: contentType(file), body: readFileSync(file) });
  }
  const index = resources.get('/index.html');
  if (!index) fail(`${dist} has no index.html: not a page build`);
  const html = withAuthority(index.body.toString('utf8'), authority);
  const problems = inlineScriptProblems(html);
  if (problems.length > 0) {
    fail(
      `${join(dist, 'index.html')} has ${problems.join(', ')}; an Isolated Web App's ` +
        `content security policy blocks inline script, so the page would not start`,
    );
  }
  index.body = Buffer.from(html, 'utf8');
  // The app opens at `/` (start_url); `/index.html` stays for links that name it.
  resources.set('/', index);
  if (resources.has(MANIFEST_PATH)) fail(`${dist} already has ${MANIFEST_PATH}`);
  resources.set(MANIFEST_PATH, {
    type: 'application/manifest+json',
    body: Buffer.from(JSON.stringify(webAppManifest({ version, kiosk }), null, 2) + '\n', 'utf8'),
  });
  for (const size of ICON_SIZES) {
    resources.set(iconPath(size), { type: 'image/png', body: iconPng(size) });
  }

  const builder = new BundleBuilder('b2');
  for (const [path, { type, body }] of [...resources].sort(([a], [b]) => (a < b ? -1 : 1))) {
    builder.addExchange(origin + path, 200, { 'content-type': type }, body);
  }
  const unsigned = builder.createBundle();
  const { signedWebBundle } = await new IntegrityBlockSigner(unsigned, webBundleId, [
    new NodeCryptoSigningStrategy(key),
  ]).sign();
  return { signedWebBundle, webBundleId, origin: `${origin}/`, paths: [...resources.keys()] };
}

/**
 * Chromium's ID of an installed web app, which `--app-id` launches (GenerateAppIdFromManifestId):
 * the manifest ID (for an IWA, its origin with the trailing slash) hashed with SHA-256, that
 * digest hashed again (the extension-ID derivation Chromium reuses), the first 16 bytes with
 * each nibble written as a letter a–p.
 */
export function chromiumAppId(manifestId) {
  const once = createHash('sha256').update(manifestId).digest();
  const digest = createHash('sha256').update(once).digest().subarray(0, 16);
  return [...digest].map((byte) => String.fromCharCode(97 + (byte >> 4), 97 + (byte & 15))).join('');
}

/** The Chromium command lines that install the bundle and open the app. */
export function chromiumCommands(bundlePath, origin) {
  const features = '--enable-features=IsolatedWebApps,IsolatedWebAppDevMode';
  return [
    `chromium ${features} --install-isolated-web-app-from-file=${bundlePath}`,
    `chromium ${features} --app-id=${chromiumAppId(origin)}`,
  ];
}

async function main() {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string' },
      key: { type: 'string' },
      authority: { type: 'string' },
      kiosk: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.dist) fail('--dist is needed (scripts/iwa builds dist/ and passes it)');
  if (!values.authority) {
    fail(
      '--authority is needed: an Isolated Web App is served from its bundle, so there is no ' +
        'same-origin authority for the page to fall back on',
    );
  }
  const authority = authorityUrl(values.authority);
  const dist = resolve(values.dist);
  if (!existsSync(join(dist, 'index.html'))) fail(`${dist}: no index.html (build the page first)`);
  const out = resolve(values.out ?? join(ROOT, 'target/iwa/renewal.swbn'));
  const { key, path: keyPath, development } = signingKey(values.key ?? process.env.IWA_SIGNING_KEY_FILE);
  const version = appVersion();

  const bundle = await buildBundle({ dist, authority, kiosk: values.kiosk, key, version });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bundle.signedWebBundle);

  if (development) {
    const bar = '!'.repeat(78);
    console.error(
      `\n${bar}\n!! Signed with the DEVELOPMENT key ${keyPath}\n!! It is not for production: ` +
        `whoever holds this key can publish updates to this app.\n!! Give the production key ` +
        `with --key FILE or IWA_SIGNING_KEY_FILE.\n${bar}\n`,
    );
  }
  const [install, open] = chromiumCommands(out, bundle.origin);
  console.log(`bundle: ${out} (${statSync(out).size} bytes, ${bundle.paths.length} resources)`);
  console.log(`web bundle ID: ${bundle.webBundleId}`);
  console.log(`origin: ${bundle.origin}`);
  console.log(`version: ${version}`);
  console.log(`authority: ${authority}`);
  console.log(`start URL: ${bundle.origin}${values.kiosk ? '?kiosk' : ''}`);
  console.log(`signing key: ${keyPath} (${development ? 'DEVELOPMENT key' : 'operator key'})`);
  console.log(`install: ${install}`);
  console.log(`open: ${open}`);
  console.log(`Chromium app ID: ${chromiumAppId(bundle.origin)}`);
  // The public key fingerprint the operator can compare with the production key's.
  const publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  console.log(`public key (SPKI, base64): ${publicKey.toString('base64')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((error) => {
    if (error instanceof UsageError) {
      console.error(`scripts/iwa: ${error.message}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  });
}
