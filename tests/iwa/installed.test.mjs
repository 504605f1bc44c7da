// The page installed as an Isolated Web App in Debian's chromium and driven with playwright-core:
// it opens at isolated-app://ID/, its permissions policy grants usb-unrestricted, nothing breaks
// the IWA's CSP, and a class 0x0B reader (the stand-in's protected-class mode, as Chromium
// behaves) renews a card against the demo server's authority across origins (the server's CORS
// grant checked). The same reader in an ordinary tab gets the guidance instead, and the
// cross-origin path (meta tag authority, Chromium's own CORS checks, the bridge relay) runs in an
// ordinary tab too, so it is tested where the app cannot be installed.
//
// Debian's chromium 156 here does not install the signed bundle file, headless or headed
// (under Xvfb), from --install-isolated-web-app-from-file or from DevTools' PWA.install (file://
// or http:// URL; over http it fetches the .swbn, then nothing): with --v=1 the profile's
// kIsolatedWebAppInstall keep-alive is taken and released within a fraction of a second, no
// "Isolated Web App command line installation successful/failed" line is ever logged, no web app
// lock is taken and no install command reaches the command manager (chrome://web-app-internals:
// command_log without it; chrome://iwa-dev: "Installed Applications (0)"), no utility process is
// started to read the bundle, and isolated-app://ID/ fails with ERR_FAILED. That test is then
// skipped with what chromium showed, unless IWA_REQUIRE_INSTALL=1 makes it a failure.
// The same chromium does install the same contents — the signed bundle's own resources, byte for
// byte with their headers, served over loopback — as a dev-mode proxy app
// (--install-isolated-web-app-from-url): "Isolated Web App command line installation
// successful". That app runs at isolated-app://ID/ under the IWA's CSP and permissions policy,
// and the app tests run there when the file install does not happen. What the proxy app does not
// prove is chromium's check of the integrity block's signature; bundle.test.mjs checks it
// against the format.
//
// Run by scripts/iwa-test. Environment: DIST, DEMO_SERVER, CHROMIUM, BROWSER_TEST_OUTPUT.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Bundle } from 'wbn';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  DEMO_SERVER,
  IN_WINDOW,
  OUTPUT,
  STEP_TIMEOUT,
  connect,
  expectHeading,
  insertCard,
  reachIdentity,
  spawnServer,
  typeIdentity,
} from '../browser/support.mjs';
import {
  DIST,
  ROOT,
  buildBundle,
  openWebSocket,
  rawEd25519,
  readIntegrityBlock,
  scratchDirectory,
  testKey,
  webBundleIdOf,
} from './support.mjs';

const REQUIRE_INSTALL = process.env.IWA_REQUIRE_INSTALL === '1';

// Names the page reaches that stand for the deployment's hosts; the test routes them to the
// demo server. Both are https/wss, the schemes the IWA's connect-src allows.
const AUTHORITY = 'https://authority.renewal.test';
const BRIDGE = 'wss://usb-bridge.renewal.test/usb-bridge';
const READER = 'tpdu-t1'; // interface class 0x0B: refused in an ordinary tab
// How long Chromium gets to install the bundle given on its command line.
const INSTALL_WAIT_MS = 20_000;

const BROWSER_ARGS = CHROMIUM_ARGS;
const IWA_FEATURES = '--enable-features=IsolatedWebApps,IsolatedWebAppDevMode';

let directory;
let webBundleId;
let origin;
let bundlePath;
let server;
let bundleBytes;
let iwa; // the signed bundle installed from its file: { context, page, installed, evidence }
let proxy; // the same contents as a dev-mode proxy app: { context, page, installed, origin }
let contents; // the loopback server of the bundle's resources
let proxyServer; // the demo server answering CORS for the proxy app's origin

before(async () => {
  mkdirSync(join(OUTPUT, 'screenshots'), { recursive: true });
  directory = scratchDirectory('renewal-iwa-installed-');
  const key = testKey(directory);
  webBundleId = webBundleIdOf(rawEd25519(key.publicKey));
  origin = `isolated-app://${webBundleId}`;
  const built = await buildBundle({ directory, keyPath: key.path, authority: AUTHORITY });
  assert.equal(built.report['web bundle ID'], webBundleId);
  bundlePath = built.path;
  bundleBytes = built.bytes;
  server = await startDemoServer(origin);
});

after(async () => {
  await iwa?.context.close();
  await proxy?.context.close();
  await contents?.close();
  await proxyServer?.stop();
  await server?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** The demo server, answering CORS for `allowedOrigin` only, with its bridge's address. */
async function startDemoServer(allowedOrigin, address = '127.0.0.1:0') {
  const started = await spawnServer(
    'demo',
    DEMO_SERVER,
    (dataDir) => ['--address', address, '--data-dir', dataDir, '--dist', DIST, '--fresh', '--allow-origin', allowedOrigin],
    /demo server at (http:\/\/\S+?)\/?\s/,
  );
  return { ...started, bridge: started.url.replace(/^http/, 'ws') + '/usb-bridge' };
}

/**
 * Carries every WebSocket the page opens to `BRIDGE` to the demo server's bridge, message by
 * message, both ways (playwright's connectToServer cannot change the address).
 */
async function relayBridge(context, target = server) {
  const relayed = { toBridge: 0, toPage: 0 };
  await context.routeWebSocket(`${BRIDGE}**`, async (page) => {
    const pending = [];
    let upstream = null;
    page.onMessage((message) => {
      relayed.toBridge += 1;
      if (upstream) upstream.send(String(message));
      else pending.push(String(message));
    });
    page.onClose(() => upstream?.close());
    upstream = await openWebSocket(target.bridge, {
      onMessage: (message) => {
        relayed.toPage += 1;
        page.send(message);
      },
      onClose: () => page.close().catch(() => {}),
    });
    for (const message of pending.splice(0)) upstream.send(message);
  });
  return relayed;
}

/**
 * Forwards the page's requests to `AUTHORITY` to `target`, Origin header and all, and hands back
 * the server's answer, recording the server's own Access-Control-Allow-Origin. (Playwright
 * answers routed CORS preflights itself and adds CORS headers to a fulfilled cross-origin
 * answer that has none, so the browser's enforcement is tested without a route, in the
 * cross-origin path test; here the server's grant is asserted from what it sent.)
 */
async function forwardAuthority(context, target, seen) {
  await context.route(`${AUTHORITY}/**`, async (route) => {
    const request = route.request();
    const url = target.url + new URL(request.url()).pathname + new URL(request.url()).search;
    const response = await route.fetch({ url });
    seen.push({
      method: request.method(),
      path: new URL(request.url()).pathname,
      origin: (await request.allHeaders()).origin,
      allowOrigin: response.headers()['access-control-allow-origin'],
      status: response.status(),
    });
    await route.fulfill({ response });
  });
}

/** Text of a chrome:// page, through its shadow roots (the internals pages are web components). */
async function pageText(page) {
  return page.evaluate(() => {
    const walk = (node) => {
      let text = node.shadowRoot ? walk(node.shadowRoot) : '';
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) text += child.textContent;
        else if (child.nodeType === Node.ELEMENT_NODE && !['STYLE', 'SCRIPT'].includes(child.tagName)) text += walk(child);
      }
      return text;
    };
    return walk(document.body).replace(/[ \t]+\n/g, '\n').replace(/\n{2,}/g, '\n');
  });
}

/** What Chromium says about IWA installs: web-app-internals' JSON and the IWA dev tool's list. */
async function installationEvidence(context) {
  const page = await context.newPage();
  try {
    await page.goto('chrome://web-app-internals');
    await page.waitForTimeout(1500);
    const text = await pageText(page);
    const json = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));
    const commands = (json.CommandManager?.command_log ?? []).map((entry) => entry['!metadata']?.['!name']);
    await page.goto('chrome://iwa-dev');
    await page.waitForTimeout(1000);
    const dev = await pageText(page);
    return {
      installedWebApps: json.InstalledWebApps?.Details?.length ?? null,
      installCommandScheduled: commands.some((name) => /Install.*Isolated|IsolatedWebApp.*Install/i.test(name ?? '')),
      commands,
      devTool: (dev.match(/Installed Applications \(\d+\)/) ?? ['(not shown)'])[0],
      keyDistribution: json.IwaKeyDistributionInfoProvider,
    };
  } finally {
    await page.close();
  }
}

/** Launches chromium with the bundle on its command line and waits for the app to open. */
async function launchWithBundle() {
  const context = await chromium.launchPersistentContext(join(directory, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    locale: 'zh-TW',
    args: [...BROWSER_ARGS, IWA_FEATURES, `--install-isolated-web-app-from-file=${bundlePath}`],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const deadline = Date.now() + INSTALL_WAIT_MS;
  let lastError = null;
  while (Date.now() < deadline) {
    try {
      // Before the install finishes the isolated-app:// URL has no app: ERR_FAILED.
      await page.goto(`${origin}/`, { timeout: 5_000 });
      if (page.url().startsWith(`${origin}/`)) return { context, page, installed: true };
    } catch (error) {
      lastError = error.message.split('\n')[0];
    }
    await page.waitForTimeout(1_000);
  }
  return { context, page, installed: false, lastError, evidence: await installationEvidence(context) };
}

/**
 * Serves the signed bundle's own resources — the bytes and headers it holds for each URL — over
 * loopback HTTP, which is how chromium's dev-mode proxy install reads an app.
 */
async function serveBundleContents(bytes) {
  const bundle = new Bundle(bytes.subarray(readIntegrityBlock(bytes).end));
  const resources = new Map(bundle.urls.map((url) => [new URL(url).pathname, bundle.getResponse(url)]));
  const http = createHttpServer((request, response) => {
    const found = resources.get(new URL(request.url, 'http://127.0.0.1').pathname);
    if (!found) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(found.status, found.headers).end(Buffer.from(found.body));
  });
  await new Promise((listening) => http.listen(0, '127.0.0.1', listening));
  return {
    url: `http://127.0.0.1:${http.address().port}/`,
    close: () => new Promise((closed) => http.close(closed)),
  };
}

/**
 * Installs the app from `contentsUrl` as a dev-mode proxy app and opens it. Its web bundle ID is
 * chosen by chromium at install; the profile's preferences record it.
 */
async function launchWithProxy(contentsUrl) {
  const profile = join(directory, 'proxy-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    locale: 'zh-TW',
    args: [...BROWSER_ARGS, IWA_FEATURES, `--install-isolated-web-app-from-url=${contentsUrl}`],
  });
  const preferences = join(profile, 'Default', 'Preferences');
  const deadline = Date.now() + INSTALL_WAIT_MS;
  let appOrigin = null;
  while (!appOrigin && Date.now() < deadline) {
    await new Promise((wait) => setTimeout(wait, 250));
    if (existsSync(preferences)) {
      appOrigin = readFileSync(preferences, 'latin1').match(/isolated-app:\/\/[a-z2-7]{56}/)?.[0] ?? null;
    }
  }
  const page = context.pages()[0] ?? (await context.newPage());
  if (appOrigin) await page.goto(`${appOrigin}/`);
  return { context, page, installed: Boolean(appOrigin), origin: appOrigin };
}

/** The installed app the app tests use: the signed bundle's where it installed, else the proxy's. */
function installedApp(t) {
  if (iwa?.installed) return { ...iwa, origin, server };
  if (proxy?.installed) return { ...proxy, server: proxyServer };
  t.skip('no app installed');
  return null;
}

function requireInstalled(t) {
  if (iwa?.installed) return true;
  const reason = iwa ? `this chromium did not install the bundle (${JSON.stringify(iwa.evidence)})` : 'not launched';
  if (REQUIRE_INSTALL) assert.fail(reason);
  t.skip(reason);
  return false;
}

// Chromium 156 exposes the document's policy as document.featurePolicy; permissionsPolicy is
// the specification's newer name, used where it exists.
const POLICY = '(document.permissionsPolicy ?? document.featurePolicy)';
const allows = (page, feature) => page.evaluate(`${POLICY}.allowsFeature(${JSON.stringify(feature)})`);

const heading = (page, text) => page.getByRole('heading', { name: text }).first();

async function renew(page) {
  await reachIdentity(page, READER);
  await typeIdentity(page, IN_WINDOW);
  await page.getByRole('button', { name: '確認', exact: true }).click();
  await expectHeading(page, '展期作業成功');
}

/**
 * The renewal with the in-window card in the class 0x0B reader, from `url`, the authority at
 * AUTHORITY forwarded to `target`'s and the bridge relayed to it; checks every authority exchange
 * came from `pageOrigin` and was granted to it by the server, and that nothing broke the CSP.
 */
async function renewAcrossOrigins(context, target, url, pageOrigin, screenshotName, initScript = null) {
  const problems = [];
  const seen = [];
  const relayed = await relayBridge(context, target);
  await forwardAuthority(context, target, seen);
  // After the relay's own script, so that the stand-in's socket is the relayed one.
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.exposeFunction('reportViolation', (text) => problems.push(`CSP: ${text}`));
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (event) =>
      window.reportViolation(`${event.violatedDirective} ${event.blockedURI}`),
    ),
  );
  await page.goto(url);
  await renew(page);
  await page.screenshot({ path: join(OUTPUT, 'screenshots', `${screenshotName}.png`), fullPage: true });
  const renewals = seen.filter((exchange) => exchange.path === '/api/v1/renew' && exchange.method === 'POST');
  assert.equal(renewals.length, 1, `one renewal: ${JSON.stringify(seen)}`);
  for (const exchange of seen) {
    assert.equal(exchange.origin, pageOrigin, `${exchange.method} ${exchange.path} came from the page`);
    assert.equal(exchange.allowOrigin, pageOrigin, `${exchange.method} ${exchange.path} was granted by the server`);
  }
  assert.ok(relayed.toBridge > 0 && relayed.toPage > 0, 'the bridge was reached through the relay');
  console.log(`authority exchanges: ${seen.map((exchange) => `${exchange.method} ${exchange.path}`).join(', ')}`);
  assert.deepEqual(problems, []);
  await page.close();
  return seen;
}

/** A TCP port nobody listens on just now (for a server whose own origin must be known first). */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

describe('the page as an installed Isolated Web App', { concurrency: false }, () => {
  test('the demo server answers CORS for the app origin, and for no other', async () => {
    const preflight = (from) =>
      fetch(`${server.url}/api/v1/verdict`, {
        method: 'OPTIONS',
        headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const allowed = await preflight(origin);
    assert.equal(allowed.headers.get('access-control-allow-origin'), origin);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/i);
    const other = await preflight(`isolated-app://${'a'.repeat(52)}aaic`);
    assert.equal(other.headers.get('access-control-allow-origin'), null, 'another app gets no grant');
    const info = await fetch(`${server.url}/api/v1/server-info`, { headers: { origin } });
    assert.equal(info.headers.get('access-control-allow-origin'), origin);
  });

  test('chromium installs the bundle from its command line and opens it at isolated-app://ID/', async (t) => {
    iwa = await launchWithBundle();
    if (!iwa.installed) {
      console.log(`not installed after ${INSTALL_WAIT_MS} ms: last navigation ${iwa.lastError}`);
      console.log(`chromium's own view: ${JSON.stringify(iwa.evidence)}`);
    }
    if (!requireInstalled(t)) return;
    await heading(iwa.page, /./).waitFor({ timeout: STEP_TIMEOUT });
    assert.ok(iwa.page.url().startsWith(`${origin}/`));
  });

  test('the same contents installed as a dev-mode proxy app open at isolated-app://ID/', async () => {
    if (iwa?.installed) {
      console.log('the signed bundle installed; the app tests use it');
      return;
    }
    await iwa?.context.close();
    contents = await serveBundleContents(bundleBytes);
    proxy = await launchWithProxy(contents.url);
    assert.ok(proxy.installed, 'chromium installed the dev-mode proxy app');
    await heading(proxy.page, '自然人憑證線上展期').waitFor({ timeout: STEP_TIMEOUT });
    assert.ok(proxy.page.url().startsWith(`${proxy.origin}/`), proxy.page.url());
    proxyServer = await startDemoServer(proxy.origin);
    console.log(`dev-mode proxy app at ${proxy.origin}/ (the signed bundle's own resources)`);
  });

  test('its permissions policy grants usb-unrestricted and the page knows it', async (t) => {
    const app = installedApp(t);
    if (!app) return;
    const state = {
      deployment: await app.page.evaluate(() => document.documentElement.dataset.deployment),
      unrestricted: await allows(app.page, 'usb-unrestricted'),
      usb: await allows(app.page, 'usb'),
      isolated: await app.page.evaluate(() => self.crossOriginIsolated),
    };
    assert.deepEqual(state, { deployment: 'unrestricted', unrestricted: true, usb: true, isolated: true });
  });

  test('a class 0x0B reader renews a card in the app, across origins to the authority', async (t) => {
    const app = installedApp(t);
    if (!app) return;
    const standin = readFileSync(join(ROOT, 'www/usb-standin.js'), 'utf8');
    const options = JSON.stringify({ mode: 'protected-class', url: BRIDGE, choose: READER });
    await renewAcrossOrigins(app.context, app.server, `${app.origin}/`, app.origin, 'iwa-done', `window.USB_STANDIN = ${options};\n${standin}`);
  });

  test('the cross-origin path itself, with Chromium enforcing CORS (ordinary tab, no route)', async () => {
    // Where the app cannot be installed this still runs the machinery it needs: the page takes
    // its authority from the meta tag scripts/iwa writes, on another origin, and Chromium itself
    // makes the preflights and checks the server's answers (playwright's route.fulfill would add
    // CORS headers of its own, so no route here). One demo server plays both: the page from
    // http://localhost:PORT, the authority at http://127.0.0.1:PORT, allowed for the former
    // only. The stand-in plays the kiosk (every reader may be claimed) over the relay.
    const port = await freePort();
    const pageOrigin = `http://localhost:${port}`;
    const authority = `http://127.0.0.1:${port}`;
    const tabServer = await startDemoServer(pageOrigin, `127.0.0.1:${port}`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BROWSER_ARGS });
    try {
      // The demo page is served with the production page's CSP (connect-src 'self'); this
      // test moves its authority to another origin on purpose, to see Chromium's CORS checks.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-TW', bypassCSP: true });
      const relayed = await relayBridge(context, tabServer);
      await context.addInitScript(
        ([bridge, authorityUrl]) => {
          let options;
          Object.defineProperty(window, 'USB_STANDIN', {
            configurable: true,
            get: () => options,
            set: (value) => (options = { ...value, url: bridge }),
          });
          // What scripts/iwa writes into the bundle's index.html, put into the demo's page.
          new MutationObserver((_, observer) => {
            if (!document.head) return;
            const meta = document.createElement('meta');
            meta.name = 'renewal-authority';
            meta.content = authorityUrl;
            document.head.prepend(meta);
            observer.disconnect();
          }).observe(document, { childList: true, subtree: true });
        },
        [BRIDGE, authority],
      );
      const page = await context.newPage();
      const problems = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      const exchanges = [];
      page.on('response', async (response) => {
        if (!response.url().startsWith(`${authority}/api/`)) return;
        exchanges.push({
          method: response.request().method(),
          path: new URL(response.url()).pathname,
          origin: (await response.request().allHeaders()).origin,
          allowOrigin: (await response.allHeaders())['access-control-allow-origin'],
        });
      });
      await page.goto(`${pageOrigin}/?usb=normal&choose=${READER}`);
      await renew(page);
      await page.screenshot({ path: join(OUTPUT, 'screenshots', 'iwa-path-cross-origin.png'), fullPage: true });
      // The POSTs carry JSON, so Chromium preflighted each (it does not report preflights to
      // playwright as requests; the server's preflight answer is checked in the first test).
      assert.ok(exchanges.some((exchange) => exchange.path === '/api/v1/renew' && exchange.method === 'POST'));
      for (const exchange of exchanges) {
        assert.equal(exchange.origin, pageOrigin, `${exchange.method} ${exchange.path} came from the page`);
        assert.equal(exchange.allowOrigin, pageOrigin, `${exchange.method} ${exchange.path} granted`);
      }
      assert.ok(relayed.toBridge > 0 && relayed.toPage > 0, 'the bridge was reached through the relay');
      console.log(`cross-origin exchanges: ${exchanges.map((exchange) => `${exchange.method} ${exchange.path}`).join(', ')}`);
      // The other demo server names only the app's origin: Chromium must refuse its answer here.
      const refused = await page.evaluate(
        (url) => fetch(url).then((response) => `answered ${response.status}`, (error) => `refused: ${error.name}`),
        `${server.url}/api/v1/server-info`,
      );
      assert.equal(refused, 'refused: TypeError', 'an authority that does not name this origin is refused');
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await tabServer.stop();
    }
  });

  test('the same reader in an ordinary tab gets the guidance (the permissions policy decides)', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BROWSER_ARGS });
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-TW' });
      // The tab's stand-in also goes through the relay, so the relay is checked even where the
      // app cannot be installed. (The demo page sets USB_STANDIN itself; the setter adds the url.)
      const relayed = await relayBridge(context);
      await context.addInitScript((bridge) => {
        let options;
        Object.defineProperty(window, 'USB_STANDIN', {
          configurable: true,
          get: () => options,
          set: (value) => (options = { ...value, url: bridge }),
        });
      }, BRIDGE);
      const page = await context.newPage();
      await page.goto(`${server.url}/?usb=protected-class&choose=${READER}`);
      await insertCard(page, READER, IN_WINDOW.card);
      await connect(page);
      await expectHeading(page, '瀏覽器不允許一般網頁使用這台讀卡機');
      assert.ok(relayed.toBridge > 0 && relayed.toPage > 0, `the bridge was reached through the relay: ${JSON.stringify(relayed)}`);
      const state = {
        deployment: await page.evaluate(() => document.documentElement.dataset.deployment),
        unrestricted: await allows(page, 'usb-unrestricted'),
      };
      assert.deepEqual(state, { deployment: 'ordinary-tab', unrestricted: false });
    } finally {
      await browser.close();
    }
  });
});
