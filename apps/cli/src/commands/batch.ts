import { createWriteStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { BATCH_TASKS, type BatchJobData, type BatchTask, DEFAULT_QUEUE_NAME, submitBatch } from '@pali/serve';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { interruptSignal, positiveInt } from '../model-options.js';

interface BatchFlags {
  queue: string;
  queueName: string;
  task: string;
  question?: string;
  objects?: string;
  lang: string;
  maxNewTokens?: string;
  from?: string;
  out?: string;
  attempts: string;
  backoffMs: string;
  timeout?: string;
}

/**
 * `pali batch --queue redis://HOST:PORT INPUT…`: one BullMQ job per input for `pali worker`s to run,
 * then one JSONL line per input (its result or its error) as results arrive.
 */
export function registerBatch(program: Command, io: CliIO): void {
  program
    .command('batch')
    .description(
      'caption, ask or detect over many images on a Redis job queue; pali worker processes run the jobs',
    )
    .argument('[inputs...]', 'image files (on storage every worker sees) or http(s) URLs')
    .requiredOption('--queue <url>', 'the Redis server: redis://HOST:PORT')
    .option('--queue-name <name>', 'the BullMQ queue', DEFAULT_QUEUE_NAME)
    .option('--task <task>', `${BATCH_TASKS.join('|')}`, 'caption')
    .option('--question <text>', 'the question, for --task ask')
    .option('--objects <labels>', 'what to detect, separated by ";", for --task detect')
    .option('--lang <code>', 'answer language for caption and ask', 'en')
    .option('--max-new-tokens <n>', 'most tokens to generate per input')
    .option('--from <file>', 'read more inputs from a file, one per line')
    .option('--out <file.jsonl>', 'write the JSONL lines here instead of stdout')
    .option('--attempts <n>', 'tries per input before it fails for good', '3')
    .option('--backoff-ms <n>', 'first retry delay, doubled on each retry', '1000')
    .option('--timeout <s>', 'stop waiting after this many seconds (finished inputs stay stored in Redis)')
    .action(async (args: string[], flags: BatchFlags) => {
      const task = flags.task as BatchTask;
      if (!BATCH_TASKS.includes(task)) {
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `--task ${flags.task} is not a batch task`, {
          hint: `Use one of ${BATCH_TASKS.join(', ')}`,
        });
      }
      if (task === 'ask' && !flags.question) {
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, '--task ask needs --question TEXT');
      }
      const objects = flags.objects
        ?.split(';')
        .map((s) => s.trim())
        .filter(Boolean);
      if (task === 'detect' && !objects?.length) {
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, '--task detect needs --objects "cat ; dog"');
      }
      const listed = flags.from
        ? readFileSync(resolve(io.cwd, flags.from), 'utf8')
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
        : [];
      const inputs = [...args, ...listed].map((i) => (/^https?:\/\//i.test(i) ? i : resolve(io.cwd, i)));
      if (inputs.length === 0) {
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'pali batch needs inputs', {
          hint: 'Give image files or URLs, or --from FILE with one per line',
        });
      }
      const maxNewTokens = positiveInt(flags.maxNewTokens, '--max-new-tokens');
      const jobs: BatchJobData[] = inputs.map((input) => ({
        input,
        task,
        ...(task === 'ask' ? { question: flags.question! } : {}),
        ...(task === 'detect' ? { objects: objects! } : {}),
        ...(task !== 'detect' ? { lang: flags.lang } : {}),
        ...(maxNewTokens ? { maxNewTokens } : {}),
      }));
      const file = flags.out ? createWriteStream(resolve(io.cwd, flags.out)) : undefined;
      const write = (text: string) =>
        file
          ? new Promise<void>((ok, fail) => file.write(text, (e) => (e ? fail(e) : ok())))
          : io.stdout(text);
      const { signal, release } = interruptSignal();
      try {
        const timeout = positiveInt(flags.timeout, '--timeout');
        const result = await submitBatch({
          redisUrl: flags.queue,
          queueName: flags.queueName,
          jobs,
          attempts: positiveInt(flags.attempts, '--attempts')!,
          backoffMs: positiveInt(flags.backoffMs, '--backoff-ms')!,
          onLine: (line) => write(`${JSON.stringify(line)}\n`),
          onProgress: (p) => {
            if (io.isTTY || file)
              io.stderr(`\r\x1b[2Kpali batch: ${p.done + p.failed}/${p.total} (${p.failed} failed)`);
          },
          signal,
          ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
        });
        io.stderr(
          `${io.isTTY || file ? '\n' : ''}pali batch: ${result.done} done, ${result.failed} failed of ${result.total}\n`,
        );
        if (result.failed > 0) {
          throw new PaliError(
            ERROR_CODES.RUNTIME_ERROR,
            `${result.failed} of ${result.total} inputs failed`,
            {
              hint: "Their lines carry the errors; the jobs stay in the queue's failed set",
            },
          );
        }
      } finally {
        release();
        if (file) await new Promise<void>((ok) => file.end(ok));
      }
    });
}
