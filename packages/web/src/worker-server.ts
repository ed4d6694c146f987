import { ERROR_CODES, PaliError } from '@pali/errors';
import {
  type CallMethod,
  type FromWorker,
  type MessagePortLike,
  type ToWorker,
  toWireError,
} from './protocol.js';
import type { ModelSource, PaliEngine, WebLoadOptions } from './types.js';

export type EngineLoader = (source: ModelSource, options: WebLoadOptions) => Promise<PaliEngine>;

const METHODS: ReadonlySet<CallMethod> = new Set([
  'run',
  'caption',
  'describe',
  'ocr',
  'ask',
  'detect',
  'segment',
]);

/**
 * Answers the engine protocol on `port` (a worker's global scope, or a MessagePort in tests): one
 * engine per port, one AbortController per request so that a 'cancel' message stops that request.
 */
export function serveEngine(port: MessagePortLike, load: EngineLoader): void {
  let engine: PaliEngine | undefined;
  const running = new Map<number, AbortController>();
  const send = (message: FromWorker) => port.postMessage(message);
  const needEngine = (): PaliEngine => {
    if (!engine)
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'No model is loaded in the worker', {
        hint: 'Load one first (createWorkerEngine does)',
      });
    return engine;
  };

  async function handle(message: ToWorker, signal: AbortSignal): Promise<unknown> {
    switch (message.type) {
      case 'load': {
        if (engine) await engine.dispose();
        engine = undefined;
        engine = await load(message.source, {
          ...message.settings,
          signal,
          onProgress: (event) => send({ type: 'progress', id: message.id, event }),
        });
        send({ type: 'loaded', id: message.id, info: engine.info });
        return undefined;
      }
      case 'generate': {
        const it = needEngine().generate({ ...message.request, signal });
        for (;;) {
          const next = await it.next();
          if (next.done) return next.value;
          send({ type: 'chunk', id: message.id, chunk: next.value });
        }
      }
      case 'task': {
        const it = needEngine().streamTask({ ...message.request, signal });
        for (;;) {
          const next = await it.next();
          if (next.done) return next.value;
          send({ type: 'chunk', id: message.id, chunk: next.value });
        }
      }
      case 'call': {
        if (!METHODS.has(message.method))
          throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Unknown engine method ${message.method}`);
        // The options object always comes last, with the worker's own signal.
        const args = [...message.args, { ...message.options, signal }];
        const fn = needEngine()[message.method] as (...a: unknown[]) => Promise<unknown>;
        return fn.apply(engine, args);
      }
      case 'dispose': {
        for (const c of running.values()) c.abort();
        await engine?.dispose();
        engine = undefined;
        return undefined;
      }
      default:
        throw new PaliError(
          ERROR_CODES.INVALID_ARGUMENT,
          `Unknown message ${(message as { type: string }).type}`,
        );
    }
  }

  port.addEventListener('message', (event) => {
    const message = event.data as ToWorker;
    if (message?.type === 'cancel') {
      running.get(message.id)?.abort(new PaliError(ERROR_CODES.ABORTED, 'Cancelled by the page'));
      return;
    }
    const controller = new AbortController();
    running.set(message.id, controller);
    handle(message, controller.signal)
      .then(
        (value) => {
          if (message.type !== 'load') send({ type: 'done', id: message.id, value });
        },
        (error: unknown) => send({ type: 'error', id: message.id, error: toWireError(error) }),
      )
      .finally(() => running.delete(message.id));
  });
  port.start?.();
}
