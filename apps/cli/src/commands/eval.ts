import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { readVqaData, readVqaPredictions } from '../eval/vqa-data.js';
import { vqaAccuracy } from '../eval/vqa-metric.js';
import type { CliIO } from '../io.js';
import {
  interruptSignal,
  loadModel,
  type ModelFlags,
  positiveInt,
  withModelOptions,
} from '../model-options.js';

interface EvalFlags extends ModelFlags {
  data: string;
  predictions?: string;
  limit?: string;
  maxNewTokens?: string;
}

/**
 * `pali eval vqa --data FILE.jsonl`: the model answers each question with `answer en {question}`
 * (greedy) and the answers are scored with the official VQA accuracy.
 */
export function registerEval(program: Command, io: CliIO): void {
  const evalCommand = program.command('eval').description('measure a model on a data set');
  withModelOptions(
    evalCommand
      .command('vqa')
      .description('VQA accuracy (VQA v2 / TextVQA metric) on a JSONL of {image, question, answers}')
      .requiredOption(
        '--data <file.jsonl>',
        'one {"image", "question", "answers": [...]} per line; images relative to the file',
      )
      .option(
        '--predictions <file.jsonl>',
        'score these answers ({"answer", "id"?} per line) instead of running the model',
      )
      .option('--limit <n>', 'only the first n questions')
      .option('--max-new-tokens <n>', 'most tokens per answer', '32'),
  ).action(async (flags: EvalFlags) => {
    const dataFile = resolve(io.cwd, flags.data);
    let data = readVqaData(dataFile);
    const limit = positiveInt(flags.limit, '--limit');
    if (limit !== undefined) data = data.slice(0, limit);
    let predictions: string[];
    if (flags.predictions) predictions = readVqaPredictions(resolve(io.cwd, flags.predictions), data);
    else {
      const { signal, release } = interruptSignal();
      const pg = await loadModel(flags, io, signal);
      const maxNewTokens = positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 32;
      predictions = [];
      try {
        for (const item of data) {
          const image = /^https?:\/\//.test(item.image) ? item.image : resolve(dirname(dataFile), item.image);
          const { text } = await pg.ask(image, item.question, { lang: 'en', maxNewTokens, signal });
          predictions.push(text);
          if (io.isTTY) io.stderr(`\r\x1b[2Kanswered ${predictions.length}/${data.length}`);
        }
      } finally {
        if (io.isTTY) io.stderr('\r\x1b[2K');
        release();
        await pg.dispose();
      }
    }
    const perQuestion = data.map((item, i) => ({
      ...(item.id !== undefined ? { id: item.id } : {}),
      question: item.question,
      prediction: predictions[i]!,
      accuracy: vqaAccuracy(predictions[i]!, item.answers),
    }));
    const accuracy = perQuestion.length
      ? perQuestion.reduce((s, q) => s + q.accuracy, 0) / perQuestion.length
      : 0;
    if (flags.json) io.stdout(`${JSON.stringify({ accuracy, n: perQuestion.length, perQuestion })}\n`);
    else io.stdout(`VQA accuracy ${(accuracy * 100).toFixed(2)}% on ${perQuestion.length} questions\n`);
  });
}
