import { resolve } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { MODEL_DTYPES, type ModelDtype, parseModelDtype } from '@pali/model-folder';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { positiveInt } from '../model-options.js';
import { formatBytes } from '../progress.js';
import { quantReport } from '../quant-report.js';

interface QuantReportFlags {
  model: string;
  image: string[];
  prompt: string[];
  dtypes: string;
  maxNewTokens: string;
  keep?: string;
  json?: boolean;
}

/** `pali quant-report --model CHECKPOINT --image IMG`: what each quantized variant costs against fp32. */
export function registerQuantReport(program: Command, io: CliIO): void {
  program
    .command('quant-report')
    .description(
      'convert a checkpoint to each dtype and measure its error against fp32 (logits, top-1, greedy, size)',
    )
    .requiredOption('--model <checkpoint>', 'Hugging Face PaliGemma 2 checkpoint folder (safetensors)')
    .requiredOption('--image <files...>', 'images to test on')
    .option('--prompt <texts...>', 'prompts (each image is run with each prompt)', [
      'caption en',
      'answer en what is this?',
    ])
    .option('--dtypes <list>', `comma-separated, from ${MODEL_DTYPES.join(', ')}`, 'fp16,q8,q4,q4f16,bnb4')
    .option('--max-new-tokens <n>', 'greedy tokens per prompt', '16')
    .option('--keep <dir>', 'keep the converted variants in this folder')
    .option('--json', 'print the report as JSON')
    .action(async (flags: QuantReportFlags) => {
      const dtypes = flags.dtypes.split(',').map((d) => parseModelDtype(d.trim())) as ModelDtype[];
      if (dtypes.length === 0) throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, '--dtypes is empty');
      const inputs = flags.image.flatMap((image) =>
        flags.prompt.map((prompt) => ({ image: resolve(io.cwd, image), prompt })),
      );
      const report = await quantReport(resolve(io.cwd, flags.model), dtypes, inputs, {
        maxNewTokens: positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 16,
        ...(flags.keep ? { workDir: resolve(io.cwd, flags.keep) } : {}),
        onVariant: (d) => io.isTTY && io.stderr(`converting ${d}…\n`),
      });
      if (flags.json) {
        io.stdout(`${JSON.stringify(report)}\n`);
        return;
      }
      const fp32 = report.variants.find((v) => v.dtype === 'fp32')!;
      io.stdout(
        `| dtype | size | vs fp32 | logits max err | logits RMS err | top-1 per step | greedy exact | greedy prefix |\n|---|---|---|---|---|---|---|---|\n`,
      );
      for (const v of report.variants) {
        io.stdout(
          `| ${v.dtype} | ${formatBytes(v.modelBytes)} | ${(v.modelBytes / fp32.modelBytes).toFixed(2)} | ${v.logitsRelMax.toExponential(2)} | ${v.logitsRelRms.toExponential(2)} | ${(v.top1Agreement * 100).toFixed(1)}% | ${(v.greedyExact * 100).toFixed(0)}% | ${(v.greedyPrefix * 100).toFixed(0)}% |\n`,
        );
      }
      io.stdout(`\n${report.inputs.length} image/prompt pairs, ${report.maxNewTokens} greedy tokens each.\n`);
    });
}
