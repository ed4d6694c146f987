import { resolve } from 'node:path';
import type { GenerateResult } from '@pali/node';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import {
  finiteNumber,
  interruptSignal,
  loadModel,
  type ModelFlags,
  positiveInt,
  withModelOptions,
} from '../model-options.js';

interface GenerateFlags extends ModelFlags {
  image: string;
  prompt: string;
  maxNewTokens?: string;
  greedy?: boolean;
  temperature?: string;
  topK?: string;
  topP?: string;
  minP?: string;
  repetitionPenalty?: string;
  seed?: string;
  numBeams?: string;
  lengthPenalty?: string;
  stop?: string[];
  ignoreEos?: boolean;
}

/** `pali generate --model DIR --image IMG --prompt TEXT`: any prompt, streamed, with every decoding option. */
export function registerGenerate(program: Command, io: CliIO): void {
  withModelOptions(
    program
      .command('generate')
      .description('run a raw prompt on an image and stream the answer')
      .requiredOption('--image <image>', 'image file or URL')
      .requiredOption('--prompt <text>', 'prompt, e.g. "caption en" or "answer en what is this?"')
      .option('--max-new-tokens <n>', 'most tokens to generate', '64')
      .option('--greedy', 'greedy decoding (the default unless a sampling option is given)')
      .option('--temperature <t>', 'sample with this temperature')
      .option('--top-k <k>', 'sample among the k most likely tokens')
      .option('--top-p <p>', 'nucleus sampling')
      .option('--min-p <p>', 'min-p sampling')
      .option('--repetition-penalty <r>', "HF's repetition penalty")
      .option('--seed <s>', 'sampling seed (same seed, same text)', '0')
      .option('--num-beams <b>', 'beam search with b beams')
      .option('--length-penalty <l>', 'beam search length penalty')
      .option('--stop <text...>', 'stop at any of these strings')
      .option('--ignore-eos', 'always generate --max-new-tokens tokens (for timing)'),
  ).action(async (flags: GenerateFlags) => {
    const sampling = {
      temperature: finiteNumber(flags.temperature, '--temperature'),
      topK: positiveInt(flags.topK, '--top-k'),
      topP: finiteNumber(flags.topP, '--top-p'),
      minP: finiteNumber(flags.minP, '--min-p'),
    };
    const { signal, release } = interruptSignal();
    const pg = await loadModel(flags, io, signal);
    try {
      const request = {
        image: /^https?:\/\//.test(flags.image) ? flags.image : resolve(io.cwd, flags.image),
        prompt: flags.prompt,
        maxNewTokens: positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 64,
        doSample: !flags.greedy && Object.values(sampling).some((v) => v !== undefined),
        ...Object.fromEntries(Object.entries(sampling).filter(([, v]) => v !== undefined)),
        ...(flags.repetitionPenalty
          ? { repetitionPenalty: finiteNumber(flags.repetitionPenalty, '--repetition-penalty')! }
          : {}),
        seed: Number(flags.seed ?? 0),
        ...(flags.numBeams ? { numBeams: positiveInt(flags.numBeams, '--num-beams')! } : {}),
        ...(flags.lengthPenalty
          ? { lengthPenalty: finiteNumber(flags.lengthPenalty, '--length-penalty')! }
          : {}),
        ...(flags.stop ? { stop: flags.stop } : {}),
        ...(flags.ignoreEos ? { ignoreEos: true } : {}),
        signal,
      };
      const it = pg.generate(request);
      let results: GenerateResult[];
      for (;;) {
        const next = await it.next();
        if (next.done) {
          results = next.value;
          break;
        }
        if (!flags.json) io.stdout(next.value.text);
      }
      const r = results[0]!;
      if (flags.json) {
        io.stdout(
          `${JSON.stringify({ text: r.text, tokens: r.tokens, promptTokens: r.promptTokens, finishReason: r.finishReason })}\n`,
        );
      } else io.stdout('\n');
    } finally {
      release();
      await pg.dispose();
    }
  });
}
