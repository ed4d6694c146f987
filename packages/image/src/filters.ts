import { ERROR_CODES, PaliError } from '@pali/errors';

/**
 * The resampling filters of Pillow's `src/libImaging/Resample.c`, written with the same operations
 * in the same order so that every double matches (the kernels are evaluated in float64 there too).
 */
export type Resample = 'nearest' | 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

export const RESAMPLE_NAMES: readonly Resample[] = [
  'nearest',
  'box',
  'bilinear',
  'hamming',
  'bicubic',
  'lanczos',
];

/** Pillow's `Image.Resampling` numbers, as preprocessor_config.json stores them in `resample`. */
export const PIL_RESAMPLE_IDS: Readonly<Record<Resample, number>> = {
  nearest: 0,
  lanczos: 1,
  bilinear: 2,
  bicubic: 3,
  box: 4,
  hamming: 5,
};

export interface Filter {
  readonly kernel: (x: number) => number;
  readonly support: number;
}

function box(x: number): number {
  return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

function bilinear(x: number): number {
  const a = x < 0.0 ? -x : x;
  return a < 1.0 ? 1.0 - a : 0.0;
}

function hamming(x: number): number {
  let a = x < 0.0 ? -x : x;
  if (a === 0.0) return 1.0;
  if (a >= 1.0) return 0.0;
  a = a * Math.PI;
  // 0.54f and 0.46f are C float literals: their float32 values, widened to double.
  return (Math.sin(a) / a) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(a));
}

function bicubic(x: number): number {
  // Keys' cubic with a = -0.5, as in Pillow.
  const a = -0.5;
  const t = x < 0.0 ? -x : x;
  if (t < 1.0) return ((a + 2.0) * t - (a + 3.0)) * t * t + 1;
  if (t < 2.0) return (((t - 5) * t + 8) * t - 4) * a;
  return 0.0;
}

function sinc(x: number): number {
  if (x === 0.0) return 1.0;
  const a = x * Math.PI;
  return Math.sin(a) / a;
}

function lanczos(x: number): number {
  return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
}

export const FILTERS: Readonly<Record<Exclude<Resample, 'nearest'>, Filter>> = {
  box: { kernel: box, support: 0.5 },
  bilinear: { kernel: bilinear, support: 1.0 },
  hamming: { kernel: hamming, support: 1.0 },
  bicubic: { kernel: bicubic, support: 2.0 },
  lanczos: { kernel: lanczos, support: 3.0 },
};

/** A resample mode from its name or Pillow number (3 = bicubic); a typed error for anything else. */
export function parseResample(value: Resample | number | string): Resample {
  if (typeof value === 'number') {
    const name = (Object.keys(PIL_RESAMPLE_IDS) as Resample[]).find((k) => PIL_RESAMPLE_IDS[k] === value);
    if (name) return name;
  } else {
    const lower = value.toLowerCase();
    if ((RESAMPLE_NAMES as readonly string[]).includes(lower)) return lower as Resample;
    if (/^\d+$/.test(lower)) return parseResample(Number(lower));
  }
  throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Unknown resample mode ${JSON.stringify(value)}`, {
    hint: `Use one of ${RESAMPLE_NAMES.join(', ')} or Pillow's number (0-5)`,
  });
}
