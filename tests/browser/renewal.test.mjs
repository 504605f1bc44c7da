// Real-browser tests of the renewal page: Debian's chromium, headless, driven by playwright-core,
// against the demo server serving the release build (dist/) with simulated readers behind the
// navigator.usb stand-in. The page's own WebUSB transport, CCID driver and card code run
// unchanged; only the USB devices are simulated.
//
// Run by scripts/browser-test (after `trunk build --release` and `cargo build -p demo`):
//   node --test tests/browser/
// Environment: DEMO_SERVER (the demo server binary), DIST (the release build), CHROMIUM
// (the browser), BROWSER_TEST_OUTPUT (where screenshots and the receipt PDF go).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');
const DEMO_SERVER = process.env.DEMO_SERVER || join(ROOT, 'target/debug/demo');
const DIST = process.env.DIST || join(ROOT, 'dist');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUTPUT = resolve(process.env.BROWSER_TEST_OUTPUT || join(ROOT, 'target/browser-tests'));

// The demo holder whose certificate is in its renewal window (authority/DEMO.md).
const IN_WINDOW = { card: 'in_window', nationalId: 'D100000013', birthday: '0690115', pin: '690115' };
const TOO_EARLY = 'too_early';
// CCID commands from sending the identity form (VERIFY, the signature, then the writes) to the
// write of the signature certificate, and to that of the encryption certificate, on the
// EZ100PU with the demo card (each certificate goes in one extended UPDATE BINARY). They change
// only when the driver's or the card's command sequence does; the test then says so.
const PULL_IN_SIGNATURE = 6;
const PULL_IN_ENCRYPTION = 14;

// Generous: a first page load compiles the wasm, and the EZ100PU moves 16 bytes per transfer.
const STEP_TIMEOUT = 60_000;

let browser;
const servers = [];

before(async () => {
  // Only this run's screenshots: a renamed or removed case leaves no stale picture behind.
  rmSync(join(OUTPUT, 'screenshots'), { recursive: true, force: true });
  mkdirSync(join(OUTPUT, 'screenshots'), { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  console.log(`screenshots and the receipt PDF: ${OUTPUT}`);
});

after(async () => {
  await browser?.close();
  for (const server of servers) await server.stop();
});

/** A demo server of its own (fresh authority records and cards) on a free port. */
async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'renewal-demo-'));
  const child = spawn(
    DEMO_SERVER,
    ['--address', '127.0.0.1:0', '--data-dir', dataDir, '--dist', DIST, '--fresh'],
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

/** A fresh browser tab (its own storage: no remembered reader) on the demo page. */
async function openPage(server, query) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-TW' });
  const page = await context.newPage();
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
  await page.goto(`${server.url}/?${query}`);
  await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: STEP_TIMEOUT });
  return page;
}

async function insertCard(page, reader, card) {
  await page.waitForFunction(() => window.usbStandin && window.usbStandin.insertCard);
  await page.evaluate(([reader, card]) => window.usbStandin.insertCard(reader, card), [reader, card]);
}

async function screenshot(page, name) {
  const path = join(OUTPUT, 'screenshots', `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const heading = (page, text) => page.getByRole('heading', { name: text });

async function expectHeading(page, text) {
  await heading(page, text).first().waitFor({ timeout: STEP_TIMEOUT });
}

async function connect(page) {
  await page.getByRole('button', { name: '連接讀卡機' }).click();
}

async function typeIdentity(page, { nationalId, birthday, pin }) {
  await page.getByLabel('身分證字號').fill(nationalId);
  await page.getByLabel('出生年月日').fill(birthday);
  await page.getByLabel('PIN碼').fill(pin);
}

/**
 * From the start page to sending the identity form, with the in-window card in `reader`;
 * `beforeSending` runs just before the form is sent.
 */
async function sendIdentity(page, reader, identity = IN_WINDOW, beforeSending = async () => {}) {
  await insertCard(page, reader, IN_WINDOW.card);
  await connect(page);
  await expectHeading(page, '可以辦理展期');
  await page.getByRole('button', { name: '下一步：確認身分' }).click();
  await expectHeading(page, '確認身分');
  await typeIdentity(page, identity);
  await beforeSending();
  await page.getByRole('button', { name: '確認', exact: true }).click();
}

/** From the start page to the receipt, with the in-window card in `reader`. */
async function renewInWindowCard(page, reader) {
  await sendIdentity(page, reader);
  await expectHeading(page, '展期作業成功');
}

async function receiptNumber(page) {
  const text = await page.locator('.receipt').innerText();
  const found = text.match(/R\d{8}-[0-9A-F]+/);
  assert.ok(found, `the receipt shows a renewal number:\n${text}`);
  return found[0];
}

function noPageErrors(page) {
  assert.deepEqual(page.problems, []);
}

describe('the renewal page in Chromium', { concurrency: false }, () => {
  test('(a) the in-window card is renewed; the receipt is shown and printed to PDF', async () => {
    const server = await startServer();
    const page = await openPage(server, 'usb=protected-class&choose=ez100pu');
    await renewInWindowCard(page, 'ez100pu');
    const body = await page.locator('main').innerText();
    assert.match(body, /8 年|8年/, 'the 8-year span is stated');
    const number = await receiptNumber(page);
    await screenshot(page, 'a-done');
    const pdf = join(OUTPUT, 'receipt.pdf');
    await page.emulateMedia({ media: 'print' });
    await screenshot(page, 'a-receipt-print');
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    assert.ok(statSync(pdf).size > 1000, 'the PDF has content');
    console.log(`(a) renewal ${number}; receipt PDF ${pdf}`);
    noPageErrors(page);
  });

  test('(b) a wrong PIN says how many tries are left; the right PIN then renews', async () => {
    const server = await startServer();
    const page = await openPage(server, 'usb=protected-class&choose=ez100pu');
    await sendIdentity(page, 'ez100pu', { ...IN_WINDOW, pin: '000000' });
    await page.getByText('PIN碼錯誤，還可以輸入 2 次。').waitFor({ timeout: STEP_TIMEOUT });
    await screenshot(page, 'b-wrong-pin');
    // The ID number and birthday are kept; only the PIN is typed again.
    assert.equal(await page.getByLabel('身分證字號').inputValue(), IN_WINDOW.nationalId);
    assert.equal(await page.getByLabel('PIN碼').inputValue(), '');
    await page.getByLabel('PIN碼').fill(IN_WINDOW.pin);
    await page.getByRole('button', { name: '確認', exact: true }).click();
    await expectHeading(page, '展期作業成功');
    await screenshot(page, 'b-done');
    noPageErrors(page);
  });

  test('(c) a too-early card shows the opening date and asks for nothing', async () => {
    const server = await startServer();
    const page = await openPage(server, 'usb=protected-class&choose=ez100pu');
    await insertCard(page, 'ez100pu', TOO_EARLY);
    await connect(page);
    await expectHeading(page, '尚未到可辦理展期的時間');
    const body = await page.locator('main').innerText();
    assert.match(body, /自 .+ 起可以辦理/, 'the opening date is given');
    assert.equal(await page.getByLabel('PIN碼').count(), 0, 'no PIN field');
    assert.equal(await page.getByRole('button', { name: '下一步：確認身分' }).count(), 0);
    await screenshot(page, 'c-too-early');
    noPageErrors(page);
  });

  test('(d) a protected-class reader in an ordinary tab gets the guidance', async () => {
    const server = await startServer();
    const page = await openPage(server, 'usb=protected-class&choose=tpdu-t1');
    await insertCard(page, 'tpdu-t1', IN_WINDOW.card);
    await connect(page);
    await expectHeading(page, '瀏覽器不允許一般網頁使用這台讀卡機');
    const body = await page.locator('main').innerText();
    assert.match(body, /EZ100PU/, 'a reader outside the class is suggested');
    assert.match(body, /Kiosk|服務站/, 'the kiosk deployment is offered');
    assert.match(body, /戶政事務所/, 'the counter is offered');
    await screenshot(page, 'd-protected-class');
    noPageErrors(page);
  });

  test('(e) a browser without navigator.usb gets the unsupported-browser page', async () => {
    const server = await startServer();
    const page = await openPage(server, 'usb=no-webusb');
    await expectHeading(page, '此瀏覽器無法使用網頁線上展期');
    const body = await page.locator('main').innerText();
    assert.match(body, /戶政事務所/, 'the counter is offered');
    assert.equal(await page.getByRole('button', { name: '連接讀卡機' }).count(), 0);
    await screenshot(page, 'e-unsupported');
    noPageErrors(page);
  });

  /**
   * Pulls the in-window card out of the EZ100PU `commands` CCID commands after the identity
   * form is sent, then checks that a fresh tab finishes the same renewal, issued once. Returns
   * the card's signature certificate serial before, and the one the next run found on it.
   */
  async function interruptAndResume(server, commands, name) {
    const page = await openPage(server, 'usb=protected-class&choose=ez100pu');
    const issued = [];
    let before = null;
    page.on('response', async (response) => {
      if (response.url().endsWith('/api/v1/renew') && response.ok()) {
        issued.push((await response.json()).renewal_number);
      }
      if (response.url().endsWith('/api/v1/verdict') && response.ok()) {
        before ??= (await response.json()).certificate_serial;
      }
    });
    await sendIdentity(page, 'ez100pu', IN_WINDOW, () =>
      page.evaluate((n) => window.usbStandin.removeCardAfter('ez100pu', n), commands),
    );
    await expectHeading(page, '請插入自然人憑證IC卡');
    await page.getByText('寫入新憑證時卡片被取出').waitFor();
    await screenshot(page, `${name}-interrupted`);
    assert.equal(issued.length, 1, 'issued once');

    // The next run: a fresh tab, the same card put back.
    await page.close();
    const next = await openPage(server, 'usb=protected-class&choose=ez100pu');
    let after = null;
    next.on('response', async (response) => {
      if (response.url().endsWith('/api/v1/verdict') && response.ok()) {
        after = (await response.json()).certificate_serial;
      }
    });
    await insertCard(next, 'ez100pu', IN_WINDOW.card);
    await connect(next);
    await expectHeading(next, '完成先前的展期');
    await typeIdentity(next, IN_WINDOW);
    await next.getByRole('button', { name: '寫入憑證' }).click();
    await expectHeading(next, '展期作業成功');
    assert.equal(await receiptNumber(next), issued[0], 'the same renewal was finished');
    await screenshot(next, `${name}-resumed`);
    noPageErrors(next);
    await next.close();
    return { before, after };
  }

  test('(f) a card pulled out while writing is finished by the next run, one renewal only', async () => {
    // Pulled while the signature certificate was being written: the card still holds both
    // originals.
    const first = await interruptAndResume(await startServer(), PULL_IN_SIGNATURE, 'f-first');
    assert.equal(first.after, first.before, 'the next run found the original signature certificate');
    // Pulled while the encryption certificate was being written: the signature certificate is
    // already the new one.
    const second = await interruptAndResume(await startServer(), PULL_IN_ENCRYPTION, 'f-second');
    assert.notEqual(second.after, second.before, 'the next run found the new signature certificate');
  });

  test('(g) an EZ100PU-dialect reader and a TPDU T=1 reader both complete a renewal', async () => {
    const ez100pu = await startServer();
    const tab = await openPage(ez100pu, 'usb=protected-class&choose=ez100pu');
    await renewInWindowCard(tab, 'ez100pu');
    await screenshot(tab, 'g-ez100pu');
    noPageErrors(tab);

    // Class 0x0B readers need the kiosk / Isolated Web App deployment.
    const t1 = await startServer();
    const kiosk = await openPage(t1, 'usb=normal&choose=tpdu-t1');
    await renewInWindowCard(kiosk, 'tpdu-t1');
    await screenshot(kiosk, 'g-tpdu-t1');
    noPageErrors(kiosk);
  });
});
