// The page as production serves it: `authority serve --static-dir dist`, with no demo
// stand-in, under the authority's content security policy (the Isolated Web App's own, with
// Trusted Types). The page must load, run and show its pages without one violation; other
// origins get no CORS answer unless named with --allow-origin.
//
// Run by scripts/browser-test with the other browser tests: node --test tests/browser/
// Environment: AUTHORITY_SERVER (the authority binary), plus support.mjs's.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import {
  DIST,
  STEP_TIMEOUT,
  cleanUp,
  launchBrowser,
  screenshot,
  screenshotFolder,
  spawnServer,
  watchProblems,
} from './support.mjs';

const AUTHORITY_SERVER = process.env.AUTHORITY_SERVER || resolve(import.meta.dirname, '../../target/debug/authority');
const IWA_ORIGIN = 'isolated-app://amfcf7c4bmpbjbmq4h4yptcobves56hfdyr7tm3doxqvfmsk5ss6maacai';

let browser;
let authority;

/** `authority serve` with the page, on a free port. */
function serveAuthority() {
  return spawnServer(
    'authority',
    AUTHORITY_SERVER,
    (dataDir) => [
      'serve', '--address', '127.0.0.1:0', '--data-dir', dataDir, '--static-dir', DIST,
      '--allow-origin', IWA_ORIGIN,
    ],
    /authority listening on (http:\/\/\S+)/,
  );
}

before(async () => {
  screenshotFolder();
  browser = await launchBrowser();
  authority = await serveAuthority();
});

after(cleanUp);

/** A tab on the production page at `query` that records every CSP or Trusted Types violation. */
async function openProductionPage(query, contextOptions = {}) {
  const context = await browser.newContext({ locale: 'zh-TW', viewport: { width: 1280, height: 900 }, ...contextOptions });
  await context.addInitScript(() => {
    window.policyViolations = [];
    document.addEventListener('securitypolicyviolation', (event) =>
      window.policyViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`),
    );
  });
  const page = watchProblems(await context.newPage());
  const response = await page.goto(`${authority.url}/${query}`);
  await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: STEP_TIMEOUT });
  return { page, response };
}

describe('the production page under its content security policy', { concurrency: false }, () => {
  test('loads and shows its pages with no violation', async () => {
    const { page, response } = await openProductionPage('');
    const policy = response.headers()['content-security-policy'] || '';
    assert.match(policy, /require-trusted-types-for 'script'/, 'Trusted Types are required');
    assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'/, 'no inline script');
    assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline script in the page');
    assert.equal(
      await page.evaluate(() => document.documentElement.dataset.deployment),
      'ordinary-tab',
      'an ordinary tab may not use usb-unrestricted',
    );
    // The information page loads the office list.
    await page.getByRole('button', { name: '展期須知與戶政事務所' }).click();
    await page.locator('table.offices').waitFor();
    await page.getByRole('button', { name: '返回展期作業' }).first().click();
    await page.getByRole('button', { name: /English/ }).click();
    await page.getByRole('heading', { name: 'Citizen certificate online renewal' }).waitFor();
    await screenshot(page, 'production-start-en');
    assert.deepEqual(await page.evaluate(() => window.policyViolations), []);
    assert.deepEqual(page.problems, []);
  });

  test('kiosk mode and the operator guide load under the same policy', async () => {
    const { page } = await openProductionPage('?kiosk&idle=300', { viewport: { width: 1080, height: 1920 }, hasTouch: true });
    assert.equal(await page.evaluate(() => document.documentElement.classList.contains('kiosk')), true);
    const guide = await page.context().newPage();
    const answer = await guide.goto(`${authority.url}/deploy/#windows`);
    assert.equal(answer.status(), 200);
    await guide.getByRole('heading', { name: 'Windows', exact: true }).waitFor();
    assert.deepEqual(await page.evaluate(() => window.policyViolations), []);
    assert.deepEqual(page.problems, []);
  });

  test('the API answers CORS for the named Isolated Web App only', async () => {
    const preflight = async (origin) =>
      fetch(`${authority.url}/api/v1/verdict`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
      });
    const named = await preflight(IWA_ORIGIN);
    assert.equal(named.headers.get('access-control-allow-origin'), IWA_ORIGIN);
    const other = await preflight('https://elsewhere.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const info = await fetch(`${authority.url}/api/v1/server-info`, { headers: { Origin: IWA_ORIGIN } });
    assert.equal(info.status, 200);
    assert.equal(info.headers.get('access-control-allow-origin'), IWA_ORIGIN);
  });
});
