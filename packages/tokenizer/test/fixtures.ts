// Reads the committed fixtures (fixtures/ at the repository root) for the tests.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
export const TOKENIZER_DIR = `${FIXTURES}tokenizer`;
export const MODELS = ['tiny-3b', 'tiny-28b'] as const;
export const modelDir = (model: string) => `${FIXTURES}models/${model}`;

export function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${relative}`, 'utf8')) as T;
}

export interface TokenizerCase {
  text: string;
  ids: number[];
  tokens: string[];
  ids_with_special: number[];
  decode: string;
  decode_skip_special: string;
}

export interface DecodeCase {
  ids: number[];
  decode: string;
  decode_skip_special: string;
}

export interface ProcessorCase {
  prompts: string[];
  suffix?: string[];
  images: number;
  padding_side: 'left' | 'right';
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
}

/** fixtures/tokenizer-extra/cases.json (tooling/golden/tokenizer_extra.py). */
export interface ExtraCases {
  behaviour: Record<string, TokenizerCase[]>;
  random: TokenizerCase[];
  decode: DecodeCase[];
  cleanup: { text: string; ids: number[]; decode_cleanup: string; decode_cleanup_forced: string }[];
  processor: ProcessorCase[];
}

interface TensorEntry {
  name: string;
  file: string;
  dtype: string;
  shape: number[];
}

export interface GoldenCase {
  model: string;
  case: string;
  prompts: string[];
  padding_side: string;
  generated_text: string[];
  tensors: Record<string, string>;
}

interface Manifest {
  cases: GoldenCase[];
  tensors: TensorEntry[];
}

let manifest: Manifest | undefined;

export function goldenManifest(): Manifest {
  manifest ??= readJson<Manifest>('golden/manifest.json');
  return manifest;
}

/** An int32 golden tensor as rows (2-D) of numbers. */
export function int32Rows(name: string): number[][] {
  const entry = goldenManifest().tensors.find((t) => t.name === name);
  if (entry?.dtype !== 'int32' || entry.shape.length !== 2) throw new Error(`no 2-D int32 tensor ${name}`);
  const bytes = readFileSync(`${FIXTURES}${entry.file}`);
  const flat = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const [rows, cols] = entry.shape as [number, number];
  if (flat.length !== rows * cols) throw new Error(`${name}: ${flat.length} values for shape ${entry.shape}`);
  return Array.from({ length: rows }, (_, r) => Array.from(flat.subarray(r * cols, (r + 1) * cols)));
}
