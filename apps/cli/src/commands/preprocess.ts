import { readFile, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join, resolve } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { type PixelValues, type PreprocessOptions, parseResample, preprocess } from '@pali/image';
import { decodeImage } from '@pali/image/node';
import { parsePreprocessorConfig } from '@pali/model-folder';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';

interface PreprocessFlags {
  size?: string;
  model?: string;
  resample?: string;
  out?: string;
  json?: boolean;
  maxPixels?: string;
}

export interface PixelStats {
  shape: readonly number[];
  dtype: 'float32';
  min: number;
  max: number;
  mean: number;
}

export function pixelStats(values: PixelValues): PixelStats {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const v of values.data) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { shape: values.dims, dtype: 'float32', min, max, mean: sum / values.data.length };
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${flag} must be a positive integer, got ${value}`, {
      hint: flag === '--size' ? 'Use the model resolution: 224, 448 or 896' : 'Pass a whole number',
    });
  }
  return n;
}

async function modelOptions(dir: string): Promise<PreprocessOptions> {
  const path = join(dir, 'preprocessor_config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `No preprocessor_config.json in ${dir}`, {
      hint: 'Point --model at a model folder, or pass --size',
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${path} is not valid JSON`, {
      hint: 'Re-download it',
      cause,
    });
  }
  return parsePreprocessorConfig(json);
}

/** Little-endian float32 bytes whatever the machine's byte order. */
function littleEndianBytes(data: Float32Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}

/** `pali preprocess IMAGE`: the pixel_values the vision encoder gets, to compare with Python. */
export function registerPreprocess(program: Command, io: CliIO): void {
  program
    .command('preprocess')
    .description(
      'decode and preprocess an image exactly as the HF processor (Pillow) does; write float32 NCHW',
    )
    .argument('<image>', 'image file or http(s) URL')
    .option('--size <pixels>', 'square input size (default: from --model, else 224)')
    .option('--model <dir>', 'model folder whose preprocessor_config.json to follow')
    .option('--resample <mode>', 'nearest, bilinear, bicubic, box, hamming, lanczos or a Pillow number')
    .option('--out <file>', 'write pixel_values as raw little-endian float32, shape [1, 3, S, S]')
    .option('--max-pixels <n>', 'refuse larger images (decompression bombs)')
    .option('--json', 'print shape, dtype, min, max and mean as JSON')
    .action(async (image: string, flags: PreprocessFlags) => {
      const options: PreprocessOptions = flags.model
        ? await modelOptions(resolve(io.cwd, flags.model))
        : { size: 224 };
      if (flags.size !== undefined) options.size = positiveInt(flags.size, '--size');
      if (flags.resample !== undefined) options.resample = parseResample(flags.resample);
      const maxPixels =
        flags.maxPixels === undefined ? undefined : positiveInt(flags.maxPixels, '--max-pixels');
      const source = /^https?:\/\//i.test(image) ? image : resolve(io.cwd, image);
      const decoded = await decodeImage(source, maxPixels === undefined ? {} : { maxPixels });
      const values = preprocess(decoded, options);
      const out = flags.out === undefined ? undefined : resolve(io.cwd, flags.out);
      if (out !== undefined) await writeFile(out, littleEndianBytes(values.data));
      const stats = pixelStats(values);
      if (flags.json) {
        io.stdout(
          `${JSON.stringify({ ...stats, source: { width: decoded.width, height: decoded.height }, out })}\n`,
        );
        return;
      }
      const where = out === undefined ? 'not written (pass --out FILE)' : `written to ${out}`;
      io.stdout(
        `pixel_values float32 [${stats.shape.join(', ')}] from ${decoded.width}×${decoded.height}, ${where}\n` +
          `min ${stats.min}  max ${stats.max}  mean ${stats.mean}\n`,
      );
    });
}
