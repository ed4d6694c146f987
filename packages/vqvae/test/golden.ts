// Reads fixtures/vqvae/ (tooling/golden/vqvae_cases.py: PyTorch decoder + Pillow placement).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fixturePath, readFixtureJson } from '@pali/fixtures';

export interface GoldenPlacement {
  note: string;
  codes_index: number;
  locs: [number, number, number, number];
  width: number;
  height: number;
  box: { x1: number; y1: number; x2: number; y2: number };
  soft_offset: number;
  binary_packbits: string;
  binary_sha256: string;
  binary_count: number;
}

export interface GoldenOverlay {
  width: number;
  height: number;
  alpha: number;
  line_width: number;
  objects: { codes_index: number; locs: [number, number, number, number]; color: [number, number, number] }[];
  image_rgb_base64: string;
  expected_rgb_base64: string;
  expected_sha256: string;
}

export interface VqvaeCases {
  codes: number[][];
  logits: { shape: [number, number, number] };
  placements: GoldenPlacement[];
  overlay: GoldenOverlay;
}

export const cases = readFixtureJson<VqvaeCases>('vqvae/cases.json');
export const VAE_PATH = fixturePath('vqvae/vae-tiny.npz');

function floats(file: string): Float32Array {
  const b = readFileSync(fixturePath(file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const allLogits = floats('vqvae/logits.bin');
const allSoft = floats('vqvae/soft.bin');

export function goldenLogits(i: number): Float32Array {
  return allLogits.subarray(i * 4096, (i + 1) * 4096);
}

export function goldenSoft(p: GoldenPlacement): Float32Array {
  return allSoft.subarray(p.soft_offset, p.soft_offset + p.width * p.height);
}

/** numpy.packbits (MSB first) undone, checked against the recorded sha256. */
export function goldenBinary(p: GoldenPlacement): Uint8Array {
  const packed = Buffer.from(p.binary_packbits, 'base64');
  const out = new Uint8Array(p.width * p.height);
  for (let i = 0; i < out.length; i++) out[i] = (packed[i >> 3]! >> (7 - (i & 7))) & 1;
  if (sha256(out) !== p.binary_sha256) throw new Error(`${p.note}: unpacked golden mask fails its sha256`);
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Max |a - b| relative to max |b|. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}
