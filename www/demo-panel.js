// The demo panel: served and injected by the demo server only (never part of the built page).
// It drives the simulated readers through the stand-in's handle, window.usbStandin (see
// docs/usb-bridge.md): which card is in which reader, insert and remove cards, which reader the
// chooser picks, the browser mode (a reload with ?usb=), and the demo holders' data from
// /demo/cards.json.
(() => {
  'use strict';

  const MODES = [
    { id: 'protected-class', zh: '一般分頁', en: 'Ordinary Chromium tab (class 0x0B readers refused)' },
    { id: 'normal', zh: '資訊站', en: 'Kiosk / Isolated Web App (every reader)' },
    { id: 'no-webusb', zh: '無 WebUSB', en: 'No WebUSB (Firefox, Safari)' },
  ];
  const OPEN_KEY = 'demo-panel-open';
  const standin = window.usbStandin || {};
  const mode = (window.USB_STANDIN && window.USB_STANDIN.mode) || standin.mode || 'protected-class';
  const hasReaders = typeof standin.listCards === 'function';

  let sheets = []; // from /demo/cards.json
  let chosen = (window.USB_STANDIN && window.USB_STANDIN.choose) || '';
  let uid = 0;

  // ---- small DOM helpers ----

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) {
        node.append(typeof child === 'string' ? document.createTextNode(child) : child);
      }
    }
    return node;
  }

  // "中文 English", the English part marked for screen readers.
  function both(zh, en) {
    return [zh, ' ', el('span', { lang: 'en', class: 'demo-panel-en', text: en })];
  }

  function nextId(stem) {
    uid += 1;
    return `demo-panel-${stem}-${uid}`;
  }

  // ---- the panel ----

  const status = el('p', { class: 'demo-panel-status', role: 'status', 'aria-live': 'polite' });
  const readerList = el('ul', { class: 'demo-panel-readers' });
  const cardSelect = el('select', { id: nextId('card') });
  const readerSelect = el('select', { id: nextId('reader') });
  const insertButton = el('button', { type: 'button', class: 'demo-panel-button' }, ...both('插入', 'Insert'));
  const holderBody = el('tbody');
  const chosenCard = el('p', { class: 'demo-panel-hint' });

  const body = el(
    'div',
    { id: 'demo-panel-body', class: 'demo-panel-body', hidden: true },
    el('p', { class: 'demo-panel-note' }, ...both('模擬讀卡機與示範卡，僅供示範。', 'Simulated readers and demo cards.')),
    hasReaders
      ? [
          el('h2', {}, ...both('讀卡機', 'Readers')),
          readerList,
          el('h2', {}, ...both('插入卡片', 'Insert a card')),
          el(
            'div',
            { class: 'demo-panel-field' },
            el('label', { for: cardSelect.id }, ...both('卡片', 'Card')),
            cardSelect,
          ),
          el(
            'div',
            { class: 'demo-panel-field' },
            el('label', { for: readerSelect.id }, ...both('讀卡機', 'Reader')),
            readerSelect,
          ),
          insertButton,
          chosenCard,
        ]
      : el(
          'p',
          { class: 'demo-panel-hint' },
          ...both(
            '此模式沒有 WebUSB，讀卡機無法使用；請切換模式。',
            'No WebUSB in this mode: switch the mode to use the readers.',
          ),
        ),
    el('h2', {}, ...both('瀏覽器模式', 'Browser mode')),
    modeChoices(),
    el(
      'details',
      { class: 'demo-panel-holders' },
      el('summary', {}, ...both('示範持卡人資料', 'Demo holders: ID, birthday, PIN')),
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { scope: 'col' }, ...both('持卡人', 'Holder')),
            el('th', { scope: 'col' }, ...both('身分證', 'ID')),
            el('th', { scope: 'col' }, ...both('生日', 'Birthday')),
            el('th', { scope: 'col', text: 'PIN' }),
          ),
        ),
        holderBody,
      ),
      el('a', { href: '/demo/cards.json', target: '_blank', rel: 'noopener' }, 'cards.json'),
    ),
    status,
  );

  const toggle = el(
    'button',
    {
      type: 'button',
      class: 'demo-panel-toggle',
      'aria-expanded': 'false',
      'aria-controls': body.id,
      onclick: () => setOpen(body.hidden),
    },
    el('span', { class: 'demo-panel-badge', 'aria-hidden': 'true', text: 'DEMO' }),
    ' 示範控制台 ',
    el('span', { lang: 'en', text: 'Demo controls' }),
  );

  const panel = el(
    'aside',
    {
      class: 'demo-panel',
      lang: 'zh-Hant-TW',
      'aria-label': '示範控制台 Demo controls',
      onkeydown: (event) => {
        if (event.key === 'Escape' && !body.hidden) {
          setOpen(false);
          toggle.focus();
        }
      },
    },
    toggle,
    body,
  );

  function setOpen(open) {
    body.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    panel.classList.toggle('demo-panel-open', open);
    try {
      sessionStorage.setItem(OPEN_KEY, open ? '1' : '');
    } catch (_) {
      // Storage may be off; the panel then simply starts closed.
    }
    if (open) refresh();
  }

  function modeChoices() {
    const name = nextId('mode');
    return el(
      'fieldset',
      { class: 'demo-panel-modes' },
      el('legend', { class: 'demo-panel-hidden' }, '瀏覽器模式 Browser mode'),
      MODES.map((choice) => {
        const id = nextId('mode-choice');
        return el(
          'div',
          { class: 'demo-panel-choice' },
          el('input', {
            type: 'radio',
            name,
            id,
            value: choice.id,
            checked: choice.id === mode,
            onchange: () => switchMode(choice.id),
          }),
          el('label', { for: id }, ...both(choice.zh, choice.en)),
        );
      }),
    );
  }

  function switchMode(next) {
    const query = new URLSearchParams(location.search);
    query.set('usb', next);
    location.search = query.toString();
  }

  // ---- state from the bridge ----

  function say(text) {
    status.textContent = text;
  }

  function failed(error) {
    say(`錯誤 Error: ${error && error.message ? error.message : error}`);
  }

  function sheetOf(name) {
    return sheets.find((sheet) => sheet.name === name);
  }

  function label(card) {
    return card.description || card.name;
  }

  async function refresh() {
    if (!hasReaders) return;
    try {
      const [devices, cards] = await Promise.all([standin.devices(), standin.listCards()]);
      renderReaders(devices, cards);
      renderChoices(devices, cards);
    } catch (error) {
      failed(error);
    }
  }

  function renderReaders(devices, cards) {
    const byReader = new Map(cards.filter((c) => c.inReader).map((c) => [c.inReader, c]));
    const pickName = nextId('pick');
    readerList.replaceChildren(
      ...devices.map((device) => {
        const card = byReader.get(device.deviceId);
        const klass = device.configurations[0].interfaces[0].alternates[0].interfaceClass;
        const pickId = nextId('pick-choice');
        return el(
          'li',
          { class: 'demo-panel-reader' },
          el('div', { class: 'demo-panel-reader-name' }, device.productName || device.deviceId),
          el(
            'div',
            { class: 'demo-panel-hint' },
            `${device.deviceId} · class 0x${klass.toString(16).padStart(2, '0').toUpperCase()}`,
          ),
          el(
            'div',
            { class: 'demo-panel-slot' },
            card ? label(card) : el('span', {}, ...both('（無卡）', '(no card)')),
          ),
          el(
            'div',
            { class: 'demo-panel-row' },
            el('input', {
              type: 'radio',
              name: pickName,
              id: pickId,
              checked: chosen === device.deviceId,
              onchange: () => choose(device.deviceId),
            }),
            el('label', { for: pickId }, ...both('選擇器選這台', 'Chooser picks this')),
            card
              ? el(
                  'button',
                  {
                    type: 'button',
                    class: 'demo-panel-button',
                    onclick: () => remove(device.deviceId),
                    'aria-label': `取出 Remove: ${label(card)}`,
                  },
                  ...both('取出', 'Remove'),
                )
              : null,
          ),
        );
      }),
    );
  }

  function renderChoices(devices, cards) {
    const keepCard = cardSelect.value || 'in_window';
    cardSelect.replaceChildren(
      ...cards.map((card) =>
        el(
          'option',
          { value: card.name, selected: card.name === keepCard },
          card.inReader ? `${label(card)} [${card.inReader}]` : label(card),
        ),
      ),
    );
    const keepReader = readerSelect.value || chosen || (devices[0] && devices[0].deviceId);
    readerSelect.replaceChildren(
      ...devices.map((device) =>
        el(
          'option',
          { value: device.deviceId, selected: device.deviceId === keepReader },
          device.productName || device.deviceId,
        ),
      ),
    );
    showChosenCard();
  }

  function showChosenCard() {
    const sheet = sheetOf(cardSelect.value);
    chosenCard.textContent = sheet
      ? `${sheet.holder.name}：ID ${sheet.holder.nationalId} · 生日 ${sheet.holder.birthday} · PIN ${sheet.holder.pin}`
      : '';
  }

  function choose(deviceId) {
    chosen = deviceId;
    standin.choose(deviceId);
    // Kept in the address, so a reload (or a mode switch) keeps the choice.
    const query = new URLSearchParams(location.search);
    query.set('choose', deviceId);
    history.replaceState(history.state, '', `${location.pathname}?${query}${location.hash}`);
    say(`選擇器將選 The chooser picks: ${deviceId}`);
  }

  async function insert() {
    const card = cardSelect.value;
    const reader = readerSelect.value;
    if (!card || !reader) return;
    try {
      await standin.insertCard(reader, card);
      say(`已插入 Inserted: ${label(sheetOf(card) || { name: card })} → ${reader}`);
    } catch (error) {
      failed(error);
    }
    refresh();
  }

  async function remove(deviceId) {
    try {
      const card = await standin.removeCard(deviceId);
      say(`已取出 Removed: ${card || '—'} ← ${deviceId}`);
    } catch (error) {
      failed(error);
    }
    refresh();
  }

  async function loadSheets() {
    try {
      const response = await fetch('/demo/cards.json', { cache: 'no-cache' });
      if (!response.ok) throw new Error(`cards.json: HTTP ${response.status}`);
      sheets = await response.json();
    } catch (error) {
      failed(error);
      return;
    }
    holderBody.replaceChildren(
      ...sheets.map((sheet) =>
        el(
          'tr',
          {},
          el('th', { scope: 'row' }, sheet.holder.name, el('br'), el('small', { text: `${sheet.caseZh} ${sheet.caseEn}` })),
          el('td', { text: sheet.holder.nationalId }),
          el('td', { text: sheet.holder.birthday }),
          el('td', { text: sheet.holder.pin }),
        ),
      ),
    );
    showChosenCard();
  }

  // ---- start ----

  function start() {
    document.body.append(panel);
    insertButton.addEventListener('click', insert);
    cardSelect.addEventListener('change', showChosenCard);
    if (hasReaders) {
      standin.addEventListener('card', refresh);
      if (navigator.usb) {
        navigator.usb.addEventListener('connect', refresh);
        navigator.usb.addEventListener('disconnect', refresh);
      }
    }
    loadSheets();
    let open = false;
    try {
      open = sessionStorage.getItem(OPEN_KEY) === '1';
    } catch (_) {
      open = false;
    }
    setOpen(open);
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
