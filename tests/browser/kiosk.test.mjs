// Kiosk mode (`?kiosk`) in headless chromium at a kiosk's size: the touch layout in portrait
// 1080×1920 and landscape 1920×1080, a whole renewal typed on the on-screen keypad, nothing
// that opens another window, the receipt printed, and the idle reset — from every step that
// does not write the card, never while it is written (also when the card is pulled out and put
// back), with its countdown. Short waits (`&idle=…&receipt=…`) keep it quick.
//
// Run by scripts/browser-test with the other browser tests: node --test tests/browser/

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IN_WINDOW,
  cleanUp,
  connect,
  expectHeading,
  insertCard,
  launchBrowser,
  noPageErrors,
  openPage,
  reachIdentity,
  receiptNumber,
  screenshot,
  screenshotFolder,
  startServer,
  typeIdentity,
} from './support.mjs';

const PORTRAIT = { viewport: { width: 1080, height: 1920 }, hasTouch: true };
const LANDSCAPE = { viewport: { width: 1920, height: 1080 }, hasTouch: true };
const START_TITLE = '自然人憑證線上展期';
const COUNTDOWN_TEXT = /\d+ 秒後將回到首頁/;
// The smallest touch target allowed, in CSS pixels.
const SMALLEST_TARGET = 48;

let browser;

before(async () => {
  screenshotFolder();
  browser = await launchBrowser();
});

after(cleanUp);

/**
 * A kiosk tab on the EZ100PU with `settings` (for example `&idle=8`) at `size`. It records
 * every window.open and window.print, and every new page the context gets.
 */
async function openKiosk(server, settings, size = PORTRAIT, reader = 'ez100pu') {
  const context = await browser.newContext({ locale: 'zh-TW', ...size });
  await context.addInitScript(() => {
    window.kioskRecord = { opened: 0, printed: 0 };
    window.open = () => {
      window.kioskRecord.opened += 1;
      return null;
    };
    window.print = () => {
      window.kioskRecord.printed += 1;
    };
  });
  const pagesOpened = [];
  context.on('page', (page) => pagesOpened.push(page.url()));
  const page = await openPage(browser, server, `usb=protected-class&choose=${reader}&kiosk${settings}`, {
    context,
  });
  page.pagesOpened = pagesOpened;
  return page;
}

/**
 * What the kiosk layout promises on the screen shown: every control at least 48 px each way,
 * nothing wider than the screen, and no link or form that leaves the service.
 */
async function checkKioskScreen(page, name) {
  const report = await page.evaluate((smallest) => {
    const width = document.documentElement.clientWidth;
    const outsidePanel = (element) => !element.closest('.demo-panel');
    const describe = (element) =>
      `${element.tagName.toLowerCase()} "${(element.textContent || element.id).trim().slice(0, 40)}"`;
    const small = [];
    for (const element of document.querySelectorAll('button, a[href], input, select, summary')) {
      const box = element.getBoundingClientRect();
      if (!outsidePanel(element) || (box.width === 0 && box.height === 0)) continue;
      if (box.width < smallest || box.height < smallest) {
        small.push(`${describe(element)} ${Math.round(box.width)}×${Math.round(box.height)}`);
      }
    }
    const wide = [...document.querySelectorAll('body *')]
      .filter(outsidePanel)
      .filter((element) => {
        const box = element.getBoundingClientRect();
        return box.width > 0 && (box.right > width + 1 || box.left < -1);
      })
      .map(describe);
    const leaving = [...document.querySelectorAll('a[href], form[action], [target]')]
      .filter(outsidePanel)
      .map((element) => element.outerHTML.slice(0, 120));
    return {
      small,
      wide,
      leaving,
      scrollWidth: document.documentElement.scrollWidth,
      width,
      kiosk: document.documentElement.classList.contains('kiosk'),
    };
  }, SMALLEST_TARGET);
  assert.ok(report.kiosk, `${name}: the page is in kiosk mode`);
  assert.deepEqual(report.small, [], `${name}: touch targets under ${SMALLEST_TARGET} px`);
  assert.ok(report.scrollWidth <= report.width, `${name}: the page is ${report.scrollWidth} px wide on a ${report.width} px screen`);
  assert.deepEqual(report.wide, [], `${name}: elements outside the screen`);
  assert.deepEqual(report.leaving, [], `${name}: links or forms that leave the service`);
  await screenshot(page, `kiosk-${name}`);
}

/** Types `text` on the on-screen keypad, one tap per key. */
async function typeOnKeypad(page, text) {
  for (const key of text) await page.locator(`.keypad [data-key="${key}"]`).tap();
}

async function tapNextField(page) {
  await page.locator('.keypad [data-key="next"]').tap();
}

/** The start page's own heading (other headings may contain the service's name). */
const startHeading = (page) => page.getByRole('heading', { level: 1, name: START_TITLE, exact: true });

/** Waits for the countdown, then for the start page; returns the seconds the countdown said. */
async function expectIdleReset(page, timeout = 20_000) {
  const countdown = page.locator('.idle-countdown');
  await countdown.waitFor({ timeout });
  const said = await countdown.innerText();
  assert.match(said, COUNTDOWN_TEXT, 'the countdown says when');
  await startHeading(page).waitFor({ timeout });
  await countdown.waitFor({ state: 'detached' });
  return said;
}

/** Slows every USB read of the page by `millis` (0: back to full speed). */
async function slowUsb(page, millis) {
  await page.evaluate(async (millis) => {
    const [device] = await navigator.usb.getDevices();
    const prototype = Object.getPrototypeOf(device);
    if (!prototype.fullSpeedTransferIn) prototype.fullSpeedTransferIn = prototype.transferIn;
    prototype.transferIn = async function (...args) {
      if (window.usbDelay) await new Promise((done) => setTimeout(done, window.usbDelay));
      return this.fullSpeedTransferIn(...args);
    };
    window.usbDelay = millis;
  }, millis);
}

/** Samples the page's heading every 250 ms while `during` runs; returns what it saw. */
async function headingsDuring(page, during) {
  const seen = new Set();
  let running = true;
  const sampling = (async () => {
    while (running) {
      const text = await page.locator('h1').first().innerText().catch(() => '');
      seen.add(text);
      await new Promise((done) => setTimeout(done, 250));
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await sampling;
  }
  return seen;
}

describe('kiosk mode', { concurrency: false }, () => {
  for (const [orientation, size] of [
    ['portrait', PORTRAIT],
    ['landscape', LANDSCAPE],
  ]) {
    test(`a whole renewal on the keypad, ${orientation}: touch layout, nothing leaves the service, receipt printed`, async () => {
      const server = await startServer();
      const page = await openKiosk(server, '', size);
      await checkKioskScreen(page, `${orientation}-start`);
      await insertCard(page, 'ez100pu', IN_WINDOW.card);
      await page.getByRole('button', { name: '連接讀卡機' }).tap();
      await expectHeading(page, '可以辦理展期');
      await checkKioskScreen(page, `${orientation}-card`);
      await page.getByRole('button', { name: '下一步：確認身分' }).tap();
      await expectHeading(page, '確認身分');
      // The ID number takes letters; the keypad shows them only for it.
      assert.equal(await page.locator('.keypad-letters').isVisible(), true);
      await typeOnKeypad(page, IN_WINDOW.nationalId);
      await tapNextField(page);
      assert.equal(await page.locator('.keypad-letters').isVisible(), false, 'digits only for the birthday');
      // A mistake and its correction, as a finger makes them.
      await typeOnKeypad(page, '9');
      await page.locator('.keypad [data-key="delete"]').tap();
      await typeOnKeypad(page, IN_WINDOW.birthday);
      await tapNextField(page);
      await typeOnKeypad(page, IN_WINDOW.pin);
      assert.equal(await page.getByLabel('身分證字號').inputValue(), IN_WINDOW.nationalId);
      assert.equal(await page.getByLabel('出生年月日').inputValue(), IN_WINDOW.birthday);
      assert.equal(await page.getByLabel('PIN碼').inputValue(), IN_WINDOW.pin);
      // The form's own check of what the keypad typed (the birthday's reading).
      await page.locator('#birthday-message.ok').waitFor();
      await checkKioskScreen(page, `${orientation}-identity`);
      await page.getByRole('button', { name: '確認', exact: true }).tap();
      await expectHeading(page, '展期作業成功');
      const number = await receiptNumber(page);
      await checkKioskScreen(page, `${orientation}-done`);
      await page.getByRole('button', { name: '列印收執聯' }).tap();
      // The information page: the offices are listed in the page, nothing is linked away.
      await page.getByRole('button', { name: '展期須知與戶政事務所' }).tap();
      await page.locator('table.offices').waitFor();
      await checkKioskScreen(page, `${orientation}-info`);
      const record = await page.evaluate(() => window.kioskRecord);
      assert.deepEqual(record, { opened: 0, printed: 1 }, 'printed once, no window opened');
      assert.equal(page.pagesOpened.length, 1, `no other page was opened: ${page.pagesOpened}`);
      console.log(`(kiosk ${orientation}) renewal ${number} typed on the keypad`);
      noPageErrors(page);
    });
  }

  test('the keypad shows the form\'s own messages', async () => {
    const server = await startServer();
    const page = await openKiosk(server, '');
    await reachIdentity(page, 'ez100pu');
    await typeOnKeypad(page, 'D100000014');
    await tapNextField(page);
    await page.locator('#national-id-message').getByText(/.+/).waitFor();
    const message = await page.locator('#national-id-message').innerText();
    assert.ok(message.length > 0, 'a wrong check digit is named');
    assert.equal(await page.getByLabel('身分證字號').getAttribute('aria-invalid'), 'true');
    noPageErrors(page);
  });

  test('an idle kiosk starts over from every step that does not write the card', async () => {
    const server = await startServer();
    const page = await openKiosk(server, '&idle=8&receipt=8');
    // The first page as it first appears has nothing to clear: no countdown.
    await page.waitForTimeout(9_000);
    assert.equal(await page.locator('.idle-countdown').count(), 0, 'no countdown on a fresh start page');

    // The information page.
    await page.getByRole('button', { name: '展期須知與戶政事務所' }).tap();
    await expectHeading(page, '展期須知');
    const said = await expectIdleReset(page);
    console.log(`(kiosk idle) the countdown said: ${said.replace(/\s+/g, ' ')}`);

    // "Keep going" keeps going.
    await page.getByRole('button', { name: '展期須知與戶政事務所' }).tap();
    await page.locator('.idle-countdown').waitFor();
    await page.getByRole('button', { name: '繼續使用' }).tap();
    assert.equal(await page.locator('.idle-countdown').count(), 0, 'the countdown is gone');
    assert.equal(await startHeading(page).count(), 0, 'still on the information page');
    await expectIdleReset(page);

    // The reader connected, no card in it yet.
    await connect(page);
    await expectHeading(page, '請插入自然人憑證IC卡');
    await expectIdleReset(page);

    // The card page.
    await insertCard(page, 'ez100pu', IN_WINDOW.card);
    await connect(page);
    await expectHeading(page, '可以辦理展期');
    await expectIdleReset(page);

    // The identity form, half filled: nothing typed survives.
    await connect(page);
    await expectHeading(page, '可以辦理展期');
    await page.getByRole('button', { name: '下一步：確認身分' }).tap();
    await expectHeading(page, '確認身分');
    await typeOnKeypad(page, IN_WINDOW.nationalId);
    await tapNextField(page);
    await typeOnKeypad(page, IN_WINDOW.birthday);
    await expectIdleReset(page);
    await connect(page);
    await page.getByRole('button', { name: '下一步：確認身分' }).tap();
    await expectHeading(page, '確認身分');
    assert.equal(await page.getByLabel('身分證字號').inputValue(), '', 'the ID number is cleared');
    assert.equal(await page.getByLabel('出生年月日').inputValue(), '', 'the birthday is cleared');
    await expectIdleReset(page);

    // The receipt stays for its own time, then goes.
    await connect(page);
    await page.getByRole('button', { name: '下一步：確認身分' }).tap();
    await typeIdentity(page, IN_WINDOW);
    await page.getByRole('button', { name: '確認', exact: true }).tap();
    await expectHeading(page, '展期作業成功');
    await expectIdleReset(page);
    assert.equal(await page.locator('.receipt').count(), 0, 'the receipt is gone from the screen');

    // An already renewed card (a problem or verdict page of its own).
    await connect(page);
    await page.locator('h1').filter({ hasNotText: START_TITLE }).first().waitFor();
    await expectIdleReset(page);
    noPageErrors(page);
  });

  test('an idle kiosk starts over from the reader guidance', async () => {
    const server = await startServer();
    const page = await openKiosk(server, '&idle=8', PORTRAIT, 'tpdu-t1');
    await insertCard(page, 'tpdu-t1', IN_WINDOW.card);
    await connect(page);
    await expectHeading(page, '瀏覽器不允許一般網頁使用這台讀卡機');
    await checkKioskScreen(page, 'portrait-guidance');
    await expectIdleReset(page);
    noPageErrors(page);
  });

  test('no reset while the card is written, also when it is pulled out and put back', async () => {
    const server = await startServer();
    const page = await openKiosk(server, '&idle=8');
    await reachIdentity(page, 'ez100pu');
    await typeIdentity(page, IN_WINDOW);
    // Pulled out in the middle of writing the signature certificate (see renewal.test.mjs).
    await page.evaluate(() => window.usbStandin.removeCardAfter('ez100pu', 6));
    await page.getByRole('button', { name: '確認', exact: true }).tap();
    await expectHeading(page, '請插入自然人憑證IC卡');
    await page.getByText('寫入新憑證時卡片被取出').waitFor();
    // Twice the idle time: the half-written card waits for its holder.
    await page.waitForTimeout(16_000);
    assert.equal(await startHeading(page).count(), 0, 'no reset with a half-written card');
    assert.equal(await page.locator('.idle-countdown').count(), 0, 'no countdown either');

    // Put back: the holder confirms again to finish; still no reset while it waits for that.
    await insertCard(page, 'ez100pu', IN_WINDOW.card);
    await expectHeading(page, '完成先前的展期');
    await page.waitForTimeout(10_000);
    assert.equal(await startHeading(page).count(), 0, 'no reset before the card is whole');

    // A slow write (every USB read delayed) that lasts longer than the idle time.
    await slowUsb(page, 25);
    const started = Date.now();
    await page.getByLabel('身分證字號').fill(IN_WINDOW.nationalId);
    await page.getByLabel('出生年月日').fill(IN_WINDOW.birthday);
    await page.getByLabel('PIN碼').focus();
    await typeOnKeypad(page, IN_WINDOW.pin);
    const seen = await headingsDuring(page, async () => {
      await page.getByRole('button', { name: '寫入憑證' }).tap();
      await expectHeading(page, '展期作業成功', 120_000);
    });
    const seconds = (Date.now() - started) / 1000;
    await slowUsb(page, 0);
    assert.ok(!seen.has(START_TITLE), `the start page never appeared while writing: ${[...seen]}`);
    console.log(`(kiosk writing) the write took ${seconds.toFixed(1)} s with idle 8 s; headings seen: ${[...seen].join(' → ')}`);
    assert.ok(seconds > 8, `the slowed write outlasted the idle time (${seconds} s)`);
    await receiptNumber(page);
    noPageErrors(page);
  });
});
