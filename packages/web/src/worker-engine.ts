import type { GenerateChunk, GenerateRequest, GenerationOptions } from '@pali/core';
import { ERROR_CODES, PaliError } from '@pali/errors';
import {
  type CallMethod,
  type FromWorker,
  fromWireError,
  type MessagePortLike,
  portableImage,
  type ToWorker,
} from './protocol.js';
import type {
  EngineInfo,
  ModelSource,
  PaliEngine,
  TaskRequest,
  WebImage,
  WebLoadOptions,
  WebLoadSettings,
} from './types.js';

type Listener = (message: FromWorker) => void;

export interface WorkerEngineOptions extends WebLoadOptions {
  /** Terminate the worker on dispose() (default true when it has terminate()). */
  terminateOnDispose?: boolean;
}

/** What a streamed request receives, in order: chunks, then one 'done' or 'error'. */
class Inbox<T> {
  private queue: T[] = [];
  private wake: (() => void) | undefined;
  push(item: T): void {
    this.queue.push(item);
    this.wake?.();
  }
  async next(): Promise<T> {
    while (this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
    this.wake = undefined;
    return this.queue.shift()!;
  }
}

/**
 * The engine running in a Web Worker (the worker runs `@pali/web/worker`): the same interface as
 * the in-thread one; typed messages; errors keep their code; an AbortSignal becomes a 'cancel'.
 */
export class WorkerEngine implements PaliEngine {
  private nextId = 1;
  private readonly listeners = new Map<number, Listener>();
  private disposed = false;
  info!: EngineInfo;

  private constructor(
    private readonly port: MessagePortLike & { terminate?(): void },
    private readonly terminate: boolean,
  ) {
    port.addEventListener('message', (event) => {
      const message = event.data as FromWorker;
      this.listeners.get(message?.id)?.(message);
    });
    port.start?.();
  }

  /** Starts the load in the worker and resolves once the model is ready there. */
  static async load(
    port: MessagePortLike & { terminate?(): void },
    source: ModelSource,
    options: WorkerEngineOptions = {},
  ): Promise<WorkerEngine> {
    const engine = new WorkerEngine(port, options.terminateOnDispose ?? true);
    const { onProgress, signal, terminateOnDispose: _, ...settings } = options;
    const inbox = engine.open();
    const id = inbox.id;
    const onAbort = () => engine.post({ type: 'cancel', id });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw new PaliError(ERROR_CODES.ABORTED, 'The model loading was cancelled');
      engine.post({ type: 'load', id, source, settings: settings as WebLoadSettings });
      for (;;) {
        const m = await inbox.box.next();
        if (m.type === 'progress') onProgress?.(m.event);
        else if (m.type === 'loaded') {
          engine.info = m.info;
          return engine;
        } else if (m.type === 'error') throw fromWireError(m.error);
      }
    } catch (error) {
      if (engine.terminate) port.terminate?.();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      engine.close(id);
    }
  }

  private post(message: ToWorker): void {
    this.port.postMessage(message);
  }

  private open(): { id: number; box: Inbox<FromWorker> } {
    if (this.disposed)
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'This engine was disposed', {
        hint: 'Load it again',
      });
    const id = this.nextId++;
    const box = new Inbox<FromWorker>();
    this.listeners.set(id, (m) => box.push(m));
    return { id, box };
  }

  private close(id: number): void {
    this.listeners.delete(id);
  }

  /** Sends one request and yields its chunks; returns its value. Abort or an early break cancels it. */
  private async *stream<R>(
    make: (id: number) => ToWorker,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<GenerateChunk, R, undefined> {
    const { id, box } = this.open();
    let finished = false;
    const aborted = () =>
      new PaliError(ERROR_CODES.ABORTED, 'The generation was cancelled', { cause: signal?.reason });
    // Cancel in the worker, and wake the reader: chunks already queued are not handed out after an abort.
    const onAbort = () => {
      this.post({ type: 'cancel', id });
      box.push({ type: 'done', id: -1, value: undefined });
    };
    if (signal?.aborted) {
      this.close(id);
      throw aborted();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.post(make(id));
      for (;;) {
        const m = await box.next();
        if (signal?.aborted) {
          finished = true;
          throw aborted();
        }
        if (m.type === 'chunk') yield m.chunk;
        else if (m.type === 'done') {
          finished = true;
          return m.value as R;
        } else if (m.type === 'error') {
          finished = true;
          throw fromWireError(m.error);
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!finished) this.post({ type: 'cancel', id });
      this.close(id);
    }
  }

  private async call<R>(method: CallMethod, args: unknown[], options: GenerationOptions = {}): Promise<R> {
    const { signal, ...rest } = options;
    const it = this.stream<R>(
      (id) => ({ type: 'call', id, method, args, options: rest as Record<string, unknown> }),
      signal,
    );
    for (;;) {
      const next = await it.next();
      if (next.done) return next.value;
    }
  }

  generate(request: GenerateRequest<WebImage>) {
    const { signal, ...rest } = request;
    const image = Array.isArray(rest.image)
      ? (rest.image as readonly WebImage[]).map(portableImage)
      : portableImage(rest.image as WebImage);
    return this.stream<import('@pali/core').GenerateResult[]>(
      (id) => ({ type: 'generate', id, request: { ...rest, image } }),
      signal,
    );
  }

  streamTask(request: TaskRequest) {
    const { signal, ...rest } = request;
    return this.stream<import('./types.js').TaskResult>(
      (id) => ({ type: 'task', id, request: { ...rest, image: portableImage(rest.image) } }),
      signal,
    );
  }

  async run(request: GenerateRequest<WebImage>) {
    const it = this.generate(request);
    for (;;) {
      const next = await it.next();
      if (next.done) return next.value;
    }
  }
  caption(image: WebImage, options?: GenerationOptions & { lang?: string }) {
    return this.call<import('@pali/core').TextResult>('caption', [portableImage(image)], options);
  }
  describe(image: WebImage, options?: GenerationOptions & { lang?: string }) {
    return this.call<import('@pali/core').TextResult>('describe', [portableImage(image)], options);
  }
  ocr(image: WebImage, options?: GenerationOptions) {
    return this.call<import('@pali/core').TextResult>('ocr', [portableImage(image)], options);
  }
  ask(image: WebImage, question: string, options?: GenerationOptions & { lang?: string }) {
    return this.call<import('@pali/core').TextResult>('ask', [portableImage(image), question], options);
  }
  detect(image: WebImage, labels: string | readonly string[], options?: GenerationOptions) {
    return this.call<import('@pali/core').DetectResult>('detect', [portableImage(image), labels], options);
  }
  segment(image: WebImage, labels: string | readonly string[], options?: GenerationOptions) {
    return this.call<import('@pali/core').SegmentResult>('segment', [portableImage(image), labels], options);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    try {
      const it = this.stream<void>((id) => ({ type: 'dispose', id }), undefined);
      for (;;) if ((await it.next()).done) break;
    } finally {
      this.disposed = true;
      if (this.terminate) this.port.terminate?.();
    }
  }
}

/** Loads a model in `worker` (a Worker running `@pali/web/worker`) and gives its engine. */
export function createWorkerEngine(
  worker: MessagePortLike & { terminate?(): void },
  source: ModelSource,
  options: WorkerEngineOptions = {},
): Promise<PaliEngine> {
  return WorkerEngine.load(worker, source, options);
}
