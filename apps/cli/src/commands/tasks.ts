import { resolve } from 'node:path';
import type { Command } from 'commander';
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
}

function imagePath(io: CliIO, image: string): string {
  return /^https?:\/\//.test(image) ? image : resolve(io.cwd, image);
}

/** caption, describe, ocr and ask: one image in, one answer out (`--json` for {"text", "tokens"}). */
export function registerTasks(program: Command, io: CliIO): void {
  const tasks: [string, string, boolean][] = [
    ['caption', 'a short caption of the image', true],
    ['describe', 'a longer description of the image', true],
    ['ocr', 'the text in the image', false],
  ];
  for (const [name, what, hasLang] of tasks) {
    const command = program.command(name).description(what).argument('<image>', 'image file or URL');
    if (hasLang) command.option('--lang <code>', 'answer language (en, de, fr, es, zh, …)', 'en');
    withModelOptions(command.option('--max-new-tokens <n>', 'most tokens to generate', '64')).action(
      async (image: string, flags: TaskFlags) => {
        await runTask(io, flags, async (pg, signal) => {
          const options = { maxNewTokens: positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 64, signal };
          const path = imagePath(io, image);
          if (name === 'ocr') return pg.ocr(path, options);
          return name === 'caption'
            ? pg.caption(path, { ...options, lang: flags.lang })
            : pg.describe(path, { ...options, lang: flags.lang });
        });
      },
    );
  }
  withModelOptions(
    program
      .command('ask')
      .description('answer a question about the image')
      .argument('<image>', 'image file or URL')
      .argument('<question>', 'the question')
      .option('--lang <code>', 'answer language', 'en')
      .option('--max-new-tokens <n>', 'most tokens to generate', '64'),
  ).action(async (image: string, question: string, flags: TaskFlags) => {
    await runTask(io, flags, (pg, signal) =>
      pg.ask(imagePath(io, image), question, {
        lang: flags.lang,
        maxNewTokens: positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 64,
        signal,
      }),
    );
  });
}

async function runTask(
  io: CliIO,
  flags: ModelFlags,
  run: (
    pg: Awaited<ReturnType<typeof loadModel>>,
    signal: AbortSignal,
  ) => Promise<{ text: string; tokens: number[] }>,
): Promise<void> {
  const { signal, release } = interruptSignal();
  const pg = await loadModel(flags, io, signal);
  try {
    const result = await run(pg, signal);
    io.stdout(
      flags.json ? `${JSON.stringify({ text: result.text, tokens: result.tokens })}\n` : `${result.text}\n`,
    );
  } finally {
    release();
    await pg.dispose();
  }
}
