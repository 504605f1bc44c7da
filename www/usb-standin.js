// A stand-in for navigator.usb, for the demo page and the browser tests only: it forwards every
// USB operation over one WebSocket to the demo server's simulated readers (the protocol is in
// docs/usb-bridge.md), so the page's real WebUSB code runs unchanged. The production page never
// loads it.
//
// Set window.USB_STANDIN before loading this script to choose what the "browser" does:
//   {mode: 'normal'}           WebUSB as in a kiosk: every reader can be claimed (default)
//   {mode: 'no-webusb'}        no navigator.usb at all, as in Firefox and Safari
//   {mode: 'protected-class'}  claimInterface on class 0x0B rejects with SecurityError, as
//                              Chromium does, unless the document's permissions policy
//                              allows 'usb-unrestricted' (an Isolated Web App)
// and optionally url (the bridge), grantAll (getDevices lists every reader) and choose (the
// deviceId the chooser picks). window.usbStandin is the demo panel's handle.
(() => {
  'use strict';

  const SMART_CARD_CLASS = 0x0b;
  const GRANTS_KEY = 'usb-standin-granted';
  const options = Object.assign({ mode: 'normal' }, window.USB_STANDIN || {});
  if (!['normal', 'no-webusb', 'protected-class'].includes(options.mode)) {
    console.warn(`usb-standin: unknown mode ${options.mode}; using normal`);
    options.mode = 'normal';
  }

  if (options.mode === 'no-webusb') {
    // The attribute lives on Navigator.prototype; without it, 'usb' in navigator is false.
    delete Navigator.prototype.usb;
    if ('usb' in navigator) {
      Object.defineProperty(navigator, 'usb', { value: undefined, configurable: true });
    }
    window.usbStandin = { mode: options.mode };
    return;
  }

  const bridgeUrl =
    options.url ||
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/usb-bridge`;

  // The demo panel's handle (filled in at the end); it fires `card` events.
  const standin = new EventTarget();

  // Whether the page may claim protected classes, as Chromium decides it: the document's
  // permissions policy allows 'usb-unrestricted' (granted to Isolated Web Apps only).
  function unrestrictedUsb() {
    try {
      const policy = document.permissionsPolicy || document.featurePolicy;
      return Boolean(policy && policy.allowsFeature('usb-unrestricted'));
    } catch {
      // No document (the stand-in's own tests run it in Node) or no policy API: a tab.
      return false;
    }
  }

  // ---- bytes ----

  function toBase64(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }

  function fromBase64(text) {
    const binary = atob(text || '');
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // BufferSource → base64, at once: a view into WebAssembly memory may change after an await.
  function encodeSource(source) {
    if (source === undefined || source === null) return '';
    if (ArrayBuffer.isView(source)) {
      return toBase64(new Uint8Array(source.buffer, source.byteOffset, source.byteLength));
    }
    if (source instanceof ArrayBuffer) return toBase64(new Uint8Array(source));
    throw new TypeError('data must be an ArrayBuffer or an ArrayBufferView');
  }

  function inResult(result) {
    const bytes = fromBase64(result.data);
    const view = new DataView(bytes.buffer);
    return typeof USBInTransferResult === 'function'
      ? new USBInTransferResult(result.status, view)
      : { status: result.status, data: view };
  }

  function outResult(result) {
    return typeof USBOutTransferResult === 'function'
      ? new USBOutTransferResult(result.status, result.bytesWritten)
      : { status: result.status, bytesWritten: result.bytesWritten };
  }

  // ---- the WebSocket ----

  class Bridge {
    constructor(url, onEvent) {
      this.url = url;
      this.onEvent = onEvent;
      this.nextId = 1;
      this.waiting = new Map();
      this.socket = null;
      this.opening = null;
    }

    connect() {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve();
      if (this.opening) return this.opening;
      this.opening = new Promise((resolve, reject) => {
        const socket = new WebSocket(this.url);
        socket.onopen = () => {
          this.socket = socket;
          this.opening = null;
          resolve();
        };
        socket.onerror = () => {
          this.opening = null;
          reject(new DOMException(`cannot reach the USB bridge at ${this.url}`, 'NetworkError'));
        };
        socket.onclose = () => this.closed(socket);
        socket.onmessage = (message) => this.receive(message.data);
      });
      return this.opening;
    }

    closed(socket) {
      if (this.socket !== socket) return;
      this.socket = null;
      for (const { reject } of this.waiting.values()) {
        reject(new DOMException('the USB bridge connection closed', 'NetworkError'));
      }
      this.waiting.clear();
    }

    receive(text) {
      let frame;
      try {
        frame = JSON.parse(text);
      } catch (error) {
        console.warn('usb-standin: a frame that is not JSON', error);
        return;
      }
      if (frame.event) {
        this.onEvent(frame);
        return;
      }
      const waiter = this.waiting.get(frame.id);
      if (!waiter) {
        if (frame.error) console.warn('usb-standin: bridge error', frame.error);
        return;
      }
      this.waiting.delete(frame.id);
      if (frame.ok) waiter.resolve(frame.result);
      else waiter.reject(new DOMException(frame.error.message, frame.error.name));
    }

    // Encodes the request now (see encodeSource), sends it once the socket is open.
    request(op, fields) {
      const id = this.nextId++;
      const text = JSON.stringify(Object.assign({ id, op }, fields));
      return this.connect().then(
        () =>
          new Promise((resolve, reject) => {
            if (!this.socket) {
              reject(new DOMException('the USB bridge connection closed', 'NetworkError'));
              return;
            }
            this.waiting.set(id, { resolve, reject });
            this.socket.send(text);
          }),
      );
    }
  }

  // ---- permissions, remembered as a browser remembers them ----

  function grants() {
    try {
      return new Set(JSON.parse(localStorage.getItem(GRANTS_KEY) || '[]'));
    } catch (_) {
      return new Set();
    }
  }

  function grant(deviceId) {
    const granted = grants();
    granted.add(deviceId);
    try {
      localStorage.setItem(GRANTS_KEY, JSON.stringify([...granted]));
    } catch (_) {
      // Storage refused (opaque origin): the grant lasts for this page only.
    }
    sessionGrants.add(deviceId);
  }

  const sessionGrants = new Set();
  const isGranted = (deviceId) =>
    options.grantAll || sessionGrants.has(deviceId) || grants().has(deviceId);

  // ---- USBDevice and its descriptors ----

  class StandinDevice {
    constructor(description, bridge) {
      const d = description;
      this.deviceId = d.deviceId;
      for (const key of [
        'usbVersionMajor', 'usbVersionMinor', 'usbVersionSubminor',
        'deviceClass', 'deviceSubclass', 'deviceProtocol',
        'vendorId', 'productId',
        'deviceVersionMajor', 'deviceVersionMinor', 'deviceVersionSubminor',
        'manufacturerName', 'productName', 'serialNumber',
      ]) {
        Object.defineProperty(this, key, { value: d[key] ?? null, enumerable: true });
      }
      this._bridge = bridge;
      this._opened = false;
      this._configurationValue = d.configurationValue;
      this._claimed = new Set();
      this._alternates = new Map(); // interface number → selected alternate setting
      this.configurations = d.configurations.map((c) => this._configuration(c));
    }

    _configuration(c) {
      const device = this;
      return {
        configurationValue: c.configurationValue,
        configurationName: c.configurationName ?? null,
        interfaces: c.interfaces.map((i) => {
          const alternates = i.alternates.map((a) => ({
            alternateSetting: a.alternateSetting,
            interfaceClass: a.interfaceClass,
            interfaceSubclass: a.interfaceSubclass,
            interfaceProtocol: a.interfaceProtocol,
            interfaceName: a.interfaceName ?? null,
            endpoints: a.endpoints.map((e) => ({
              endpointNumber: e.endpointNumber,
              direction: e.direction,
              type: e.type,
              packetSize: e.packetSize,
            })),
          }));
          return {
            interfaceNumber: i.interfaceNumber,
            alternates,
            get alternate() {
              const setting = device._alternates.get(i.interfaceNumber) || 0;
              return alternates.find((a) => a.alternateSetting === setting) || alternates[0];
            },
            get claimed() {
              return device._claimed.has(i.interfaceNumber);
            },
          };
        }),
      };
    }

    get opened() {
      return this._opened;
    }

    get configuration() {
      return (
        this.configurations.find((c) => c.configurationValue === this._configurationValue) ||
        null
      );
    }

    _call(op, fields) {
      return this._bridge.request(op, Object.assign({ deviceId: this.deviceId }, fields));
    }

    _interface(number) {
      const configuration = this.configuration;
      return configuration && configuration.interfaces.find((i) => i.interfaceNumber === number);
    }

    _gone() {
      this._opened = false;
      this._claimed.clear();
      this._alternates.clear();
    }

    async open() {
      await this._call('open', {});
      this._opened = true;
    }

    async close() {
      await this._call('close', {});
      this._gone();
    }

    async forget() {
      sessionGrants.delete(this.deviceId);
      const granted = grants();
      granted.delete(this.deviceId);
      try {
        localStorage.setItem(GRANTS_KEY, JSON.stringify([...granted]));
      } catch (_) {
        // Nothing was stored to forget.
      }
      if (this._opened) await this.close();
    }

    async selectConfiguration(configurationValue) {
      await this._call('selectConfiguration', { configurationValue });
      if (configurationValue === this._configurationValue) return;
      this._configurationValue = configurationValue;
      this._claimed.clear();
      this._alternates.clear();
    }

    async claimInterface(interfaceNumber) {
      const found = this._interface(interfaceNumber);
      const isProtected =
        found && found.alternates.some((a) => a.interfaceClass === SMART_CARD_CLASS);
      if (options.mode === 'protected-class' && isProtected && !unrestrictedUsb()) {
        // Chromium refuses in the browser itself; the device never hears of it.
        throw new DOMException(
          'The requested interface implements a protected class.',
          'SecurityError',
        );
      }
      await this._call('claimInterface', { interfaceNumber });
      this._claimed.add(interfaceNumber);
    }

    async releaseInterface(interfaceNumber) {
      await this._call('releaseInterface', { interfaceNumber });
      this._claimed.delete(interfaceNumber);
      this._alternates.delete(interfaceNumber);
    }

    async selectAlternateInterface(interfaceNumber, alternateSetting) {
      await this._call('selectAlternateInterface', { interfaceNumber, alternateSetting });
      this._alternates.set(interfaceNumber, alternateSetting);
    }

    async controlTransferIn(setup, length) {
      return inResult(await this._call('controlTransferIn', { setup: setupOf(setup), length }));
    }

    controlTransferOut(setup, data) {
      const fields = { setup: setupOf(setup), data: encodeSource(data) };
      return this._call('controlTransferOut', fields).then(outResult);
    }

    async transferIn(endpointNumber, length) {
      return inResult(await this._call('transferIn', { endpointNumber, length }));
    }

    transferOut(endpointNumber, data) {
      const fields = { endpointNumber, data: encodeSource(data) };
      return this._call('transferOut', fields).then(outResult);
    }

    async clearHalt(direction, endpointNumber) {
      await this._call('clearHalt', { direction, endpointNumber });
    }

    async reset() {
      throw new DOMException('the simulated readers cannot be reset', 'NotSupportedError');
    }

    async isochronousTransferIn() {
      throw new DOMException('the simulated readers have no isochronous endpoints', 'NotSupportedError');
    }

    async isochronousTransferOut() {
      throw new DOMException('the simulated readers have no isochronous endpoints', 'NotSupportedError');
    }
  }

  function setupOf(setup) {
    const { requestType, recipient, request, value, index } = setup || {};
    return { requestType, recipient, request, value, index };
  }

  // The WebUSB specification's "device matches a filter".
  function matchesFilter(device, filter) {
    if (filter.vendorId !== undefined && device.vendorId !== filter.vendorId) return false;
    if (filter.productId !== undefined && device.productId !== filter.productId) return false;
    if (filter.serialNumber !== undefined && device.serialNumber !== filter.serialNumber) {
      return false;
    }
    if (filter.classCode === undefined) return true;
    const matchesClass = (klass, subclass, protocol) =>
      klass === filter.classCode &&
      (filter.subclassCode === undefined || subclass === filter.subclassCode) &&
      (filter.protocolCode === undefined || protocol === filter.protocolCode);
    if (matchesClass(device.deviceClass, device.deviceSubclass, device.deviceProtocol)) {
      return true;
    }
    return device.configurations.some((c) =>
      c.interfaces.some((i) =>
        i.alternates.some((a) =>
          matchesClass(a.interfaceClass, a.interfaceSubclass, a.interfaceProtocol),
        ),
      ),
    );
  }

  // ---- navigator.usb ----

  class StandinUsb extends EventTarget {
    constructor() {
      super();
      this._devices = new Map(); // deviceId → the one StandinDevice for it
      this._chosen = options.choose || null;
      this._onconnect = null;
      this._ondisconnect = null;
      this._bridge = new Bridge(bridgeUrl, (frame) => this._event(frame));
      this._bridge.connect().catch((error) => console.warn('usb-standin:', error.message));
    }

    // One object per device, as the browser keeps one, so pages can compare them.
    _device(description) {
      let device = this._devices.get(description.deviceId);
      if (!device) {
        device = new StandinDevice(description, this._bridge);
        this._devices.set(description.deviceId, device);
      }
      return device;
    }

    async _list() {
      const { devices } = await this._bridge.request('listDevices', {});
      const listed = new Set(devices.map((d) => d.deviceId));
      for (const id of [...this._devices.keys()]) {
        if (!listed.has(id)) this._devices.delete(id);
      }
      return devices.map((d) => this._device(d));
    }

    _event(frame) {
      if (frame.event === 'connect') {
        // A device plugged in again is a new USBDevice, as in the browser.
        this._devices.delete(frame.device.deviceId);
        const device = this._device(frame.device);
        if (isGranted(device.deviceId)) this._dispatch('connect', device);
      } else if (frame.event === 'disconnect') {
        const device = this._devices.get(frame.deviceId);
        this._devices.delete(frame.deviceId);
        if (device) {
          device._gone();
          if (isGranted(device.deviceId)) this._dispatch('disconnect', device);
        }
      } else if (frame.event === 'card') {
        standin.dispatchEvent(
          new CustomEvent('card', { detail: { deviceId: frame.deviceId, card: frame.card } }),
        );
      }
    }

    _dispatch(type, device) {
      // USBConnectionEvent's constructor insists on a real USBDevice; a plain Event with the
      // same `device` field serves the page as well.
      const event = new Event(type);
      Object.defineProperty(event, 'device', { value: device });
      this.dispatchEvent(event);
    }

    get onconnect() {
      return this._onconnect;
    }

    set onconnect(handler) {
      if (this._onconnect) this.removeEventListener('connect', this._onconnect);
      this._onconnect = typeof handler === 'function' ? handler : null;
      if (this._onconnect) this.addEventListener('connect', this._onconnect);
    }

    get ondisconnect() {
      return this._ondisconnect;
    }

    set ondisconnect(handler) {
      if (this._ondisconnect) this.removeEventListener('disconnect', this._ondisconnect);
      this._ondisconnect = typeof handler === 'function' ? handler : null;
      if (this._ondisconnect) this.addEventListener('disconnect', this._ondisconnect);
    }

    async getDevices() {
      return (await this._list()).filter((device) => isGranted(device.deviceId));
    }

    async requestDevice(requestOptions) {
      if (!requestOptions || !Array.isArray(requestOptions.filters)) {
        throw new TypeError("Failed to execute 'requestDevice' on 'USB': filters are required");
      }
      const { filters } = requestOptions;
      const matches = (device) =>
        filters.length === 0 || filters.some((filter) => matchesFilter(device, filter));
      const devices = (await this._list()).filter(matches);
      const picked = this._chosen
        ? devices.find((device) => device.deviceId === this._chosen)
        : devices[0];
      if (!picked) throw new DOMException('No device selected.', 'NotFoundError');
      grant(picked.deviceId);
      return picked;
    }
  }

  const usb = new StandinUsb();
  Object.defineProperty(navigator, 'usb', { value: usb, configurable: true, enumerable: true });

  // ---- the demo panel's handle ----

  const demo = (op, fields) => usb._bridge.request(op, fields || {});
  Object.assign(standin, {
    mode: options.mode,
    // The deviceId the next requestDevice picks (null: the first that matches).
    choose(deviceId) {
      usb._chosen = deviceId || null;
    },
    devices: () => demo('listDevices').then((result) => result.devices),
    listCards: () => demo('listCards').then((result) => result.cards),
    insertCard: (deviceId, card, { fresh = false } = {}) =>
      demo('insertCard', { deviceId, card, fresh }),
    removeCard: (deviceId) => demo('removeCard', { deviceId }).then((result) => result.card),
    // The card is pulled out after `commands` more CCID commands reach it (a test's mid-write
    // removal).
    removeCardAfter: (deviceId, commands) => demo('removeCardAfter', { deviceId, commands }),
    unplugReader: (deviceId) => demo('unplugReader', { deviceId }),
    plugReader: (deviceId) => demo('plugReader', { deviceId }),
  });
  window.usbStandin = standin;
})();
