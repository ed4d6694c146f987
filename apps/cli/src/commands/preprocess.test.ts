import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../exit-codes.js';
import { runCli } from '../run.js';
import { bufferIO } from '../test-io.js';

/** Pillow + HF SiglipImageProcessor goldens written by tooling/golden/resize_cases.py. */
const FIXTURES = fileURLToPath(new URL('../../../../fixtures/resize/', import.meta.url));
interface Golden {
  sha256: string;
  shape: number[];
  min: number;
  max: number;
  mean: number;
}
const decode = JSON.parse(readFileSync(join(FIXTURES, 'decode.json'), 'utf8')) as {
  files: { file: string; pixel_values?: Record<string, Golden> }[];
};
const golden = (file: string, key: string): Golden => {
  const g = decode.files.find((f) => f.file === `decode/${file}`)?.pixel_values?.[key];
  if (!g) throw new Error(`no golden ${file} ${key}`);
  return g;
};

const dir = mkdtempSync(join(tmpdir(), 'pali-preprocess-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('pali preprocess', () => {
  it('writes the float32 NCHW pixel_values HF computes with Pillow (224, bicubic)', async () => {
    const io = bufferIO({ cwd: FIXTURES });
    const out = join(dir, 'rgb-224.bin');
    expect(await runCli(['preprocess', 'decode/png-rgb.png', '--size', '224', '--out', out], io)).toBe(
      EXIT.OK,
    );
    expect(sha256File(out)).toBe(golden('png-rgb.png', '224-bicubic').sha256);
    expect(io.out()).toMatch(/float32 \[1, 3, 224, 224\] from 61×47/);
  });

  it('applies EXIF orientation and drops alpha as Pillow does', async () => {
    for (const [file, name] of [
      ['decode/jpeg-orientation-6.jpg', 'jpeg-orientation-6.jpg'],
      ['decode/png-rgba.png', 'png-rgba.png'],
    ] as const) {
      const out = join(dir, `${name}.bin`);
      expect(await runCli(['preprocess', file, '--out', out], bufferIO({ cwd: FIXTURES }))).toBe(EXIT.OK);
      expect(sha256File(out)).toBe(golden(name, '224-bicubic').sha256);
    }
  });

  it('follows --model DIR/preprocessor_config.json, --resample overrides it, --json prints stats', async () => {
    const model = join(dir, 'model');
    rmSync(model, { recursive: true, force: true });
    mkdirSync(model);
    writeFileSync(
      join(model, 'preprocessor_config.json'),
      JSON.stringify({ size: { height: 448, width: 448 }, resample: 3, rescale_factor: 0.00392156862745098 }),
    );
    const out = join(dir, 'rgb-448.bin');
    const io = bufferIO({ cwd: FIXTURES });
    expect(
      await runCli(['preprocess', 'decode/png-rgb.png', '--model', model, '--out', out, '--json'], io),
    ).toBe(EXIT.OK);
    const g = golden('png-rgb.png', '448-bicubic');
    expect(sha256File(out)).toBe(g.sha256);
    const stats = JSON.parse(io.out()) as {
      shape: number[];
      dtype: string;
      min: number;
      max: number;
      mean: number;
    };
    expect(stats.shape).toEqual(g.shape);
    expect(stats.dtype).toBe('float32');
    expect(stats.min).toBe(g.min);
    expect(stats.max).toBe(g.max);
    expect(stats.mean).toBeCloseTo(g.mean, 6);

    const bilinear = join(dir, 'rgb-224-bilinear.bin');
    const args = [
      'preprocess',
      'decode/png-rgb.png',
      '--model',
      model,
      '--size',
      '224',
      '--resample',
      'bilinear',
    ];
    expect(await runCli([...args, '--out', bilinear], bufferIO({ cwd: FIXTURES }))).toBe(EXIT.OK);
    expect(sha256File(bilinear)).toBe(golden('png-rgb.png', '224-bilinear').sha256);
  });

  it('reports bad input as one typed error line', async () => {
    let io = bufferIO({ cwd: FIXTURES });
    expect(await runCli(['preprocess', 'decode/bad-truncated.png'], io)).toBe(EXIT.FAILURE);
    expect(io.err()).toMatch(/^pali: error CORRUPT_FILE: /);
    io = bufferIO({ cwd: FIXTURES });
    expect(await runCli(['preprocess', 'decode/png-rgb.png', '--size', 'big'], io)).toBe(EXIT.USAGE);
    expect(io.err()).toMatch(/INVALID_ARGUMENT: --size must be a positive integer/);
    io = bufferIO({ cwd: FIXTURES });
    expect(await runCli(['preprocess', 'decode/png-rgb.png', '--max-pixels', '100'], io)).toBe(EXIT.FAILURE);
    expect(io.err()).toMatch(/TOO_LARGE/);
  });
});
