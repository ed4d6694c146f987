import { resolve } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { Component } from '@pali/model-folder';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { interruptSignal, parseDtype, positiveInt } from '../model-options.js';
import { formatBytes, ProgressLine } from '../progress.js';

interface ConvertFlags {
  dtype: string;
  only?: string;
  lora?: string;
  shareEmbedding: boolean;
  overwrite?: boolean;
  slidingWindow?: boolean;
  prefill: string;
  prefillPartLayers?: string;
  blockSize?: string;
  json?: boolean;
}

const COMPONENT_NAMES: Record<string, Component> = {
  vision: 'vision_encoder',
  vision_encoder: 'vision_encoder',
  embedding: 'embed_tokens',
  embed_tokens: 'embed_tokens',
  decoder: 'decoder_model_merged',
  decoder_model_merged: 'decoder_model_merged',
};

function parseComponents(list: string): Component[] {
  return list.split(',').map((name) => {
    const c = COMPONENT_NAMES[name.trim()];
    if (!c) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `--only: unknown component "${name}"`, {
        hint: 'Use vision, embedding and/or decoder',
      });
    }
    return c;
  });
}

/** `pali convert SRC OUT`: a Hugging Face PaliGemma 2 checkpoint folder → an ONNX model folder. */
export function registerConvert(program: Command, io: CliIO): void {
  program
    .command('convert')
    .description('convert a Hugging Face PaliGemma 2 checkpoint (safetensors) into an ONNX model folder')
    .argument('<src>', 'checkpoint folder (config.json, *.safetensors, tokenizer files)')
    .argument('<out>', 'output model folder (onnx-community layout)')
    .option('--overwrite', 'replace OUT if it exists (only once the new folder is complete)')
    .option(
      '--dtype <dtype>',
      'weights: fp32|fp16|q8|int8|uint8|q4|q4f16|bnb4, or per component as vision=fp32,embedding=q4,decoder=q4',
      'fp32',
    )
    .option('--only <components>', 'write only these: vision, embedding, decoder (comma separated)')
    .option(
      '--lora <dir>',
      'merge a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) first',
    )
    .option(
      '--no-share-embedding',
      'give embed_tokens its own copy of the tied table (for transformers.js in browsers)',
    )
    .option(
      '--sliding-window',
      'bake in HF 5.x sliding-window attention (default: the training semantics, off)',
    )
    .option(
      '--prefill <kind>',
      'int8: also write an int8 (DynamicQuantizeMatMul) prefill graph for the prompt pass, ~2.5× faster than q4 on CPU, one more copy of the layer weights on disk and in memory; none',
      'none',
    )
    .option(
      '--prefill-part-layers <n>',
      'with --prefill int8: also cut the prefill graph into parts of n layers (graph only, no extra bytes), which loaders map one at a time; 0 for none (default 2)',
    )
    .option(
      '--block-size <n>',
      'block size of q4/q4f16 and of the quantized table: 16, 32 (default, the onnx-community layout), 64, 128, … (larger: smaller and faster on CPU, less accurate)',
    )
    .option('--json', 'print the written files as JSON')
    .action(async (src: string, out: string, flags: ConvertFlags) => {
      if (flags.prefill !== 'int8' && flags.prefill !== 'none') {
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `--prefill ${flags.prefill} is not int8 or none`);
      }
      const partLayers = flags.prefillPartLayers === undefined ? undefined : Number(flags.prefillPartLayers);
      if (partLayers !== undefined && !(Number.isInteger(partLayers) && partLayers >= 0)) {
        throw new PaliError(
          ERROR_CODES.INVALID_ARGUMENT,
          `--prefill-part-layers ${flags.prefillPartLayers} is not a whole number of layers`,
          { hint: 'Give 0 (no parts) or a positive number of layers per part' },
        );
      }
      const progress = new ProgressLine(io);
      const started = performance.now();
      const { signal, release } = interruptSignal();
      try {
        const result = await convertCheckpoint(resolve(io.cwd, src), resolve(io.cwd, out), {
          overwrite: flags.overwrite ?? false,
          slidingWindow: flags.slidingWindow ?? false,
          dtype: parseDtype(flags.dtype) ?? 'fp32',
          shareEmbedding: flags.shareEmbedding,
          prefill: flags.prefill,
          ...(partLayers !== undefined ? { prefillPartLayers: partLayers } : {}),
          ...(flags.blockSize !== undefined
            ? { blockSize: positiveInt(flags.blockSize, '--block-size')! }
            : {}),
          ...(flags.lora ? { lora: resolve(io.cwd, flags.lora) } : {}),
          ...(flags.only ? { components: parseComponents(flags.only) } : {}),
          signal,
          onProgress: (p) => progress.update(`writing ${p.stage}`, p.written, p.total),
        });
        progress.done();
        // maxRSS is in KiB: the peak memory of the whole conversion, which streams one tensor at a time.
        const peakRssBytes = process.resourceUsage().maxRSS * 1024;
        const seconds = (performance.now() - started) / 1000;
        const totalBytes = result.files.reduce((s, f) => s + f.bytes, 0);
        if (flags.json) {
          io.stdout(
            `${JSON.stringify({ out: result.out, files: result.files, totalBytes, peakRssBytes, seconds })}\n`,
          );
        } else {
          for (const f of result.files) io.stdout(`${formatBytes(f.bytes).padStart(10)}  ${f.path}\n`);
          io.stdout(
            `wrote ${result.out}: ${formatBytes(totalBytes)} in ${seconds.toFixed(1)} s, peak RSS ${formatBytes(peakRssBytes)}\n`,
          );
        }
      } finally {
        progress.done();
        release();
      }
    });
}
