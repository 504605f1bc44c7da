// www/usb-standin.js in Node against a running bridge: `node usb-standin.mjs HOST:PORT`.
// demo/tests/standin_js.rs runs it. The page's globals it needs are faked here; WebSocket,
// DOMException and the events are Node's own.
import fs from 'node:fs';
import vm from 'node:vm';
import assert from 'node:assert/strict';

const host = process.argv[2];
const source = fs.readFileSync(new URL('../../../www/usb-standin.js', import.meta.url), 'utf8');

function load(config) {
  class Navigator {}
  Object.defineProperty(Navigator.prototype, 'usb', { get() { return 'real'; }, configurable: true });
  const store = new Map();
  const context = {
    Navigator, navigator: new Navigator(),
    location: { protocol: 'http:', host },
    localStorage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, String(v)) },
    WebSocket, DOMException, EventTarget, Event, CustomEvent, DataView, Uint8Array, ArrayBuffer,
    btoa, atob, console, JSON, Promise, Map, Set, Object, Array, String, TypeError,
    USB_STANDIN: config,
  };
  context.window = context;
  vm.createContext(context);
  vm.runInContext(source, context);
  return context;
}

const bytes = (view) => [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)];

{
  const page = load(undefined);
  const usb = page.navigator.usb;
  assert.equal(await usb.getDevices().then((d) => d.length), 0);
  const device = await usb.requestDevice({ filters: [{ classCode: 0x0b }] });
  assert.equal(device.deviceId, 'tpdu');
  assert.equal(device.vendorId, 0xf1d0);
  assert.equal(device.configuration.interfaces[0].alternate.interfaceClass, 0x0b);
  const again = await usb.getDevices();
  assert.equal(again.length, 1);
  assert.ok(again[0] === device, 'one object per device');
  await device.open();
  assert.equal(device.opened, true);
  await device.claimInterface(0);
  assert.equal(device.configuration.interfaces[0].claimed, true);
  const head = await device.controlTransferIn(
    { requestType: 'standard', recipient: 'device', request: 6, value: 0x200, index: 0 }, 9);
  assert.equal(head.status, 'ok');
  assert.deepEqual(bytes(head.data).slice(0, 2), [9, 2]);
  // A transferIn before any data waits; the OUT transfer's reply completes it.
  const waiting = device.transferIn(2, 512);
  let settled = false;
  waiting.then(() => { settled = true; });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(settled, false);
  const out = await device.transferOut(2, new Uint8Array([0x62, 0, 0, 0, 0, 0, 1, 1, 0, 0]));
  assert.deepEqual([out.status, out.bytesWritten], ['ok', 10]);
  const reply = await waiting;
  assert.equal(bytes(reply.data)[0], 0x80);
  const abort = await device.controlTransferOut(
    { requestType: 'class', recipient: 'interface', request: 1, value: 0x0200, index: 0 });
  assert.equal(abort.status, 'ok');
  const stall = await device.controlTransferIn(
    { requestType: 'class', recipient: 'interface', request: 3, value: 0, index: 0 }, 8);
  assert.equal(stall.status, 'stall');
  await assert.rejects(device.transferIn(9, 8), (e) => e.name === 'NotFoundError');

  // Demo panel: card events reach the interrupt endpoint and the panel.
  const cards = [];
  page.usbStandin.addEventListener('card', (e) => cards.push(e.detail));
  assert.deepEqual(bytes((await device.transferIn(3, 8)).data), [0x50, 0x03]);
  const notify = device.transferIn(3, 8);
  assert.equal(await page.usbStandin.removeCard('tpdu'), 'test');
  assert.deepEqual(bytes((await notify).data), [0x50, 0x02]);
  await page.usbStandin.insertCard('tpdu', 'test');
  assert.deepEqual(bytes((await device.transferIn(3, 8)).data), [0x50, 0x03]);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(cards.map((c) => c.card), [null, 'test']);

  // Unplugging: the page hears `disconnect` with its own device object.
  const gone = new Promise((resolve) => usb.addEventListener('disconnect', (e) => resolve(e.device)));
  const pending = assert.rejects(device.transferIn(2, 64), (e) => e.name === 'NotFoundError');
  await page.usbStandin.unplugReader('tpdu');
  await pending;
  assert.ok((await gone) === device);
  assert.equal(device.opened, false);
  const back = new Promise((resolve) => { usb.onconnect = (e) => resolve(e.device); });
  await page.usbStandin.plugReader('tpdu');
  const replugged = await back;
  assert.equal(replugged.deviceId, 'tpdu');
  assert.ok(replugged !== device);
  await replugged.open();
  await replugged.claimInterface(0);
  await replugged.close();

  // The chooser takes the named device, within the filters.
  page.usbStandin.choose('ez100pu');
  const ez = await usb.requestDevice({ filters: [{ vendorId: 0x0ca6, productId: 0x0010 }] });
  assert.equal(ez.productName, 'EZ100PU');
  page.usbStandin.choose('tpdu');
  await assert.rejects(usb.requestDevice({ filters: [{ vendorId: 0x0ca6 }] }), (e) => e.name === 'NotFoundError');
  await assert.rejects(usb.requestDevice({}), (e) => e instanceof TypeError);
  console.log('normal mode ok');
}
{
  const page = load({ mode: 'protected-class', grantAll: true });
  const devices = await page.navigator.usb.getDevices();
  assert.equal(devices.length, 3);
  const tpdu = devices.find((d) => d.deviceId === 'tpdu');
  await tpdu.open();
  await assert.rejects(tpdu.claimInterface(0), (e) => e.name === 'SecurityError' && e instanceof DOMException);
  const ez = devices.find((d) => d.deviceId === 'ez100pu');
  await ez.open();
  await ez.claimInterface(0);
  await ez.close();
  await tpdu.close();
  console.log('protected-class mode ok');
}
{
  const page = load({ mode: 'no-webusb' });
  assert.equal('usb' in page.navigator, false);
  assert.equal(page.navigator.usb, undefined);
  console.log('no-webusb mode ok');
}
process.exit(0);
