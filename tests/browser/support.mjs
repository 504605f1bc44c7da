// What the browser tests share: Debian's chromium driven by playwright-core, a demo server of
// their own per case (fresh authority records and cards), and the steps of a renewal as a
// citizen takes them.
//
// Environment: DEMO_SERVER (the demo server binary), DIST (the release build), CHROMIUM
// (the browser), BROWSER_TEST_OUTPUT (where screenshots and the receipt PDF go).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');
export const DEMO_SERVER = process.env.DEMO_SERVER || join(ROOT, 'target/debug/demo');
export const DIST = process.env.DIST || join(ROOT, 'dist');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const OUTPUT = resolve(process.env.BROWSER_TEST_OUTPUT || join(ROOT, 'target/browser-tests'));

// The demo holder whose certificate is in its renewal window (authority/DEMO.md).
export const IN_WINDOW = { card: 'in_window', nationalId: 'D100000013', birthday: '0690115', pin: '690115' };
export const TOO_EARLY = 'too_early';

// Generous: a first page load compiles the wasm, and the EZ100PU moves 16 bytes per transfer.
export const STEP_TIMEOUT = 60_000;

// The flags every test browser gets (no sandbox in a container, nothing phoning home).
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

const servers = [];
const browsers = [];

/** Headless chromium. */
export async function launchBrowser() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  browsers.push(browser);
  return browser;
}

/** Closes every browser and demo server started here. */
export async function cleanUp() {
  for (const browser of browsers.splice(0)) await browser.close();
  for (const server of servers.splice(0)) await server.stop();
}

/** The screenshots' folder, made if missing (scripts/browser-test empties it before a run). */
export function screenshotFolder() {
  const folder = join(OUTPUT, 'screenshots');
  mkdirSync(folder, { recursive: true });
  return folder;
}

/** A demo server of its own (fresh authority records and cards) on a free port. */
export async function startServer(extraArgs = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'renewal-demo-'));
  const child = spawn(
    DEMO_SERVER,
    ['--address', '127.0.0.1:0', '--data-dir', dataDir, '--dist', DIST, '--fresh', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  let output = '';
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo server did not start:\n${output}`)), 120_000);
    const look = (chunk) => {
      output += chunk;
      const found = output.match(/demo server at (http:\/\/\S+?)\/?\s/);
      if (found) {
        clearTimeout(timer);
        resolveUrl(found[1]);
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo server exited with ${code}:\n${output}`));
    });
  });
  const server = {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await new Promise((done) => child.once('exit', done));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  servers.push(server);
  return server;
}

/** Collects the page's errors, failed loads and console errors into `page.problems`. */
export function watchProblems(page) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Failed requests are reported below, with their address.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    // The page has no icon; an API refusal is an answer the flow handles, not a fault.
    if (response.status() >= 400 && path !== '/favicon.ico' && !path.startsWith('/api/')) {
      problems.push(`HTTP ${response.status()} for ${path}`);
    }
  });
  page.problems = problems;
  return page;
}

/**
 * A fresh browser tab (its own storage: no remembered reader) of `browser` on the demo page
 * with `query`, in `context` if given, else in a new one with `contextOptions` (playwright's:
 * viewport, touch).
 */
export async function openPage(browser, server, query, { context, ...contextOptions } = {}) {
  context ??= await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'zh-TW',
    ...contextOptions,
  });
  const page = watchProblems(await context.newPage());
  await page.goto(`${server.url}/?${query}`);
  await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: STEP_TIMEOUT });
  return page;
}

export async function insertCard(page, reader, card) {
  await page.waitForFunction(() => window.usbStandin && window.usbStandin.insertCard);
  await page.evaluate(([reader, card]) => window.usbStandin.insertCard(reader, card), [reader, card]);
}

export async function screenshot(page, name) {
  const path = join(OUTPUT, 'screenshots', `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export const heading = (page, text) => page.getByRole('heading', { name: text });

export async function expectHeading(page, text, timeout = STEP_TIMEOUT) {
  await heading(page, text).first().waitFor({ timeout });
}

export async function connect(page) {
  await page.getByRole('button', { name: '連接讀卡機' }).click();
}

export async function typeIdentity(page, { nationalId, birthday, pin }) {
  await page.getByLabel('身分證字號').fill(nationalId);
  await page.getByLabel('出生年月日').fill(birthday);
  await page.getByLabel('PIN碼').fill(pin);
}

/** From the start page to the identity form, with the in-window card in `reader`. */
export async function reachIdentity(page, reader) {
  await insertCard(page, reader, IN_WINDOW.card);
  await connect(page);
  await expectHeading(page, '可以辦理展期');
  await page.getByRole('button', { name: '下一步：確認身分' }).click();
  await expectHeading(page, '確認身分');
}

export async function receiptNumber(page) {
  const text = await page.locator('.receipt').innerText();
  const found = text.match(/R\d{8}-[0-9A-F]+/);
  assert.ok(found, `the receipt shows a renewal number:\n${text}`);
  return found[0];
}

export function noPageErrors(page) {
  assert.deepEqual(page.problems, []);
}
