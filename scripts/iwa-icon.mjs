// The Isolated Web App's icon, drawn here rather than checked in as pictures: a white citizen
// card with its gold chip on the page's accent blue (www/style.css --accent). The same shapes
// give every size, and the same size always gives the same PNG bytes, so a bundle built twice
// from the same page is the same bundle.

import { crc32, deflateSync } from 'node:zlib';

const ACCENT = [0x0b, 0x57, 0xa4]; // www/style.css --accent
const CARD = [0xff, 0xff, 0xff];
const CHIP = [0xe0, 0xb0, 0x40];
const CHIP_CONTACT = [0xa8, 0x7a, 0x22];
const PRINT = [0xc9, 0xd0, 0xda]; // www/style.css --line

// Rounded rectangles in units of the icon's side (0..1): centre, half sizes, corner radius.
// Drawn in order, each over the ones before. The card has the ID-1 proportions (85.6 × 54 mm).
const SHAPES = [
  { colour: ACCENT, cx: 0.5, cy: 0.5, hw: 0.5, hh: 0.5, r: 0.18 },
  { colour: CARD, cx: 0.5, cy: 0.5, hw: 0.36, hh: 0.227, r: 0.035 },
  { colour: CHIP, cx: 0.285, cy: 0.49, hw: 0.075, hh: 0.06, r: 0.018 },
  { colour: CHIP_CONTACT, cx: 0.285, cy: 0.49, hw: 0.075, hh: 0.007, r: 0 },
  { colour: CHIP_CONTACT, cx: 0.285, cy: 0.49, hw: 0.007, hh: 0.06, r: 0 },
  { colour: PRINT, cx: 0.58, cy: 0.42, hw: 0.13, hh: 0.02, r: 0.02 },
  { colour: PRINT, cx: 0.55, cy: 0.5, hw: 0.1, hh: 0.02, r: 0.02 },
  { colour: PRINT, cx: 0.57, cy: 0.58, hw: 0.12, hh: 0.02, r: 0.02 },
];

/** Signed distance (in icon units) from (x, y) to a rounded rectangle: negative inside. */
function distance(shape, x, y) {
  const qx = Math.abs(x - shape.cx) - (shape.hw - shape.r);
  const qy = Math.abs(y - shape.cy) - (shape.hh - shape.r);
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
  return outside + Math.min(Math.max(qx, qy), 0) - shape.r;
}

/** The icon as straight RGBA pixels, `size` × `size`, edges smoothed over one pixel. */
export function drawIcon(size) {
  const pixels = new Uint8Array(size * size * 4);
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      const x = (column + 0.5) / size;
      const y = (row + 0.5) / size;
      let [red, green, blue, alpha] = [0, 0, 0, 0];
      for (const shape of SHAPES) {
        // Coverage of this pixel by the shape, from its distance in pixels.
        const coverage = Math.min(Math.max(0.5 - distance(shape, x, y) * size, 0), 1);
        if (coverage === 0) continue;
        // "Over" compositing with straight (not premultiplied) colours.
        const outAlpha = coverage + alpha * (1 - coverage);
        const mix = (top, bottom) => (top * coverage + bottom * alpha * (1 - coverage)) / outAlpha;
        red = mix(shape.colour[0], red);
        green = mix(shape.colour[1], green);
        blue = mix(shape.colour[2], blue);
        alpha = outAlpha;
      }
      const at = (row * size + column) * 4;
      pixels[at] = Math.round(red);
      pixels[at + 1] = Math.round(green);
      pixels[at + 2] = Math.round(blue);
      pixels[at + 3] = Math.round(alpha * 255);
    }
  }
  return pixels;
}

function chunk(type, data) {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, checksum]);
}

/** A PNG (8-bit RGBA, no interlace, every row unfiltered) of `size` × `size` RGBA pixels. */
export function encodePng(pixels, size) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // colour type: RGBA
  // [10..12]: compression 0 (deflate), filter method 0, no interlace.
  const rowBytes = size * 4;
  const scanlines = Buffer.alloc((rowBytes + 1) * size);
  for (let row = 0; row < size; row++) {
    // Each row starts with its filter type, 0 (none).
    Buffer.from(pixels.buffer, pixels.byteOffset + row * rowBytes, rowBytes).copy(
      scanlines,
      row * (rowBytes + 1) + 1,
    );
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The icon as PNG bytes at `size` pixels square. */
export function iconPng(size) {
  return encodePng(drawIcon(size), size);
}
