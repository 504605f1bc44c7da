// The Chromium policies of the Linux kiosk, as deploy/linux/install renders them, loaded by
// Debian's chromium from /etc/chromium/policies/managed/ (the directory it reads): chrome://policy
// must list every policy of the file as Platform / Mandatory / OK, with the file's value and no
// error, warning or "deprecated". Both renderings are checked: the served page and the IWA.
//
// Two policies stop exactly what this test drives the browser with (the DevTools protocol):
// DeveloperToolsAvailability 2 and DeveloperToolsAvailabilityBlocklist ["*"]. So the first test
// loads the unchanged file and expects the browser to refuse automation, which shows those two
// in force; the others load the file with those two values replaced by ones of the same type
// that let the test attach, and "chrome://policy" added to URLAllowlist so that the page can
// be read under URLBlocklist ["*"]. They also check that URLBlocklist/URLAllowlist let the
// service through and block any other site (both on loopback: nothing leaves this machine).
//
// Needs root (it writes into /etc/chromium/policies/managed/ and removes its file after).
// Run by scripts/deploy-test:
//   SERVICE_POLICY=... IWA_POLICY=... SERVICE_PORT=... node --test tests/deploy/policy.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const POLICY_DIR = '/etc/chromium/policies/managed';
const TEST_POLICY = join(POLICY_DIR, 'zz-renewal-kiosk-test.json');
const SERVICE_PORT = Number(process.env.SERVICE_PORT);
const OTHER_PORT = SERVICE_PORT + 1;

const servicePolicy = JSON.parse(readFileSync(process.env.SERVICE_POLICY, 'utf8'));
const iwaPolicy = JSON.parse(readFileSync(process.env.IWA_POLICY, 'utf8'));

const servers = [];
before(async () => {
  if (process.getuid() !== 0) {
    throw new Error(`writing ${POLICY_DIR} needs root: run scripts/deploy-test as root or with sudo`);
  }
  mkdirSync(POLICY_DIR, { recursive: true });
  // The "service" and a site that is not the service, both on loopback.
  for (const port of [SERVICE_PORT, OTHER_PORT]) {
    const server = createServer((_, response) => response.end(`<h1>site on ${port}</h1>`));
    await new Promise(done => server.listen(port, '127.0.0.1', done));
    servers.push(server);
  }
});
after(() => {
  rmSync(TEST_POLICY, { force: true });
  for (const server of servers) server.close();
});

async function launch() {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'policy-test-')), {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic',
      // Nothing resolves but loopback: a policy gone wrong cannot send the browser outside.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
}

// Each Chrome policy row of chrome://policy: name, value, source, level, status, messages.
async function policyRows(context) {
  const page = context.pages()[0] || await context.newPage();
  await page.goto('chrome://policy');
  // The page fills its tables from the browser after loading.
  await page.waitForFunction(() => document.querySelector('policy-app')?.shadowRoot
    ?.querySelector('policy-table')?.shadowRoot?.querySelector('policy-row'), null, { timeout: 10_000 });
  return page.evaluate(() => {
    const app = document.querySelector('policy-app').shadowRoot;
    const chromeTable = [...app.querySelectorAll('policy-table')]
      .find(table => table.shadowRoot.querySelector('.header')?.textContent.trim() === 'Chrome Policies');
    return [...chromeTable.shadowRoot.querySelectorAll('policy-row')].map(row => {
      const cell = selector => row.shadowRoot.querySelector(selector)?.textContent.trim() ?? '';
      return {
        name: cell('.policy.row .name'), value: cell('.value.row .value'),
        source: cell('.policy.row .source'), level: cell('.policy.row .level'),
        status: cell('.policy.row .messages'), errors: cell('.errors.row .value'),
        warnings: cell('.warnings.row .value'), infos: cell('.infos.row .value'),
      };
    });
  });
}

// The file as the test loads it: the two DevTools policies relaxed, chrome://policy reachable.
function forAutomation(policy) {
  return {
    ...policy,
    DeveloperToolsAvailability: 0,
    DeveloperToolsAvailabilityBlocklist: ['devtools-blocked.invalid'],
    URLAllowlist: [...policy.URLAllowlist, 'chrome://policy'],
  };
}

function assertAllApplied(rows, policy) {
  for (const [name, value] of Object.entries(policy)) {
    const row = rows.find(r => r.name === name);
    assert.ok(row, `${name} is not listed in chrome://policy`);
    assert.deepEqual(
      { source: row.source, level: row.level, status: row.status, errors: row.errors, warnings: row.warnings },
      { source: 'Platform', level: 'Mandatory', status: 'OK', errors: '', warnings: '' },
      `${name}: ${JSON.stringify(row)}`);
    assert.deepEqual(JSON.parse(row.value), value, `${name}'s value`);
  }
  const unexpected = rows.filter(r => r.source !== '' && !(r.name in policy));
  assert.deepEqual(unexpected.map(r => r.name), [], 'policies set that the file does not name');
}

async function withPolicy(policy, body) {
  writeFileSync(TEST_POLICY, JSON.stringify(policy));
  try {
    await body();
  } finally {
    rmSync(TEST_POLICY, { force: true });
  }
}

test('the unchanged file keeps DevTools, and so automation, out', async () => {
  await withPolicy(servicePolicy, async () => {
    await assert.rejects(async () => {
      const context = await launch();
      try {
        const page = context.pages()[0] || await context.newPage();
        await page.goto('chrome://version');
      } finally {
        await context.close().catch(() => {});
      }
    });
  });
});

test('served page: chrome://policy shows every policy applied, no error', async () => {
  await withPolicy(forAutomation(servicePolicy), async () => {
    const context = await launch();
    try {
      const rows = await policyRows(context);
      assertAllApplied(rows, forAutomation(servicePolicy));
      console.log(`served page: ${Object.keys(servicePolicy).length} policies applied: ${Object.keys(servicePolicy).join(', ')}`);

      // URLAllowlist lets the service through; URLBlocklist ["*"] stops any other site.
      const page = await context.newPage();
      const service = await page.goto(`http://127.0.0.1:${SERVICE_PORT}/?kiosk`);
      assert.equal(service.status(), 200);
      await assert.rejects(page.goto(`http://127.0.0.1:${OTHER_PORT}/`), /ERR_BLOCKED_BY_ADMINISTRATOR/);
    } finally {
      await context.close();
    }
  });
});

test('Isolated Web App: chrome://policy shows every policy applied, no error', async () => {
  await withPolicy(forAutomation(iwaPolicy), async () => {
    const context = await launch();
    try {
      assertAllApplied(await policyRows(context), forAutomation(iwaPolicy));
      console.log(`IWA: ${Object.keys(iwaPolicy).length} policies applied`);
    } finally {
      await context.close();
    }
  });
});
