import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { COMPONENTS, type ModelDtype, onnxPath } from '@pali/model-folder';
import { PaliGemma } from '@pali/node';
import { compareLogits, sequenceAgreement } from '@pali/quantize';

export interface QuantReportInput {
  image: string;
  prompt: string;
}

export interface VariantReport {
  dtype: ModelDtype;
  /** Bytes of the variant's ONNX files (with external data). */
  modelBytes: number;
  /** Teacher-forced logits along fp32's greedy tokens, against fp32: max |Δ| / max |fp32|. */
  logitsRelMax: number;
  /** RMS of the difference over RMS of fp32. */
  logitsRelRms: number;
  /** Fraction of steps whose argmax equals fp32's (same forced prefix). */
  top1Agreement: number;
  /** Fraction of prompts whose whole greedy generation equals fp32's. */
  greedyExact: number;
  /** Mean common prefix of the greedy generations, over fp32's length. */
  greedyPrefix: number;
}

export interface QuantReport {
  checkpoint: string;
  maxNewTokens: number;
  inputs: QuantReportInput[];
  variants: VariantReport[];
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(join(dir, 'onnx'))) total += (await stat(join(dir, 'onnx', name))).size;
  return total;
}

/**
 * Converts a checkpoint to fp32 and to each dtype, and measures what each costs against fp32 on the
 * given images and prompts: logits error (teacher-forced on fp32's greedy tokens), top-1 agreement per
 * step, greedy sequence agreement, and file sizes.
 */
export async function quantReport(
  checkpoint: string,
  dtypes: readonly ModelDtype[],
  inputs: readonly QuantReportInput[],
  options: { maxNewTokens?: number; workDir?: string; onVariant?: (dtype: ModelDtype) => void } = {},
): Promise<QuantReport> {
  const maxNewTokens = options.maxNewTokens ?? 16;
  const work = options.workDir ?? (await mkdtemp(join(tmpdir(), 'pali-quant-')));
  const folders = new Map<ModelDtype, string>();
  try {
    for (const dtype of ['fp32' as ModelDtype, ...dtypes.filter((d) => d !== 'fp32')]) {
      options.onVariant?.(dtype);
      const out = join(work, dtype);
      await convertCheckpoint(checkpoint, out, { dtype, overwrite: true });
      folders.set(dtype, out);
    }
    const reference = await PaliGemma.load(folders.get('fp32')!, { dtype: 'fp32' });
    const refRuns: { tokens: number[]; logits: Float32Array[] }[] = [];
    try {
      for (const input of inputs) {
        const [r] = await reference.run({ image: input.image, prompt: input.prompt, maxNewTokens });
        const tokens = r!.tokens;
        refRuns.push({
          tokens,
          logits: await reference.forcedLogits(input.image, input.prompt, tokens.slice(0, -1)),
        });
      }
    } finally {
      await reference.dispose();
    }
    const vocab = refRuns[0]!.logits[0]!.length;
    const variants: VariantReport[] = [];
    for (const [dtype, folder] of folders) {
      const pg = await PaliGemma.load(folder, { dtype });
      try {
        const ref: number[] = [];
        const test: number[] = [];
        let exact = 0;
        let prefix = 0;
        for (const [i, input] of inputs.entries()) {
          const run = refRuns[i]!;
          const forced = await pg.forcedLogits(input.image, input.prompt, run.tokens.slice(0, -1));
          for (const [k, row] of forced.entries()) {
            ref.push(...run.logits[k]!);
            test.push(...row);
          }
          const [greedy] = await pg.run({ image: input.image, prompt: input.prompt, maxNewTokens });
          const agreement = sequenceAgreement(run.tokens, greedy!.tokens);
          if (agreement.exact) exact++;
          prefix += agreement.commonPrefix / Math.max(1, run.tokens.length);
        }
        const cmp = compareLogits(Float32Array.from(ref), Float32Array.from(test), vocab);
        const refRms = Math.sqrt(ref.reduce((s, v) => s + v * v, 0) / ref.length);
        variants.push({
          dtype,
          modelBytes: await folderBytes(folder),
          logitsRelMax: cmp.relMax,
          logitsRelRms: cmp.rms / refRms,
          top1Agreement: cmp.top1,
          greedyExact: exact / inputs.length,
          greedyPrefix: prefix / inputs.length,
        });
      } finally {
        await pg.dispose();
      }
    }
    return { checkpoint, maxNewTokens, inputs: [...inputs], variants };
  } finally {
    if (!options.workDir) await rm(work, { recursive: true, force: true });
  }
}

/** The variants' files as named in the model folder (for messages). */
export function variantFiles(dtype: ModelDtype): string[] {
  return COMPONENTS.map((c) => onnxPath(c, dtype));
}
