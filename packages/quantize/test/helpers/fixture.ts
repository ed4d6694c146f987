// The onnxruntime-quantizer golden (test/fixtures/ort-quant.json, made by make_ort_quant.py beside it).
import { readFileSync } from 'node:fs';

const path = new URL('../fixtures/ort-quant.json', import.meta.url);

export interface NBitsCase {
  name: string;
  N: number;
  K: number;
  bits: 4 | 8;
  blockSize: number;
  symmetric: boolean;
  scaleDtype: 'float32' | 'float16';
  weight: string;
  packed: string;
  scales: string;
  zeroPoints: string | null;
}
export interface PerChannelCase {
  name: string;
  N: number;
  K: number;
  symmetric: boolean;
  weight: string;
  b: string;
  scales: string;
  zeroPoints: number[] | null;
}
export interface Nf4Case {
  name: string;
  N: number;
  K: number;
  blockSize: number;
  weight: string;
  packed: string;
  absmax: string;
}
export interface OrtQuantFixture {
  onnxruntime: string;
  nbits: NBitsCase[];
  nbitsOddK: NBitsCase[];
  perChannel: PerChannelCase[];
  nf4: Nf4Case[];
  weights: Record<string, string>;
}

export const fixture = JSON.parse(readFileSync(path, 'utf8')) as OrtQuantFixture;

export const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
export const floats = (hex: string): Float32Array => {
  const b = bytes(hex);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
export const weightOf = (id: string): Float32Array => {
  const hex = fixture.weights[id];
  if (hex === undefined) throw new Error(`fixture weight ${id} is missing`);
  return floats(hex);
};
