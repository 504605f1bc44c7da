// Real-browser tests of the renewal page: Debian's chromium, headless, driven by playwright-core,
// against the demo server serving the release build (dist/) with simulated readers behind the
// navigator.usb stand-in. The page's own WebUSB transport, CCID driver and card code run
// unchanged; only the USB devices are simulated.
//
// Run by scripts/browser-test (after `trunk build --release` and `cargo build -p demo`):
//   node --test tests/browser/
// Environment: see support.mjs.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import {
  IN_WINDOW,
  OUTPUT,
  STEP_TIMEOUT,
  TOO_EARLY,
  cleanUp,
  connect,
  expectHeading,
  insertCard,
  launchBrowser,
  noPageErrors,
  openPage as openPageIn,
  reachIdentity,
  receiptNumber,
  screenshot,
  screenshotFolder,
  startServer,
  typeIdentity,
} from './support.mjs';

// CCID commands from sending the identity form (VERIFY, the signature, then the writes) to the
// write of the signature certificate, and to that of the encryption certificate, on the
// EZ100PU with the demo card (each certificate goes in one extended UPDATE BINARY). They change
// only when the driver's or the card's command sequence does; the test then says so.
const PULL_IN_SIGNATURE = 6;
const PULL_IN_ENCRYPTION = 14;

let browser;

before(async () => {
  screenshotFolder();
  browser = await launchBrowser();
  console.log(`screenshots and the receipt PDF: ${OUTPUT}`);
});

after(cleanUp);

const openPage = (server, query) => openPageIn(browser, server, query);

/**
 * From the start page to sending the identity form, with the in-window card in `reader`;
 * `beforeSending` runs just before the form is sent.
 */
async function sendIdentity(page, reader, identity = IN_WINDOW, beforeSending = async () => {}) {
  await reachIdentity(page, reader);
  await typeIdentity(page, identity);
  await beforeSending();
  await page.getByRole('button', { name: '確認', exact: true }).click();
}

/** From the start page to the receipt, with the in-window card in `reader`. */
async function renewInWindowCard(page, reader) {
  await sendIdentity(page, reader);
  await expectHeading(page, '展期作業成功');
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
