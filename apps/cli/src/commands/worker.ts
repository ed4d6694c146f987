import { DEFAULT_QUEUE_NAME, startBatchWorker } from '@pali/serve';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { loadModel, type ModelFlags, positiveInt, withModelOptions } from '../model-options.js';
import { untilStopped } from '../stop-signal.js';

interface WorkerFlags extends ModelFlags {
  queue: string;
  queueName: string;
  concurrency: string;
  maxPixels: string;
  lockSeconds: string;
}

/** `pali worker --queue redis://HOST:PORT --model M`: runs batch jobs until SIGINT/SIGTERM. */
export function registerWorker(program: Command, io: CliIO): void {
  withModelOptions(
    program
      .command('worker')
      .description('run batch jobs from a BullMQ queue on Redis (start one per machine, as many as you like)')
      .requiredOption('--queue <url>', 'the Redis server: redis://HOST:PORT')
      .option('--queue-name <name>', 'the BullMQ queue', DEFAULT_QUEUE_NAME)
      .option('--concurrency <n>', 'jobs this worker runs at once', '1')
      .option('--max-pixels <n>', 'largest image in pixels', '40000000')
      .option(
        '--lock-seconds <s>',
        "a job's lock; jobs of a worker that died go back to the queue after it",
        '30',
      ),
  ).action(async (flags: WorkerFlags) => {
    const model = await loadModel(flags, io);
    let done = 0;
    let failed = 0;
    const lock = positiveInt(flags.lockSeconds, '--lock-seconds')! * 1000;
    try {
      const worker = await startBatchWorker(model, {
        redisUrl: flags.queue,
        queueName: flags.queueName,
        concurrency: positiveInt(flags.concurrency, '--concurrency')!,
        maxPixels: positiveInt(flags.maxPixels, '--max-pixels')!,
        lockDuration: lock,
        stalledInterval: lock,
        onJob: (e) => {
          if (e.ok) done++;
          else failed++;
          if (io.isTTY) io.stderr(`\r\x1b[2Kpali worker: ${done} done, ${failed} failed`);
        },
      });
      io.stderr(
        `pali worker: ${flags.model} on queue ${flags.queueName} at ${redact(flags.queue)} (Ctrl-C stops)\n`,
      );
      const signal = await untilStopped();
      io.stderr(`\npali worker: ${signal}: finishing running jobs\n`);
      await worker.close();
      io.stderr(`pali worker: ${done} done, ${failed} failed\n`);
    } finally {
      await model.dispose();
    }
  });
}

/** The Redis URL without its password, for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
