// The udev rule of the Linux kiosk (deploy/linux/70-citizen-card-readers.rules), checked
// without USB hardware: every line parses under udev's rule grammar, and the rules, evaluated
// the way udev evaluates them, give the kiosk group and the uaccess tag to the EZ100PU and to
// any device with a smart-card (0x0B) interface, and to nothing else.
//
// The devices are the properties udev has at our rule (number 70) for a USB device's add
// event: SUBSYSTEM, DEVTYPE, the sysfs attributes idVendor/idProduct, and ID_USB_INTERFACES,
// which 50-udev-default.rules' usb_id builtin builds from the device's descriptors as
// ":CCSSPP" per distinct interface (class, subclass, protocol in hex) followed by ":".
//
// Run by scripts/deploy-test (which also feeds the rendered file to `udevadm test`):
//   RULES=path/to/rendered.rules KIOSK_GROUP=name node --test tests/deploy/udev.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const RULES = process.env.RULES || `${ROOT}/deploy/linux/70-citizen-card-readers.rules`;
const GROUP = process.env.KIOSK_GROUP || '@KIOSK_GROUP@';

// udev's keys: which take an {attribute}, which only match, which only assign (udev(7)).
const MATCH_KEYS = new Set(['ACTION', 'DEVPATH', 'KERNEL', 'KERNELS', 'NAME', 'SYMLINK', 'SUBSYSTEM',
  'SUBSYSTEMS', 'DRIVER', 'DRIVERS', 'ATTR', 'ATTRS', 'SYSCTL', 'ENV', 'CONST', 'TAG', 'TAGS',
  'TEST', 'PROGRAM', 'RESULT']);
const ASSIGN_KEYS = new Set(['NAME', 'SYMLINK', 'OWNER', 'GROUP', 'MODE', 'SECLABEL', 'ATTR',
  'SYSCTL', 'ENV', 'TAG', 'RUN', 'LABEL', 'GOTO', 'IMPORT', 'OPTIONS']);
const KEYS_WITH_ATTRIBUTE = new Set(['ATTR', 'ATTRS', 'SYSCTL', 'ENV', 'CONST', 'TEST', 'SECLABEL',
  'RUN', 'IMPORT']);

// One rule line into its key/operator/value triples; throws on anything udev would reject.
function parseRule(line, number) {
  const pairs = [];
  const pair = /^\s*([A-Z]+)(?:\{([^}]+)\})?\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/;
  let rest = line;
  while (rest.trim() !== '') {
    const found = pair.exec(rest);
    if (!found) throw new Error(`line ${number}: not a key/value pair: ${rest.trim()}`);
    const [whole, key, attribute, operator, value] = found;
    const isMatch = operator === '==' || operator === '!=';
    if (isMatch ? !MATCH_KEYS.has(key) : !ASSIGN_KEYS.has(key)) {
      throw new Error(`line ${number}: ${key} cannot take ${operator}`);
    }
    if (KEYS_WITH_ATTRIBUTE.has(key) !== (attribute !== undefined) && key !== 'RUN' && key !== 'IMPORT') {
      throw new Error(`line ${number}: ${key} ${attribute ? 'takes no' : 'needs an'} {attribute}`);
    }
    if (key === 'MODE' && !/^0[0-7]{3}$/.test(value)) throw new Error(`line ${number}: MODE ${value}`);
    pairs.push({ key, attribute, operator, value });
    rest = rest.slice(whole.length);
  }
  return pairs;
}

function parseRules(text) {
  return text.split('\n').flatMap((line, index) =>
    line.trim() === '' || line.trim().startsWith('#') ? [] : [parseRule(line, index + 1)]);
}

// udev's patterns: shell globs (* ? [...]) with '|' between alternatives.
function globMatches(pattern, value) {
  return pattern.split('|').some(alternative => {
    const regex = alternative.replace(/[.+^${}()\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    return new RegExp(`^${regex}$`).test(value);
  });
}

function lookup(device, { key, attribute }) {
  if (key === 'ENV') return device.env[attribute] ?? '';
  if (key === 'ATTR') return device.attributes[attribute] ?? '';
  return device[key.toLowerCase()] ?? '';
}

// What the rules do to one device event: the group, mode and tags assigned.
function apply(rules, device) {
  const result = { group: null, mode: null, tags: new Set() };
  let skippingTo = null;
  for (const rule of rules) {
    const label = rule.find(p => p.key === 'LABEL');
    if (skippingTo) {
      if (label?.value === skippingTo) skippingTo = null;
      continue;
    }
    const matches = rule.filter(p => p.operator === '==' || p.operator === '!=').every(p =>
      globMatches(p.value, lookup(device, p)) === (p.operator === '=='));
    if (!matches) continue;
    for (const p of rule) {
      if (p.key === 'GROUP') result.group = p.value;
      if (p.key === 'MODE') result.mode = p.value;
      if (p.key === 'TAG' && p.operator === '+=') result.tags.add(p.value);
      if (p.key === 'GOTO') skippingTo = p.value;
    }
  }
  return result;
}

function usbDevice({ vendor, product, interfaces, action = 'add', devtype = 'usb_device' }) {
  return {
    action, subsystem: 'usb',
    env: { DEVTYPE: devtype, ID_USB_INTERFACES: interfaces },
    attributes: { idVendor: vendor, idProduct: product },
  };
}

const rules = parseRules(readFileSync(RULES, 'utf8'));

function assertGranted(device) {
  const result = apply(rules, device);
  assert.equal(result.group, GROUP);
  assert.equal(result.mode, '0660');
  assert.ok(result.tags.has('uaccess'), 'tagged uaccess');
}

function assertUntouched(device) {
  const result = apply(rules, device);
  assert.deepEqual({ group: result.group, mode: result.mode, tags: [...result.tags] },
    { group: null, mode: null, tags: [] });
}

test('every line parses under udev\'s grammar, and the grammar check refuses bad lines', () => {
  assert.ok(rules.length >= 4, `rules found: ${rules.length}`);
  assert.throws(() => parseRule('ATTR{idVendor}=="0ca6", GROUPX="x"', 1), /not a key|cannot take/);
  assert.throws(() => parseRule('ENV{ID_USB_INTERFACES}="*:0b????:*, MODE="0660"', 1));
  assert.throws(() => parseRule('SUBSYSTEM=="usb" MODE="0660"', 1), /not a key/);
  assert.throws(() => parseRule('ENV=="x"', 1), /needs an/);
});

test('the EZ100PU (0CA6:0010, one interface of class 0x00) gets the kiosk group and uaccess', () => {
  assertGranted(usbDevice({ vendor: '0ca6', product: '0010', interfaces: ':000000:' }));
});

test('a standard CCID reader (interface 0b0000) gets them', () => {
  assertGranted(usbDevice({ vendor: '072f', product: '90cc', interfaces: ':0b0000:' }));
});

test('a keyboard with a smart-card interface (composite device) gets them', () => {
  assertGranted(usbDevice({ vendor: '04e6', product: '5116', interfaces: ':030101:0b0000:' }));
});

test('other USB devices, interface events and removals are left alone', () => {
  assertUntouched(usbDevice({ vendor: '046d', product: 'c31c', interfaces: ':030101:030000:' }));
  assertUntouched(usbDevice({ vendor: '0781', product: '5581', interfaces: ':080650:' }));
  // Another Castles product: only 0010 is the EZ100PU.
  assertUntouched(usbDevice({ vendor: '0ca6', product: '0020', interfaces: ':ff0000:' }));
  assertUntouched(usbDevice({ vendor: '0ca6', product: '0010', interfaces: ':000000:', devtype: 'usb_interface' }));
  assertUntouched(usbDevice({ vendor: '0ca6', product: '0010', interfaces: ':000000:', action: 'remove' }));
});
