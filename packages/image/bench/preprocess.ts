/**
 * Decode + resize + normalize of a 12 MP JPEG to pixel_values at 224, 448 and 896: ours (sharp decode,
 * Pillow-exact resize in TS) next to sharp's own resize (cubic, with its JPEG shrink-on-load) and
 * Pillow (python3 with Pillow and numpy, when present). Prints medians in ms and ratios.
 *
 * pnpm --filter @pali/image bench   [RUNS=7] [PYTHON=python3]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { pixelValueTable, preprocess, syntheticImage } from '../src/index.js';
import { decodeImage } from '../src/node/index.js';

const RUNS = Number(process.env.RUNS ?? 7);
const SIZES = [224, 448, 896];
const PYTHON = process.env.PYTHON ?? 'python3';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  await fn(); // warm-up (JIT, sharp's thread pool)
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** sharp's own resize, then the same rescale/normalize tables as ours. */
async function sharpPixelValues(jpeg: Uint8Array, size: number): Promise<Float32Array> {
  const { data } = await sharp(jpeg)
    .rotate()
    .resize(size, size, { fit: 'fill', kernel: 'cubic' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const [r, g, b] = pixelValueTable({}) as [Float32Array, Float32Array, Float32Array];
  const n = size * size;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = r[data[i * 3]!]!;
    out[n + i] = g[data[i * 3 + 1]!]!;
    out[2 * n + i] = b[data[i * 3 + 2]!]!;
  }
  return out;
}

const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer)).digest('hex');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pali-bench-'));
  try {
    const pattern = syntheticImage({ width: 4000, height: 3000, pattern: 'mixed', seed: 31 });
    const jpeg = await sharp(pattern.data, { raw: { width: 4000, height: 3000, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    const path = join(dir, 'photo-4000x3000.jpg');
    writeFileSync(path, jpeg);

    const pillow = new Map<number, { ms: number; sha256: string }>();
    const script = fileURLToPath(new URL('pillow_preprocess.py', import.meta.url));
    const py = spawnSync(PYTHON, [script, path, String(RUNS), ...SIZES.map(String)], { encoding: 'utf8' });
    if (py.status === 0) {
      for (const line of py.stdout.trim().split('\n')) {
        const r = JSON.parse(line) as { size: number; ms: number; sha256: string };
        pillow.set(r.size, r);
      }
    } else {
      console.log(`(Pillow column skipped: ${PYTHON} with Pillow and numpy not available)`);
    }

    console.log(
      `12 MP JPEG (4000×3000, ${(jpeg.length / 1e6).toFixed(1)} MB) → pixel_values; median of ${RUNS} runs; ` +
        `Node ${process.versions.node}, sharp ${sharp.versions.sharp}, ${cpus()[0]?.model.trim()} ×${availableParallelism()}`,
    );
    const decodeMs = await time(() => decodeImage(jpeg));
    const decoded = await decodeImage(jpeg);
    console.log(`decode alone (sharp, to RGB): ${decodeMs.toFixed(0)} ms`);
    console.log(
      '| size | ours ms | resize+normalize ms | sharp resize ms | Pillow ms | ours / sharp | ours / Pillow | = Pillow? | sharp max abs diff |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const size of SIZES) {
      const ours = await time(async () => preprocess(await decodeImage(jpeg), { size }));
      const resizeOnly = await time(() => preprocess(decoded, { size }));
      const viaSharp = await time(() => sharpPixelValues(jpeg, size));
      const ourValues = preprocess(decoded, { size }).data;
      const sharpValues = await sharpPixelValues(jpeg, size);
      let diff = 0;
      for (let i = 0; i < ourValues.length; i++)
        diff = Math.max(diff, Math.abs(ourValues[i]! - sharpValues[i]!));
      const p = pillow.get(size);
      const cells = [
        size,
        ours.toFixed(0),
        resizeOnly.toFixed(0),
        viaSharp.toFixed(0),
        p ? p.ms.toFixed(0) : 'n/a',
        (ours / viaSharp).toFixed(2),
        p ? (ours / p.ms).toFixed(2) : 'n/a',
        p ? (p.sha256 === sha(ourValues) ? 'identical' : 'DIFFERENT') : 'n/a',
        diff.toFixed(3),
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
