import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Resample } from '../filters.js';
import type { SyntheticSpec } from '../synthetic.js';

/** fixtures/ at the repository root. */
export const FIXTURES = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));

export interface ResizeCase {
  source: SyntheticSpec & { sha256: string };
  width: number;
  height: number;
  resample: Resample;
  sha256: string;
  samples: Record<string, number>;
  bytes?: string;
  pixel_values?: { sha256: string; shape: number[]; min: number; max: number; mean: number };
}

export interface DecodeCase {
  file: string;
  pillow_mode: string;
  exact: boolean;
  width: number;
  height: number;
  rgb_sha256: string;
  pillow_rgb: string;
}

export function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${relative}`, 'utf8')) as T;
}

export function resizeCases(): ResizeCase[] {
  return readJson<{ cases: ResizeCase[] }>('resize/cases.json').cases;
}

export function decodeCases(): DecodeCase[] {
  return readJson<{ files: DecodeCase[] }>('resize/decode.json').files;
}
