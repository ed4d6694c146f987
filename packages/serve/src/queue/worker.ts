import { ERROR_CODES, isPaliError, PaliError } from '@pali/errors';
import type { RgbImage } from '@pali/image';
import { decodeImage } from '@pali/image/node';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { ServedModel } from '../options.js';
import {
  type BatchJobData,
  type BatchLine,
  DEFAULT_QUEUE_NAME,
  redisConnection,
  resultKeys,
  storeOnce,
} from './jobs.js';

export interface BatchWorkerOptions {
  /** redis://HOST:PORT */
  redisUrl: string;
  queueName?: string;
  /** Jobs this worker runs at once (default 1). */
  concurrency?: number;
  /** Refuse images with more pixels than this (default 40 M). */
  maxPixels?: number;
  /** How long a job's lock lives without renewal; a dead worker's jobs return after it (default 30 s). */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs (default 30 s). */
  stalledInterval?: number;
  /** How many times a job may stall before it fails (default 2). */
  maxStalledCount?: number;
  onJob?: (event: { id: string; input: string; ok: boolean; stored: boolean }) => void;
}

export interface BatchWorker {
  /** Waits for the running jobs, then disconnects. */
  close(): Promise<void>;
  worker: Worker<BatchJobData>;
}

/** Errors that another try cannot fix: the job fails at once instead of retrying. */
const FINAL_CODES = new Set<string>([
  ERROR_CODES.NOT_FOUND,
  ERROR_CODES.CORRUPT_FILE,
  ERROR_CODES.UNSUPPORTED,
  ERROR_CODES.TOO_LARGE,
  ERROR_CODES.INVALID_ARGUMENT,
  ERROR_CODES.PROMPT_TOO_LONG,
]);

/**
 * A BullMQ worker that runs batch jobs on one loaded model and stores each result exactly once in
 * Redis. Any number of processes on any machines can run one against the same queue.
 */
export async function startBatchWorker(
  model: ServedModel,
  options: BatchWorkerOptions,
): Promise<BatchWorker> {
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const redis = redisConnection(options.redisUrl);
  const maxPixels = options.maxPixels ?? 40_000_000;
  const worker = new Worker<BatchJobData>(
    queueName,
    async (job: Job<BatchJobData>) => {
      const id = job.id!;
      const data = job.data;
      // A job run again after its worker died may have stored its result already.
      if (await redis.hexists(resultKeys(queueName).results, id)) return { stored: false };
      const attempts = job.opts.attempts ?? 1;
      try {
        const result = await runTask(model, data, maxPixels);
        const stored = await storeOnce(redis, queueName, {
          id,
          input: data.input,
          task: data.task,
          ok: true,
          result,
        });
        options.onJob?.({ id, input: data.input, ok: true, stored });
        return { stored };
      } catch (error) {
        const final = isPaliError(error) && FINAL_CODES.has(error.code);
        if (final || job.attemptsMade + 1 >= attempts) {
          const line: BatchLine = {
            id,
            input: data.input,
            task: data.task,
            ok: false,
            error: errorOf(error),
          };
          const stored = await storeOnce(redis, queueName, line);
          options.onJob?.({ id, input: data.input, ok: false, stored });
        }
        if (final) throw new UnrecoverableError(errorOf(error).message);
        throw error;
      }
    },
    {
      connection: redis,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 2,
      autorun: true,
    },
  );
  worker.on('error', (error) => {
    // Connection hiccups are retried by ioredis; report without crashing the process.
    console.error('pali worker:', error.message);
  });
  await worker.waitUntilReady();
  return {
    worker,
    async close() {
      await worker.close();
      redis.disconnect();
    },
  };
}

export function errorOf(error: unknown): { code: string; message: string } {
  if (isPaliError(error)) return { code: error.code, message: error.message };
  return { code: ERROR_CODES.INTERNAL, message: error instanceof Error ? error.message : String(error) };
}

async function runTask(model: ServedModel, data: BatchJobData, maxPixels: number): Promise<unknown> {
  const image: RgbImage = await decodeImage(data.input, { maxPixels });
  const options = { ...(data.maxNewTokens ? { maxNewTokens: data.maxNewTokens } : {}) };
  switch (data.task) {
    case 'caption':
      return model.caption(image, { ...options, lang: data.lang ?? 'en' });
    case 'ask':
      if (!data.question) throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'An ask job needs a question');
      return model.ask(image, data.question, { ...options, lang: data.lang ?? 'en' });
    case 'detect':
      if (!data.objects?.length)
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'A detect job needs objects');
      return model.detect(image, data.objects, options);
    default:
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `Unknown batch task ${String((data as { task: unknown }).task)}`,
      );
  }
}
