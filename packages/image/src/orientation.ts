import type { ImageFormat } from './format.js';
import type { RgbImage } from './rgb-image.js';

/**
 * EXIF orientation: reading tag 0x0112 from JPEG (APP1), PNG (eXIf) and WebP (EXIF chunk) files, and
 * applying it to pixels as Pillow's ImageOps.exif_transpose does. Browsers apply it themselves for
 * some formats only (Chromium: JPEG, not WebP), so the browser decoder fills the gap with these.
 */

function ascii(b: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...b.subarray(start, end));
}

/** Orientation (1-8) from a TIFF-structured EXIF block, or undefined. */
function tiffOrientation(b: Uint8Array, start: number): number | undefined {
  if (start + 8 > b.length) return undefined;
  const order = ascii(b, start, start + 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (i: number) => view.getUint16(i, le);
  const ifd = start + view.getUint32(start + 4, le);
  if (ifd + 2 > b.length) return undefined;
  const count = u16(ifd);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + k * 12;
    if (entry + 12 > b.length) return undefined;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}

function exifStart(b: Uint8Array, at: number): number {
  return ascii(b, at, at + 6) === 'Exif\0\0' ? at + 6 : at;
}

/** The EXIF orientation stored in a JPEG, PNG or WebP file; 1 when there is none. */
export function readExifOrientation(b: Uint8Array, format: ImageFormat | undefined): number {
  const u32be = (i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  if (format === 'jpeg') {
    let i = 2;
    while (i + 4 <= b.length && b[i] === 0xff) {
      const marker = b[i + 1]!;
      const length = (b[i + 2]! << 8) | b[i + 3]!;
      if (marker === 0xe1 && ascii(b, i + 4, i + 10) === 'Exif\0\0') return tiffOrientation(b, i + 10) ?? 1;
      if (marker === 0xda) break;
      i += 2 + length;
    }
  } else if (format === 'png') {
    for (let i = 8; i + 8 <= b.length; ) {
      const length = u32be(i);
      const type = ascii(b, i + 4, i + 8);
      if (type === 'eXIf') return tiffOrientation(b, exifStart(b, i + 8)) ?? 1;
      if (type === 'IDAT' || type === 'IEND') break;
      i += 12 + length;
    }
  } else if (format === 'webp') {
    for (let i = 12; i + 8 <= b.length; ) {
      const length = b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24);
      if (ascii(b, i, i + 4) === 'EXIF') return tiffOrientation(b, exifStart(b, i + 8)) ?? 1;
      i += 8 + length + (length & 1);
    }
  }
  return 1;
}

/**
 * The pixels as displayed: Pillow's exif_transpose (2 FLIP_LEFT_RIGHT, 3 ROTATE_180,
 * 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90).
 */
export function applyOrientation(image: RgbImage, orientation: number): RgbImage {
  if (orientation < 2 || orientation > 8) return image;
  const { width: w, height: h, data } = image;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  // For output pixel (x, y), the source pixel it shows.
  const source: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * w + (w - 1 - x),
    3: (x: number, y: number) => (h - 1 - y) * w + (w - 1 - x),
    4: (x: number, y: number) => (h - 1 - y) * w + x,
    5: (x: number, y: number) => x * w + y,
    6: (x: number, y: number) => (h - 1 - x) * w + y,
    7: (x: number, y: number) => (h - 1 - x) * w + (w - 1 - y),
    8: (x: number, y: number) => x * w + (w - 1 - y),
  }[orientation]!;
  for (let y = 0, o = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++, o += 3) {
      const s = source(x, y) * 3;
      out[o] = data[s]!;
      out[o + 1] = data[s + 1]!;
      out[o + 2] = data[s + 2]!;
    }
  }
  return { width: ow, height: oh, data: out };
}
