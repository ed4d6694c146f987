import { ERROR_CODES, PaliError } from '@pali/errors';
import type { InferenceSession } from 'onnxruntime-common';

/**
 * A session that holds its weights only while it runs: opened ahead, released right after each run,
 * and opened again while the model is idle (or on its next use, if that comes first).
 *
 * Why: onnxruntime-node maps external weights from their file and touches them only when a session
 * runs, and releasing the session unmaps them. The int8 prompt graphs (2.4 GB for 3B) are needed
 * for a few seconds per generation; holding them all the time put peak memory at 1.75× what
 * transformers.js needs for the same folder. Opening one costs 10-60 ms of main-thread time
 * (onnxruntime-node creates and runs sessions on the JavaScript thread), so it is done when no
 * generation is running.
 */
export class TransientSession {
  private session: InferenceSession | undefined;
  private opening: Promise<InferenceSession> | undefined;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly open: () => Promise<InferenceSession>,
  ) {}

  /** Whether a session is open and waiting for its run. */
  get isOpen(): boolean {
    return this.session !== undefined;
  }

  /** Opens the session unless it is open (or opening): nothing is read from its weights yet. */
  async prepare(): Promise<void> {
    await this.take(false);
  }

  /** Runs `fn` on the open session (opening it first if needed), then releases the session. */
  async use<T>(fn: (session: InferenceSession) => Promise<T>): Promise<T> {
    const session = await this.take(true);
    try {
      return await fn(session);
    } finally {
      await session.release();
      this.onReleased?.(this);
    }
  }

  /** Called after each run's release (the owner schedules the next opening). */
  onReleased: ((slot: TransientSession) => void) | undefined;

  /** Releases the open session, if any, for good. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.opening ? await this.opening.catch(() => undefined) : undefined;
    const session = this.session ?? pending;
    this.session = undefined;
    await session?.release();
  }

  private async take(forUse: boolean): Promise<InferenceSession> {
    if (this.closed) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'This PaliGemma was disposed', {
        hint: 'Load it again',
      });
    }
    if (!this.session) {
      this.opening ??= this.open().finally(() => {
        this.opening = undefined;
      });
      const opened = await this.opening;
      // Another caller may have taken it while this one waited.
      if (this.session === undefined && !this.closed) this.session = opened;
    }
    const session = this.session;
    if (!session) return this.take(forUse);
    if (forUse) this.session = undefined;
    return session;
  }
}

/**
 * Opens released TransientSessions again, one per macrotask, while no generation runs: `busy()`
 * around each generation holds it off, so that opening (main-thread work) never lands between the
 * steps of a generation.
 */
export class IdleOpener {
  private active = 0;
  private queue: TransientSession[] = [];
  private scheduled = false;
  private stopped = false;

  /** Queues a released slot for opening. */
  request(slot: TransientSession): void {
    if (!this.queue.includes(slot)) this.queue.push(slot);
    this.kick();
  }

  /** Marks a generation as running until the returned function is called. */
  busy(): () => void {
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      this.kick();
    };
  }

  /** Opens everything queued now (for tests and for callers that want it before timing). */
  async drain(): Promise<void> {
    while (this.queue.length > 0) await this.queue.shift()!.prepare();
  }

  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  private kick(): void {
    if (this.scheduled || this.stopped || this.active > 0 || this.queue.length === 0) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      if (this.stopped || this.active > 0) return;
      const slot = this.queue.shift();
      if (!slot) return;
      slot
        .prepare()
        .catch(() => {
          // Opening failed (file gone?): the next use opens it again and reports the error there.
        })
        .finally(() => this.kick());
    }, 0);
  }
}
