import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import { Queue, QueueEvents } from 'bullmq';
import {
  type BatchJobData,
  type BatchLine,
  DEFAULT_QUEUE_NAME,
  jobId,
  redisConnection,
  resultKeys,
  storeOnce,
} from './jobs.js';
import { errorOf } from './worker.js';

export interface BatchProgress {
  total: number;
  done: number;
  failed: number;
}

export interface SubmitOptions {
  redisUrl: string;
  queueName?: string;
  jobs: readonly BatchJobData[];
  /** Tries per job before it fails for good (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubled on each retry (default 1000). */
  backoffMs?: number;
  /** Called once per input with its line (result or final error), in the order they finish. */
  onLine: (line: BatchLine) => void | Promise<void>;
  onProgress?: (progress: BatchProgress) => void;
  /** How often Redis is polled for new results (default 200 ms). */
  pollMs?: number;
  /** Give up waiting after this long (default: never). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Enqueues one BullMQ job per input (ids derived from the input, so submitting again resumes instead of
 * redoing) and follows the stored results until every input has exactly one line. Results already
 * stored by an earlier run are given again. A job that fails for good (its retries spent, or stalled
 * too often) gets a line with its error, and stays in BullMQ's failed set.
 */
export async function submitBatch(options: SubmitOptions): Promise<BatchProgress> {
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const redis = redisConnection(options.redisUrl);
  const queue = new Queue<BatchJobData>(queueName, { connection: redis });
  const eventsRedis = redisConnection(options.redisUrl);
  const events = new QueueEvents(queueName, { connection: eventsRedis });
  const { results, order } = resultKeys(queueName);
  const byId = new Map<string, BatchJobData>();
  for (const data of options.jobs) byId.set(jobId(data), data);
  const seen = new Set<string>();
  const progress: BatchProgress = { total: byId.size, done: 0, failed: 0 };
  const emit = async (raw: string | null) => {
    if (!raw) return;
    const line = JSON.parse(raw) as BatchLine;
    if (!byId.has(line.id) || seen.has(line.id)) return;
    seen.add(line.id);
    if (line.ok) progress.done++;
    else progress.failed++;
    await options.onLine(line);
  };
  const recordFailure = async (id: string, reason: string) => {
    const data = byId.get(id);
    if (!data || seen.has(id)) return;
    // Only a job that is in the failed set for good; a failed attempt that will be retried is not.
    if ((await queue.getJobState(id)) !== 'failed') return;
    await storeOnce(redis, queueName, {
      id,
      input: data.input,
      task: data.task,
      ok: false,
      error: { code: 'JOB_FAILED', message: reason },
    });
  };
  events.on('failed', ({ jobId: id, failedReason }) => {
    void recordFailure(id, failedReason).catch(() => {});
  });
  try {
    await events.waitUntilReady();
    let cursor = await redis.llen(order);
    // Results stored by an earlier submission of the same inputs.
    const ids = [...byId.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const lines = await redis.hmget(results, ...part);
      for (const raw of lines) await emit(raw);
    }
    const pending = ids.filter((id) => !seen.has(id));
    for (let i = 0; i < pending.length; i += 1000) {
      await queue.addBulk(
        pending.slice(i, i + 1000).map((id) => ({
          name: byId.get(id)!.task,
          data: byId.get(id)!,
          opts: {
            jobId: id,
            attempts: options.attempts ?? 3,
            backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
            // The result lives in the results hash; the failed set keeps failures with their errors.
            removeOnComplete: true,
            removeOnFail: false,
          },
        })),
      );
    }
    options.onProgress?.({ ...progress });
    const started = Date.now();
    let lastChange = Date.now();
    while (seen.size < byId.size) {
      throwIfAborted(options.signal, 'batch');
      if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
        throw new PaliError(ERROR_CODES.ABORTED, `The batch did not finish in ${options.timeoutMs} ms`, {
          hint: 'Start workers (pali worker --queue …), or submit again later: finished inputs are kept',
          details: { ...progress },
        });
      }
      const length = await redis.llen(order);
      if (length > cursor) {
        const newIds = await redis.lrange(order, cursor, length - 1);
        cursor = length;
        const mine = newIds.filter((id) => byId.has(id) && !seen.has(id));
        if (mine.length > 0) {
          for (const raw of await redis.hmget(results, ...mine)) await emit(raw);
          options.onProgress?.({ ...progress });
          lastChange = Date.now();
        }
      } else if (Date.now() - lastChange > 5000) {
        // Nothing for a while: look for failed jobs whose event was missed, and re-add lost jobs.
        lastChange = Date.now();
        await reconcile(queue, byId, seen, options, recordFailure);
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
    }
    return progress;
  } catch (error) {
    throw error instanceof PaliError
      ? error
      : new PaliError(ERROR_CODES.NETWORK_ERROR, `The batch queue failed: ${errorOf(error).message}`, {
          cause: error,
          hint: 'Check that Redis is reachable at --queue',
        });
  } finally {
    await events.close();
    await queue.close();
    redis.disconnect();
    eventsRedis.disconnect();
  }
}

async function reconcile(
  queue: Queue<BatchJobData>,
  byId: Map<string, BatchJobData>,
  seen: Set<string>,
  options: SubmitOptions,
  recordFailure: (id: string, reason: string) => Promise<void>,
): Promise<void> {
  const missing = [...byId.keys()].filter((id) => !seen.has(id)).slice(0, 1000);
  for (const id of missing) {
    const job = await queue.getJob(id);
    if (!job) {
      // Removed without a stored result (e.g. someone cleaned the queue): add it again.
      await queue.add(byId.get(id)!.task, byId.get(id)!, {
        jobId: id,
        attempts: options.attempts ?? 3,
        backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
        removeOnComplete: true,
        removeOnFail: false,
      });
    } else if ((await job.getState()) === 'failed') await recordFailure(id, job.failedReason);
  }
}
