import { ERROR_CODES, PaliError } from '@pali/errors';
import { JsonFields } from './json-fields.js';

/** PIL resample filters by their PIL integer codes, as preprocessor_config.json stores them. */
export const PIL_RESAMPLE = {
  0: 'nearest',
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
  4: 'box',
  5: 'hamming',
} as const;
export type ResampleName = (typeof PIL_RESAMPLE)[keyof typeof PIL_RESAMPLE];

export interface PreprocessorConfig {
  /** Square side the image is resized to. */
  size: number;
  resample: ResampleName;
  doResize: boolean;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  imageSeqLength: number;
}

/** Parses preprocessor_config.json (SiglipImageProcessor), with the processor's defaults. */
export function parsePreprocessorConfig(json: unknown): PreprocessorConfig {
  const p = JsonFields.of(json, 'preprocessor_config.json');
  const sizeField = p.raw('size');
  let size: number;
  if (typeof sizeField === 'number') size = sizeField;
  else {
    const s = p.object('size');
    const h = s?.int('height', 224) ?? 224;
    const w = s?.int('width', h) ?? h;
    if (h !== w)
      throw new PaliError(ERROR_CODES.UNSUPPORTED, `preprocessor_config.json asks for a ${w}×${h} input`, {
        hint: 'PaliGemma takes square inputs',
      });
    size = h;
  }
  const code = p.int('resample', 3);
  const resample = PIL_RESAMPLE[code as keyof typeof PIL_RESAMPLE];
  if (!resample)
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `preprocessor_config.json: unknown resample ${code}`);
  const triple = (key: string): [number, number, number] => {
    const v = p.numberList(key, [0.5, 0.5, 0.5]);
    const t = v.length === 1 ? [v[0]!, v[0]!, v[0]!] : v;
    if (t.length !== 3)
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, `preprocessor_config.json: ${key} needs 3 values`);
    return [t[0]!, t[1]!, t[2]!];
  };
  return {
    size,
    resample,
    doResize: p.raw('do_resize') !== false,
    doRescale: p.raw('do_rescale') !== false,
    rescaleFactor: p.number('rescale_factor', 1 / 255),
    doNormalize: p.raw('do_normalize') !== false,
    imageMean: triple('image_mean'),
    imageStd: triple('image_std'),
    imageSeqLength: p.int('image_seq_length', 256),
  };
}
