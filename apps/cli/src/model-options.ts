import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { type DtypeChoice, isModelDtype, MODEL_DTYPES } from '@pali/model-folder';
import { type NodeLoadOptions, PaliGemma } from '@pali/node';
import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { ProgressLine } from './progress.js';

export const DEFAULT_MODEL = 'onnx-community/paligemma2-3b-pt-224';
export const DEFAULT_DTYPE = 'q4';

export interface ModelFlags {
  model: string;
  dtype?: string;
  threads?: string;
  prefill?: string;
  promptSessions?: string;
  revision?: string;
  offline?: boolean;
  json?: boolean;
  /** big_vision's vae-oid.npz, for segment. */
  vae?: string;
}

/**
 * Adds --model, --dtype, --threads, --prefill, --prompt-sessions, --revision, --offline and --json to
 * a command.
 */
export function withModelOptions(command: Command): Command {
  return command
    .option('--model <source>', 'model folder, Hugging Face checkpoint folder, or Hub repo id', DEFAULT_MODEL)
    .option(
      '--dtype <dtype>',
      `weights variant: ${MODEL_DTYPES.join('|')}, or per component as vision=fp32,decoder=q4 (default: fp32 for local folders that have it, q4 otherwise)`,
    )
    .option('--threads <n>', 'ONNX Runtime threads (default: one per core)')
    .option(
      '--prefill <mode>',
      "auto: run prompts on the folder's int8 graphs when it has them (convert --prefill int8); int8: require them; off: never (less memory)",
    )
    .option(
      '--prompt-sessions <mode>',
      'the int8 prompt graphs: transient (mapped only while they run, in parts: less memory), resident (held: no reopening between generations), or auto (transient when the folder has the parts)',
    )
    .option('--revision <rev>', 'Hub branch, tag or commit')
    .option('--offline', 'never touch the network (HF_HUB_OFFLINE=1 does the same)')
    .option('--json', 'print one JSON object instead of streaming text');
}

export function parseDtype(value: string | undefined): DtypeChoice | undefined {
  if (value === undefined) return undefined;
  if (isModelDtype(value)) return value;
  const names: Record<string, 'vision_encoder' | 'embed_tokens' | 'decoder_model_merged'> = {
    vision: 'vision_encoder',
    embed: 'embed_tokens',
    embedding: 'embed_tokens',
    decoder: 'decoder_model_merged',
  };
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const [k, v] = part.split('=');
    const component = names[k?.trim() ?? ''];
    if (!component || !v || !isModelDtype(v.trim())) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `--dtype ${value} is not understood`, {
        hint: `Use one of ${MODEL_DTYPES.join(', ')}, or vision=…,embedding=…,decoder=…`,
      });
    }
    out[component] = v.trim();
  }
  return out as DtypeChoice;
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${flag} must be a positive integer, got ${value}`);
  }
  return n;
}

export function finiteNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${flag} must be a number, got ${value}`);
  return n;
}

/** Loads the model the flags name, with download/convert progress on a terminal. */
export async function loadModel(flags: ModelFlags, io: CliIO, signal?: AbortSignal): Promise<PaliGemma> {
  const progress = new ProgressLine(io);
  const local = resolve(io.cwd, flags.model);
  const options: NodeLoadOptions = {
    onProgress: (e) => {
      if (e.stage === 'download') progress.update(`downloading ${e.file}`, e.overall.loaded, e.overall.total);
      else if (e.stage === 'convert') progress.update('converting', e.written, e.total);
    },
  };
  const dtype = parseDtype(flags.dtype);
  if (dtype !== undefined) options.dtype = dtype;
  const threads = positiveInt(flags.threads, '--threads');
  if (threads !== undefined) options.threads = threads;
  if (flags.prefill !== undefined) {
    if (flags.prefill !== 'auto' && flags.prefill !== 'int8' && flags.prefill !== 'off')
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `--prefill ${flags.prefill} is not auto, int8 or off`,
      );
    options.prefill = flags.prefill;
  }
  if (flags.promptSessions !== undefined) {
    const mode = flags.promptSessions;
    if (mode !== 'auto' && mode !== 'transient' && mode !== 'resident')
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `--prompt-sessions ${mode} is not auto, transient or resident`,
      );
    options.promptSessions = mode;
  }
  if (flags.revision) options.revision = flags.revision;
  if (flags.offline) options.offline = true;
  if (flags.vae) options.vae = flags.vae;
  if (signal) options.signal = signal;
  try {
    const source = existsSync(local) ? local : flags.model;
    return await PaliGemma.load(source, options);
  } finally {
    progress.done();
  }
}

/** An AbortSignal that fires on Ctrl-C, so a generation stops within a step. */
export function interruptSignal(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, release: () => process.off('SIGINT', onSigint) };
}
