import { ERROR_CODES, PaliError } from '@pali/errors';

/** Thrown when every slot is busy and the wait line is full: the server answers 429. */
export class QueueFullError extends PaliError {
  constructor(readonly retryAfterSeconds: number) {
    super(ERROR_CODES.TOO_LARGE, 'The server is busy: the request queue is full', {
      hint: `Retry after ${retryAfterSeconds} s`,
      details: { retryAfterSeconds },
    });
  }
}

/** Thrown to waiters when the limiter is closed (shutdown): the server answers 503. */
export class LimiterClosedError extends PaliError {
  constructor() {
    super(ERROR_CODES.ABORTED, 'The server is shutting down', { hint: 'Retry on another instance' });
  }
}

interface Waiter {
  start: () => void;
  fail: (error: unknown) => void;
}

export interface LimiterOptions {
  /** Most tasks running at once. */
  concurrency: number;
  /** Most tasks waiting for a slot; one more is refused with QueueFullError. */
  maxQueue: number;
  /** Retry-After hint given with QueueFullError. */
  retryAfterSeconds?: number;
}

/**
 * A bounded FIFO limiter: at most `concurrency` tasks run, at most `maxQueue` wait, the rest are
 * refused at once. A waiter whose signal aborts leaves the line without running. About 60 lines, so
 * written here rather than taken from p-queue, which has no bound on its queue nor a refusal.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(private readonly options: LimiterOptions) {
    if (!(options.concurrency >= 1) || !(options.maxQueue >= 0)) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'concurrency must be ≥ 1 and maxQueue ≥ 0');
    }
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` when a slot is free; rejects at once when the line is full or the limiter closed. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /** Waits for a slot; the returned function gives it back (calling it twice is harmless). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    await this.enter(signal);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  private enter(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new LimiterClosedError());
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.active < this.options.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.maxQueue) {
      return Promise.reject(new QueueFullError(this.options.retryAfterSeconds ?? 1));
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError(signal!));
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else {
      this.active--;
      if (this.active === 0) for (const done of this.idle.splice(0)) done();
    }
  }

  /** Refuses new work and every waiter; resolves when the running tasks have finished. */
  close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.fail(new LimiterClosedError());
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}

function abortError(signal: AbortSignal): PaliError {
  return new PaliError(ERROR_CODES.ABORTED, 'The request was cancelled while it waited', {
    cause: signal.reason,
  });
}
