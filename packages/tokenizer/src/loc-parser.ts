/**
 * Parses PaliGemma's detection and segmentation output:
 *   `<locY1><locX1><locY2><locX2> label ; …`  and  `<loc…>×4 <seg…>×16 label ; …`.
 * Locations are y first, in 1024 bins over the squashed square image, so each axis maps back to the
 * original image on its own: pixel = round(bin / 1024 · side), clamped to the image (REFERENCE §7;
 * big_vision's segmentation code divides by 1023 instead; the difference is under 0.1 %).
 * Model output can be malformed; this never throws on a string and lists everything it ignored.
 */
import { ERROR_CODES, PaliError } from '@pali/errors';

export const LOC_BINS = 1024;
export const SEG_CODES = 16;
export const SEG_CODEBOOK = 128;

export interface ImageSize {
  width: number;
  height: number;
}

/** x first for users, though the tokens are y first. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface DetectedObject {
  label: string;
  /** In the original image's pixels, clamped to it. */
  box: Box;
  /** In [0, 1): bin / 1024. */
  normalized: Box;
  /** The four bins as the model wrote them: [y1, x1, y2, x2]. */
  locs: [number, number, number, number];
}

export interface SegmentedObject extends DetectedObject {
  /** The 16 VQ-VAE codes (0..127) of the mask, row-major 4×4. */
  codes: number[];
}

export type SkipReason =
  /** Fewer than 4 loc tokens before a label: no box, object dropped. */
  | 'missing-loc'
  /** More than 4 loc tokens: the last 4 were used, these ignored. */
  | 'extra-loc'
  /** A `<locNNNN>` above 1023: object dropped. */
  | 'loc-out-of-range'
  /** y2 < y1 or x2 < x1: dropped (or kept with the corners swapped, with `inverted: 'swap'`). */
  | 'inverted-box'
  /** Fewer than 16 seg tokens in segmentation output: no mask, object dropped. */
  | 'missing-seg'
  /** More than 16 seg tokens: the last 16 were used, these ignored. */
  | 'extra-seg'
  /** A `<segNNN>` above 127: object dropped. */
  | 'seg-out-of-range'
  /** Seg tokens in detection output: ignored, the box kept. */
  | 'unexpected-seg'
  /** Text before any loc token of an object: ignored. */
  | 'stray-text';

export interface Skipped {
  reason: SkipReason;
  /** The ignored part of the input, and where it was. */
  text: string;
  start: number;
  end: number;
}

export interface ParseOptions {
  /** What to do with y2 < y1 or x2 < x1: 'skip' the object (default) or 'swap' the corners. Both are reported. */
  inverted?: 'skip' | 'swap';
}

export interface DetectionResult {
  objects: DetectedObject[];
  skipped: Skipped[];
}

export interface SegmentationResult {
  objects: SegmentedObject[];
  skipped: Skipped[];
}

interface Mark {
  value: number;
  start: number;
  end: number;
}

interface Group {
  start: number;
  end: number;
  locs: Mark[];
  segs: Mark[];
  label: string;
}

const TOKEN = /<loc(\d{4})>|<seg(\d{3})>|;/g;

/** Detection output → objects with boxes in normalised and pixel coordinates. */
export function parseDetection(text: string, image: ImageSize, options: ParseOptions = {}): DetectionResult {
  const result: DetectionResult = { objects: [], skipped: [] };
  parse(text, image, options, false, result);
  return result;
}

/** Segmentation output → objects with boxes and their 16 mask codes. */
export function parseSegmentation(
  text: string,
  image: ImageSize,
  options: ParseOptions = {},
): SegmentationResult {
  const result: SegmentationResult = { objects: [], skipped: [] };
  parse(text, image, options, true, result);
  return result;
}

/** Writes objects the way the model does (for training data and tests): `<loc…>×4[<seg…>×16] label ; …`. */
export function formatLocations(
  objects: ReadonlyArray<{ label: string; locs: readonly number[]; codes?: readonly number[] }>,
): string {
  return objects
    .map((o) => {
      const locs = o.locs.map((v) => `<loc${String(v).padStart(4, '0')}>`).join('');
      const segs = (o.codes ?? []).map((v) => `<seg${String(v).padStart(3, '0')}>`).join('');
      return `${locs}${segs} ${o.label}`;
    })
    .join(' ; ');
}

function checkImage(image: ImageSize): void {
  const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!image || !ok(image.width) || !ok(image.height)) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      'The image size must have a positive width and height',
      {
        hint: 'Pass the original image size in pixels, e.g. {width: 640, height: 480}',
      },
    );
  }
}

function parse(
  input: string,
  image: ImageSize,
  options: ParseOptions,
  segmentation: boolean,
  result: SegmentationResult | DetectionResult,
): void {
  checkImage(image);
  const text = typeof input === 'string' ? input : String(input);
  const newGroup = (at: number): Group => ({ start: at, end: at, locs: [], segs: [], label: '' });
  let group = newGroup(0);
  const finish = (at: number) => {
    group.end = at;
    finishGroup(text, group, image, options, segmentation, result);
  };
  const addText = (from: number, to: number) => {
    if (to <= from) return;
    const piece = text.slice(from, to);
    if (group.locs.length === 0 && group.segs.length === 0) {
      if (piece.trim() !== '') result.skipped.push(skipSpan(text, 'stray-text', from, to));
      group.start = to;
      return;
    }
    group.label += piece;
  };
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    const at = match.index;
    const end = at + match[0].length;
    addText(last, at);
    last = end;
    if (match[0] === ';') {
      finish(at);
      group = newGroup(end);
      continue;
    }
    const hasLabel = group.label.trim() !== '';
    if (match[1] !== undefined) {
      if (hasLabel || group.segs.length > 0) {
        finish(at);
        group = newGroup(at);
      }
      group.locs.push({ value: Number(match[1]), start: at, end });
    } else if (match[2] !== undefined) {
      if (hasLabel) {
        finish(at);
        group = newGroup(at);
      }
      group.segs.push({ value: Number(match[2]), start: at, end });
    }
  }
  addText(last, text.length);
  finish(text.length);
}

/** A skipped span, without the whitespace around it. */
function skipSpan(text: string, reason: SkipReason, start: number, end: number): Skipped {
  while (start < end && /\s/.test(text[start]!)) start++;
  while (end > start && /\s/.test(text[end - 1]!)) end--;
  return { reason, text: text.slice(start, end), start, end };
}

function finishGroup(
  text: string,
  group: Group,
  image: ImageSize,
  options: ParseOptions,
  segmentation: boolean,
  result: SegmentationResult | DetectionResult,
): void {
  const { locs, segs } = group;
  if (locs.length === 0 && segs.length === 0) return; // empty, or only whitespace / stray text already reported
  const whole = (reason: SkipReason) => result.skipped.push(skipSpan(text, reason, group.start, group.end));
  if (locs.length < 4) return void whole('missing-loc');
  const used = locs.slice(-4);
  if (locs.length > 4) {
    const dropped = locs.slice(0, -4);
    result.skipped.push(skipSpan(text, 'extra-loc', dropped[0]!.start, dropped[dropped.length - 1]!.end));
  }
  if (used.some((m) => m.value >= LOC_BINS)) return void whole('loc-out-of-range');
  let codes: number[] | undefined;
  if (segmentation) {
    if (segs.length < SEG_CODES) return void whole('missing-seg');
    const kept = segs.slice(-SEG_CODES);
    if (segs.length > SEG_CODES) {
      const dropped = segs.slice(0, -SEG_CODES);
      result.skipped.push(skipSpan(text, 'extra-seg', dropped[0]!.start, dropped[dropped.length - 1]!.end));
    }
    if (kept.some((m) => m.value >= SEG_CODEBOOK)) return void whole('seg-out-of-range');
    codes = kept.map((m) => m.value);
  } else if (segs.length > 0) {
    result.skipped.push(skipSpan(text, 'unexpected-seg', segs[0]!.start, segs[segs.length - 1]!.end));
  }
  let [y1, x1, y2, x2] = used.map((m) => m.value) as [number, number, number, number];
  if (y2 < y1 || x2 < x1) {
    whole('inverted-box');
    if ((options.inverted ?? 'skip') === 'skip') return;
    if (y2 < y1) [y1, y2] = [y2, y1];
    if (x2 < x1) [x1, x2] = [x2, x1];
  }
  const object: DetectedObject = {
    label: group.label.trim(),
    box: {
      x1: toPixel(x1, image.width),
      y1: toPixel(y1, image.height),
      x2: toPixel(x2, image.width),
      y2: toPixel(y2, image.height),
    },
    normalized: { x1: x1 / LOC_BINS, y1: y1 / LOC_BINS, x2: x2 / LOC_BINS, y2: y2 / LOC_BINS },
    locs: [y1, x1, y2, x2],
  };
  if (codes) (result as SegmentationResult).objects.push({ ...object, codes });
  else (result as DetectionResult).objects.push(object);
}

function toPixel(bin: number, side: number): number {
  return Math.min(side, Math.max(0, Math.round((bin / LOC_BINS) * side)));
}
