// What the Isolated Web App tests share: building a bundle with scripts/iwa.mjs as the operator
// runs it (a process, its printed report parsed), a key of the test's own, and a reader of the
// signed bundle's integrity block written from the specification rather than taken from the
// library that wrote it, so the test checks wbn-sign instead of repeating it.

import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DIST = resolve(process.env.DIST || join(ROOT, 'dist'));

/** A fresh directory for one test run's key, bundle and profile. */
export function scratchDirectory(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A new Ed25519 signing key as PEM (PKCS#8) in `directory`, and its public key. */
export function testKey(directory) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const path = join(directory, 'signing-key.pem');
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { path, publicKey };
}

/**
 * Runs scripts/iwa.mjs on DIST and returns its report (`field: value` lines) with the bundle's
 * bytes. XDG_CONFIG_HOME points into `directory` so no run can touch the operator's dev key.
 */
export async function buildBundle({ directory, keyPath, authority, name = 'renewal.swbn', extraArgs = [] }) {
  const out = join(directory, name);
  const args = [join(ROOT, 'scripts/iwa.mjs'), '--dist', DIST, '--out', out, ...extraArgs];
  if (authority) args.push('--authority', authority);
  if (keyPath) args.push('--key', keyPath);
  const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, XDG_CONFIG_HOME: join(directory, 'config'), IWA_SIGNING_KEY_FILE: '' },
  });
  const report = {};
  for (const line of stdout.split('\n')) {
    const found = line.match(/^([a-zA-Z ()]+?): (.*)$/);
    if (found) report[found[1]] = found[2];
  }
  return { report, stdout, stderr, path: out, bytes: readFileSync(out) };
}

// ---- CBOR, only as much as an integrity block uses (RFC 8949) ----

/**
 * One CBOR item at `offset`: its value and where it ends. Byte strings stay bytes, maps become
 * Maps with their items' byte ranges kept, so signed bytes can be cut out exactly.
 */
export function readCbor(bytes, offset = 0) {
  const initial = bytes[offset];
  if (initial === undefined) throw new Error(`CBOR: no item at ${offset}`);
  const major = initial >> 5;
  const info = initial & 0x1f;
  let at = offset + 1;
  let argument;
  if (info < 24) argument = info;
  else if (info <= 27) {
    const size = 1 << (info - 24);
    argument = 0;
    for (let i = 0; i < size; i++) argument = argument * 256 + bytes[at + i];
    at += size;
  } else throw new Error(`CBOR: indefinite or reserved length at ${offset}`);
  switch (major) {
    case 0:
      return { value: argument, start: offset, end: at };
    case 2:
      return { value: bytes.subarray(at, at + argument), start: offset, end: at + argument };
    case 3:
      return {
        value: new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, at + argument)),
        start: offset,
        end: at + argument,
      };
    case 4: {
      const items = [];
      for (let i = 0; i < argument; i++) {
        const item = readCbor(bytes, at);
        items.push(item);
        at = item.end;
      }
      return { value: items, start: offset, end: at };
    }
    case 5: {
      const entries = new Map();
      for (let i = 0; i < argument; i++) {
        const key = readCbor(bytes, at);
        const value = readCbor(bytes, key.end);
        entries.set(key.value, value);
        at = value.end;
      }
      return { value: entries, start: offset, end: at };
    }
    default:
      throw new Error(`CBOR: major type ${major} at ${offset} has no place in an integrity block`);
  }
}

const MAGIC = Buffer.from('🖋📦', 'utf8');
const VERSION_2B = Buffer.from([0x32, 0x62, 0x00, 0x00]); // "2b\0\0"

/**
 * The integrity block at the front of a signed web bundle (format version 2):
 * [magic, version, attributes {webBundleId}, [[signature attributes, signature], …]].
 */
export function readIntegrityBlock(bytes) {
  const top = readCbor(bytes, 0);
  if (!Array.isArray(top.value) || top.value.length !== 4) {
    throw new Error('integrity block: not a 4-item array');
  }
  const [magic, version, attributes, signatures] = top.value;
  if (!Buffer.from(magic.value).equals(MAGIC)) throw new Error('integrity block: wrong magic');
  if (!Buffer.from(version.value).equals(VERSION_2B)) {
    throw new Error(`integrity block: version ${Buffer.from(version.value).toString('hex')}, not 2b`);
  }
  return {
    end: top.end,
    webBundleId: attributes.value.get('webBundleId')?.value,
    signaturesStart: signatures.start,
    signatures: signatures.value.map(({ value: [signatureAttributes, signature] }) => ({
      attributes: signatureAttributes,
      publicKey: signatureAttributes.value.get('ed25519PublicKey')?.value,
      signature: signature.value,
    })),
  };
}

/**
 * What each signature signs, per the integrity block v2 format (as Chromium verifies it): the
 * SHA-512 of the web bundle, the integrity block with an empty signature stack, and the
 * signature's own attributes, each preceded by its length as a 64-bit big-endian number.
 */
export function signedData(bytes, block, signature, sha512) {
  // The signature stack is the block's last item: the same bytes up to it, then an empty array.
  const unsignedBlock = Buffer.concat([bytes.subarray(0, block.signaturesStart), Buffer.from([0x80])]);
  const attributes = bytes.subarray(signature.attributes.start, signature.attributes.end);
  const bundleHash = sha512(bytes.subarray(block.end));
  const parts = [bundleHash, unsignedBlock, attributes];
  return Buffer.concat(
    parts.flatMap((part) => {
      const length = Buffer.alloc(8);
      length.writeBigUInt64BE(BigInt(part.length));
      return [length, Buffer.from(part)];
    }),
  );
}

/** Base32 (RFC 4648, lower case, no padding), as web bundle IDs are written. */
export function base32(bytes) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let text = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      text += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) text += alphabet[(value << (5 - bits)) & 31];
  return text;
}

/**
 * The web bundle ID of an Ed25519 public key (raw 32 bytes): base32 of the key followed by the
 * Ed25519 type suffix 00 01 02 (WICG isolated-web-apps, Scheme.md, "Signed Web Bundle IDs").
 */
export function webBundleIdOf(rawPublicKey) {
  return base32(Buffer.concat([Buffer.from(rawPublicKey), Buffer.from([0x00, 0x01, 0x02])]));
}

/** The raw 32 bytes of an Ed25519 public KeyObject (the end of its SPKI encoding). */
export function rawEd25519(publicKey) {
  return publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
}

// ---- a WebSocket client (RFC 6455), text messages only ----
//
// Node 20 has no global WebSocket and the project carries no WebSocket package; the IWA test
// needs one to relay the stand-in's bridge (which the page must reach as wss:, the only socket
// scheme the IWA's CSP allows) to the demo server's real ws: bridge.


/** Opens `url` (ws://host:port/path); resolves to { send(text), close() } once upgraded. */
export function openWebSocket(url, { onMessage, onClose }) {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolveSocket, reject) => {
    const socket = connectTcp({ host: hostname, port: Number(port) });
    const key = randomBytes(16).toString('base64');
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    let fragments = [];
    const closed = () => onClose?.();
    socket.on('error', (error) => (upgraded ? closed() : reject(error)));
    socket.on('close', closed);
    socket.on('connect', () =>
      socket.write(
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const frame = (opcode, payload) => {
      const mask = randomBytes(4);
      const length = payload.length;
      const header =
        length < 126
          ? Buffer.from([0x80 | opcode, 0x80 | length])
          : length < 65536
            ? Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff])
            : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), bigEndian64(length)]);
      const masked = Buffer.from(payload);
      for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i % 4];
      socket.write(Buffer.concat([header, mask, masked]));
    };
    const client = {
      send: (text) => frame(0x1, Buffer.from(text, 'utf8')),
      close: () => {
        frame(0x8, Buffer.alloc(0));
        socket.end();
      },
    };
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101/.test(head)) {
          reject(new Error(`${url}: no WebSocket upgrade:\n${head}`));
          socket.destroy();
          return;
        }
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        resolveSocket(client);
      }
      // Server frames are never masked.
      while (buffer.length >= 2) {
        const opcode = buffer[0] & 0x0f;
        const final = (buffer[0] & 0x80) !== 0;
        let length = buffer[1] & 0x7f;
        let at = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          at = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          at = 10;
        }
        if (buffer.length < at + length) return;
        const payload = buffer.subarray(at, at + length);
        buffer = buffer.subarray(at + length);
        if (opcode === 0x8) {
          socket.end();
        } else if (opcode === 0x9) {
          frame(0xa, payload);
        } else if (opcode === 0x1 || opcode === 0x0) {
          fragments.push(payload);
          if (final) {
            onMessage(Buffer.concat(fragments).toString('utf8'));
            fragments = [];
          }
        }
      }
    });
  });
}

function bigEndian64(value) {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}
