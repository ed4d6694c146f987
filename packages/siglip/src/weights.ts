export type { WeightProvider } from '@pali/model-folder';

export const VISION_PREFIX = 'vision_tower.vision_model.';
export const PROJECTOR_PREFIX = 'multi_modal_projector.linear.';

/** Transposes a row-major [rows, cols] matrix (a Linear's [out, in] weight into MatMul's [in, out]). */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  // Blocked so both sides stay in cache for the large (4304 × 1152) matrices.
  const block = 64;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(cols, c0 + block);
      for (let r = r0; r < r1; r++) {
        const src = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = data[src + c]!;
      }
    }
  }
  return out;
}
