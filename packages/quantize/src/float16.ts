// float16 weights: conversion and the Casts that keep a graph's inputs and outputs float32.
import { cast, f32ToF16, type Value } from '@pali/onnx';

/** float32 → IEEE half bits (round to nearest even; overflow to ±Inf, as numpy's astype(float16)). */
export function toFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16(src[i]!);
  return out;
}

// One Cast per value and target dtype: q, k and v projections of one input share it.
const casts = new WeakMap<Value, Map<string, Value>>();

/** x as `dtype`, reusing an earlier Cast of the same value. */
export function castOnce(x: Value, dtype: 'float16' | 'float32'): Value {
  if (x.dtype === dtype) return x;
  let byType = casts.get(x);
  if (!byType) {
    byType = new Map();
    casts.set(x, byType);
  }
  let y = byType.get(dtype);
  if (!y) {
    y = cast(x, dtype, { name: x.graph.uniqueName(`${x.name}_to_${dtype === 'float16' ? 'fp16' : 'fp32'}`) });
    byType.set(dtype, y);
  }
  return y;
}
