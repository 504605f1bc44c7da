// The signed web bundle scripts/iwa makes, taken apart: the integrity block and its Ed25519
// signature checked from the format's definition (not with the library that signed it), the web
// bundle ID derived from the key, the manifest, and every file the page loads, under the IWA's
// content security policy (no inline script).
//
// Run by scripts/iwa-test: node --test tests/iwa/bundle.test.mjs
// Environment: DIST (the page's release build; default dist/).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Bundle } from 'wbn';
import {
  DIST,
  ROOT,
  buildBundle,
  rawEd25519,
  readIntegrityBlock,
  scratchDirectory,
  signedData,
  testKey,
  webBundleIdOf,
} from './support.mjs';

const AUTHORITY = 'https://authority.renewal.test';
const sha512 = (bytes) => createHash('sha512').update(bytes).digest();

// What Chromium's IWA manifest needs, and what this app asks of it (scripts/iwa.mjs).
const PERMISSIONS = ['usb', 'usb-unrestricted', 'smart-card', 'cross-origin-isolated'];
const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript',
  wasm: 'application/wasm',
  css: 'text/css',
  json: 'application/json',
  webmanifest: 'application/manifest+json',
  png: 'image/png',
};

let directory;
let key;
let built;
let block;
let bundle;
let origin;

before(async () => {
  directory = scratchDirectory('renewal-iwa-bundle-');
  key = testKey(directory);
  built = await buildBundle({ directory, keyPath: key.path, authority: AUTHORITY });
  block = readIntegrityBlock(built.bytes);
  bundle = new Bundle(built.bytes.subarray(block.end));
  origin = `isolated-app://${block.webBundleId}`;
  console.log(`bundle: ${built.bytes.length} bytes, ${bundle.urls.length} resources, ${origin}/`);
});

after(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** The resource at `path` in the bundle: status, headers, body as text and bytes. */
function resource(path) {
  const url = origin + path;
  assert.ok(bundle.urls.includes(url), `the bundle has ${url}`);
  const response = bundle.getResponse(url);
  return { ...response, bytes: Buffer.from(response.body), text: Buffer.from(response.body).toString('utf8') };
}

describe('the signed web bundle', () => {
  test('its integrity block is version 2 with one Ed25519 signature by the given key', () => {
    assert.equal(block.signatures.length, 1);
    const [signature] = block.signatures;
    assert.deepEqual(Buffer.from(signature.publicKey), rawEd25519(key.publicKey));
    assert.equal(signature.signature.length, 64, 'an Ed25519 signature is 64 bytes');
  });

  test('the signature verifies over the bundle hash, the unsigned block and its attributes', () => {
    const [signature] = block.signatures;
    const data = signedData(built.bytes, block, signature, sha512);
    assert.ok(verify(null, data, key.publicKey, signature.signature), 'the signature is valid');
  });

  test('a changed byte of the bundle or of the block fails verification', () => {
    const [signature] = block.signatures;
    // One byte in the middle of the web bundle (the page's files), then one in the block's
    // web bundle ID attribute.
    for (const at of [block.end + Math.floor((built.bytes.length - block.end) / 2), block.signaturesStart - 3]) {
      const tampered = Buffer.from(built.bytes);
      tampered[at] ^= 0x01;
      const tamperedBlock = readIntegrityBlock(tampered);
      const data = signedData(tampered, tamperedBlock, tamperedBlock.signatures[0], sha512);
      assert.equal(verify(null, data, key.publicKey, signature.signature), false, `byte ${at} changed`);
    }
  });

  test('the web bundle ID is the key with the Ed25519 suffix, as scripts/iwa printed it', () => {
    const expected = webBundleIdOf(rawEd25519(key.publicKey));
    assert.equal(block.webBundleId, expected, 'the integrity block names the key');
    assert.equal(built.report['web bundle ID'], expected, 'the printed ID');
    assert.equal(built.report.origin, `isolated-app://${expected}/`, 'the printed origin');
    assert.match(built.report['signing key'], /operator key/, 'the given key is not called a dev key');
    assert.doesNotMatch(built.stderr, /DEVELOPMENT key/);
    // 32 key bytes + 3 suffix bytes = 35 bytes = 56 base32 characters.
    assert.match(expected, /^[a-z2-7]{56}$/);
  });

  test('every resource is under the app origin with full isolated-app:// URLs and no primary URL', () => {
    for (const url of bundle.urls) assert.ok(url.startsWith(`${origin}/`), url);
    assert.equal(bundle.primaryURL, null, 'Chromium rejects IWA bundles with a primary URL');
  });

  test('every file of dist/ is in it, with its content type, and / serves index.html', () => {
    for (const path of listDist()) {
      const response = resource(path);
      assert.equal(response.status, 200, path);
      const extension = path.split('.').pop();
      assert.equal(response.headers['content-type'], CONTENT_TYPES[extension], `${path} content type`);
      if (path !== '/index.html') {
        assert.deepEqual(response.bytes, readFileSync(join(DIST, path)), `${path} as built`);
      }
    }
    assert.equal(resource('/').text, resource('/index.html').text, '/ is index.html');
  });

  test('index.html names the authority, and has no inline script or event handler (IWA CSP)', () => {
    const html = resource('/').text;
    const meta = [...html.matchAll(/<meta\s[^>]*name="renewal-authority"[^>]*>/g)];
    assert.equal(meta.length, 1, 'one renewal-authority meta tag');
    assert.match(meta[0][0], new RegExp(`content="${AUTHORITY.replace(/[.]/g, '\\.')}"`));
    for (const script of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      assert.match(script[1], /\ssrc=/, `script-src 'self' blocks an inline <script${script[1]}>`);
      assert.equal(script[2].trim(), '', 'a script with src has no body');
    }
    assert.doesNotMatch(html, /<[a-z][^>]*\son[a-z]+\s*=/i, 'no on…= attributes');
    assert.doesNotMatch(html, /javascript:/i, 'no javascript: URLs');
  });

  test('everything the page loads is in the bundle: its scripts, styles, preloads, wasm, data', () => {
    const html = resource('/').text;
    const loaded = new Set();
    for (const [, src] of html.matchAll(/<script\b[^>]*\ssrc="([^"]+)"/gi)) loaded.add(src);
    for (const [, href] of html.matchAll(/<link\b[^>]*\shref="([^"]+)"/gi)) loaded.add(href);
    // The start script imports the wasm-bindgen glue and names the wasm it instantiates.
    const scripts = [...loaded].filter((path) => path.endsWith('.js'));
    assert.ok(scripts.length > 0, 'the page loads a script');
    for (const path of scripts) {
      const text = resource(new URL(path, `${origin}/`).pathname).text;
      for (const [, imported] of text.matchAll(/\bimport\s[^'"]*?from\s*['"]([^'"]+)['"]/g)) loaded.add(imported);
      for (const [, wasm] of text.matchAll(/module_or_path:\s*['"]([^'"]+)['"]/g)) loaded.add(wasm);
    }
    assert.ok([...loaded].some((path) => path.endsWith('.wasm')), 'the wasm the page instantiates is named');
    // The office list the Info page fetches, by the path the app's code gives.
    const officesPath = readFileSync(join(ROOT, 'app/src/offices.rs'), 'utf8').match(
      /pub const OFFICES_PATH: &str = "([^"]+)";/,
    );
    assert.ok(officesPath, 'app/src/offices.rs still names OFFICES_PATH');
    loaded.add(officesPath[1]);
    for (const path of loaded) {
      const url = new URL(path, `${origin}/`);
      // (URL.origin is "null" for a scheme Node does not know; compare scheme and host.)
      assert.equal(`${url.protocol}//${url.host}`, origin, `${path} is the app's own (default-src 'self')`);
      assert.equal(resource(url.pathname).status, 200, path);
    }
    console.log(`the page loads ${[...loaded].join(', ')}`);
  });

  test('the manifest has every field an IWA needs and grants usb-unrestricted', () => {
    const response = resource('/.well-known/manifest.webmanifest');
    assert.equal(response.headers['content-type'], 'application/manifest+json');
    const manifest = JSON.parse(response.text);
    assert.equal(manifest.name, '自然人憑證線上展期');
    assert.ok(manifest.short_name && manifest.short_name.length <= 12, 'a short name');
    assert.ok(manifest.description, 'a description');
    const cargo = readFileSync(join(ROOT, 'app/Cargo.toml'), 'utf8').match(/^version = "([^"]+)"/m);
    assert.equal(manifest.version, cargo[1], "the app crate's version");
    assert.equal(built.report.version, cargo[1], 'the printed version');
    assert.equal(manifest.start_url, '/');
    assert.equal(manifest.scope, '/');
    assert.equal(manifest.id, '/');
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.lang, 'zh-Hant-TW');
    assert.deepEqual(Object.keys(manifest.permissions_policy).sort(), [...PERMISSIONS].sort());
    for (const feature of PERMISSIONS) assert.deepEqual(manifest.permissions_policy[feature], ['self'], feature);
    const sizes = manifest.icons.map((icon) => icon.sizes);
    for (const wanted of ['192x192', '512x512']) assert.ok(sizes.includes(wanted), `a ${wanted} icon`);
    for (const icon of manifest.icons) {
      assert.equal(icon.type, 'image/png');
      const png = resource(icon.src);
      assert.equal(png.headers['content-type'], 'image/png');
      assert.deepEqual(png.bytes.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      const [width, height] = [png.bytes.readUInt32BE(16), png.bytes.readUInt32BE(20)];
      assert.equal(`${width}x${height}`, icon.sizes, `${icon.src} is the size it claims`);
    }
  });

  test('the same page and key give the same bundle (icons and order are deterministic)', async () => {
    const again = await buildBundle({ directory, keyPath: key.path, authority: AUTHORITY, name: 'again.swbn' });
    // Ed25519 signatures are deterministic too, so the whole file repeats.
    assert.deepEqual(again.bytes, built.bytes);
  });

  test('--kiosk starts at /?kiosk', async () => {
    const kiosk = await buildBundle({
      directory,
      keyPath: key.path,
      authority: AUTHORITY,
      name: 'kiosk.swbn',
      extraArgs: ['--kiosk'],
    });
    const kioskBlock = readIntegrityBlock(kiosk.bytes);
    const kioskBundle = new Bundle(kiosk.bytes.subarray(kioskBlock.end));
    const manifest = JSON.parse(
      Buffer.from(kioskBundle.getResponse(`${origin}/.well-known/manifest.webmanifest`).body).toString('utf8'),
    );
    assert.equal(manifest.start_url, '/?kiosk');
  });

  test('without --authority, or with an http one, it refuses and says why', async () => {
    await assert.rejects(buildBundle({ directory, keyPath: key.path }), (error) => {
      assert.match(error.stderr, /--authority is needed/);
      return true;
    });
    await assert.rejects(buildBundle({ directory, keyPath: key.path, authority: 'http://127.0.0.1:8080' }), (error) => {
      assert.match(error.stderr, /must be https/);
      return true;
    });
  });

  test('without a key it makes a development key once, mode 0600, and says so loudly', async () => {
    const first = await buildBundle({ directory, authority: AUTHORITY, name: 'dev1.swbn' });
    const second = await buildBundle({ directory, authority: AUTHORITY, name: 'dev2.swbn' });
    assert.match(first.stderr, /DEVELOPMENT key/);
    assert.match(first.stderr, /made a development signing key/);
    assert.doesNotMatch(second.stderr, /made a development signing key/, 'made once');
    assert.equal(first.report['web bundle ID'], second.report['web bundle ID'], 'the same key the second time');
    assert.notEqual(first.report['web bundle ID'], built.report['web bundle ID']);
    const devKey = join(directory, 'config/citizen-renewal/iwa-dev-key.pem');
    assert.equal(statSync(devKey).mode & 0o777, 0o600);
    assert.equal(
      webBundleIdOf(rawEd25519(createPublicKey(readFileSync(devKey)))),
      first.report['web bundle ID'],
    );
  });
});

/** Every file of DIST as a bundle path (`/…`). */
function listDist() {
  return readdirSync(DIST, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => '/' + relative(DIST, join(entry.parentPath ?? entry.path, entry.name)).split(sep).join('/'));
}
