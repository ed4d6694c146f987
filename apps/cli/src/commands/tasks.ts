import { resolve } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { Command } from 'commander';
import { collectInputs, printSummary, runBatch } from '../batch-jsonl.js';
import type { CliIO } from '../io.js';
import {
  interruptSignal,
  loadModel,
  type ModelFlags,
  positiveInt,
  withModelOptions,
} from '../model-options.js';

interface TaskFlags extends ModelFlags {
  lang: string;
  maxNewTokens?: string;
  jsonl?: string;
}

type Model = Awaited<ReturnType<typeof loadModel>>;

export function imagePath(io: CliIO, image: string): string {
  return /^https?:\/\//.test(image) ? image : resolve(io.cwd, image);
}

export const JSONL_HELP =
  'batch mode: run every image (files, folders) and append one JSON line per image to this file; a rerun skips the images already in it';

/**
 * caption, describe, ocr and ask: one image in, one answer out (`--json` for {"text", "tokens"}),
 * or with --jsonl a resumable batch over files and folders.
 */
export function registerTasks(program: Command, io: CliIO): void {
  const tasks: [string, string, boolean][] = [
    ['caption', 'a short caption of the image', true],
    ['describe', 'a longer description of the image', true],
    ['ocr', 'the text in the image', false],
  ];
  for (const [name, what, hasLang] of tasks) {
    const command = program
      .command(name)
      .description(what)
      .argument('<image...>', 'image file or URL (several, or folders, with --jsonl)');
    if (hasLang) command.option('--lang <code>', 'answer language (en, de, fr, es, zh, …)', 'en');
    withModelOptions(
      command
        .option('--max-new-tokens <n>', 'most tokens to generate', '64')
        .option('--jsonl <file>', JSONL_HELP),
    ).action(async (images: string[], flags: TaskFlags) => {
      await runTask(io, name, images, flags, (pg, path, signal) => {
        const options = { maxNewTokens: positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 64, signal };
        if (name === 'ocr') return pg.ocr(path, options);
        return name === 'caption'
          ? pg.caption(path, { ...options, lang: flags.lang })
          : pg.describe(path, { ...options, lang: flags.lang });
      });
    });
  }
  withModelOptions(
    program
      .command('ask')
      .description('answer a question about the image')
      .usage('[options] <image...> <question>')
      .argument('<image...>', 'image file or URL (several, or folders, with --jsonl), then the question')
      .option('--lang <code>', 'answer language', 'en')
      .option('--max-new-tokens <n>', 'most tokens to generate', '64')
      .option('--jsonl <file>', JSONL_HELP),
  ).action(async (args: string[], flags: TaskFlags) => {
    const [images, question] = splitLast(args, 'question');
    await runTask(
      io,
      'ask',
      images,
      flags,
      (pg, path, signal) =>
        pg.ask(path, question, {
          lang: flags.lang,
          maxNewTokens: positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 64,
          signal,
        }),
      { question },
    );
  });
}

/** `<image...> <last>`: commander's variadic argument must come last, so the last one is split off here. */
export function splitLast(args: readonly string[], what: string): [string[], string] {
  if (args.length < 2) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `missing the ${what} after the image`, {
      hint: `Give an image, then the ${what}`,
    });
  }
  return [args.slice(0, -1), args[args.length - 1]!];
}

/** Refuses several images without --jsonl (one answer per image needs a place to go). */
export function singleImage(images: readonly string[], flags: { jsonl?: string }): string | undefined {
  if (flags.jsonl !== undefined) return undefined;
  if (images.length !== 1) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${images.length} images given without --jsonl`, {
      hint: 'Give one image, or --jsonl FILE to run a batch',
    });
  }
  return images[0]!;
}

async function runTask(
  io: CliIO,
  task: string,
  images: readonly string[],
  flags: TaskFlags,
  run: (pg: Model, path: string, signal: AbortSignal) => Promise<{ text: string; tokens: number[] }>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const single = singleImage(images, flags);
  const inputs = single === undefined ? collectInputs(io, images) : [];
  const { signal, release } = interruptSignal();
  const pg = await loadModel(flags, io, signal);
  try {
    if (single !== undefined) {
      const result = await run(pg, imagePath(io, single), signal);
      io.stdout(
        flags.json ? `${JSON.stringify({ text: result.text, tokens: result.tokens })}\n` : `${result.text}\n`,
      );
      return;
    }
    const summary = await runBatch(io, { inputs, jsonl: flags.jsonl!, task, signal }, async (input) => {
      const result = await run(pg, imagePath(io, input), signal);
      return { ...extra, text: result.text };
    });
    printSummary(io, summary, flags.json);
  } finally {
    release();
    await pg.dispose();
  }
}
