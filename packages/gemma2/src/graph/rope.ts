/**
 * RoPE cos/sin tables for positions 0..maxPosition, [maxPosition + 1, headDim / 2], computed the way
 * HF's Gemma2RotaryEmbedding does in float32 (inv_freq = 1 / θ^(2i/d); angle = position · inv_freq),
 * so that rounding matches the reference.
 */
export function ropeTables(
  headDim: number,
  theta: number,
  maxPosition: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const f = Math.fround;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = f(1 / f(theta ** f(f(2 * i) / headDim)));
  const rows = maxPosition + 1;
  const cos = new Float32Array(rows * half);
  const sin = new Float32Array(rows * half);
  for (let p = 0; p < rows; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * invFreq[i]!);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
