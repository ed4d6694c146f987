import { createHash } from 'node:crypto';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { Redis } from 'ioredis';

export const BATCH_TASKS = ['caption', 'detect', 'ask'] as const;
export type BatchTask = (typeof BATCH_TASKS)[number];

/** One input of a batch, as it travels in a BullMQ job. */
export interface BatchJobData {
  /** An absolute path (on storage every worker sees) or an http(s) URL. */
  input: string;
  task: BatchTask;
  /** ask: the question. */
  question?: string;
  /** detect: the labels. */
  objects?: string[];
  lang?: string;
  maxNewTokens?: number;
}

/** One JSONL line: the result of an input, or the error that failed it for good. */
export type BatchLine =
  | { id: string; input: string; task: BatchTask; ok: true; result: unknown }
  | { id: string; input: string; task: BatchTask; ok: false; error: { code: string; message: string } };

/**
 * A job id from what the job asks (input, task, parameters): submitting the same input again names the
 * same job, which BullMQ does not add twice and whose stored result is found again.
 */
export function jobId(data: BatchJobData): string {
  const key = JSON.stringify([
    data.task,
    data.input,
    data.question ?? null,
    data.objects ?? null,
    data.lang ?? null,
    data.maxNewTokens ?? null,
  ]);
  return `${data.task}-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** Redis keys beside BullMQ's: the result of each job id (a hash) and the ids in the order stored (a list). */
export function resultKeys(queueName: string): { results: string; order: string } {
  return { results: `pali:${queueName}:results`, order: `pali:${queueName}:results:order` };
}

/**
 * Stores a line only if the job has none yet, and lists its id once: one atomic script, so a worker that
 * dies between the two cannot leave a result unlisted, and a job run twice (stalled, then recovered)
 * keeps its first result.
 */
const STORE_ONCE = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0`;

export async function storeOnce(redis: Redis, queueName: string, line: BatchLine): Promise<boolean> {
  const { results, order } = resultKeys(queueName);
  return (await redis.eval(STORE_ONCE, 2, results, order, line.id, JSON.stringify(line))) === 1;
}

/** An ioredis connection as BullMQ wants it (no per-command retry limit). */
export function redisConnection(url: string): Redis {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL('invalid://');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `--queue ${url} is not a Redis URL`, {
      hint: 'Give redis://HOST:PORT (or rediss:// for TLS)',
    });
  }
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

export const DEFAULT_QUEUE_NAME = 'pali-batch';
