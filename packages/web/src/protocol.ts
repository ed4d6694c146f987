import type { GenerateChunk, GenerateRequest } from '@pali/core';
import { ERROR_CODES, type ErrorCode, isPaliError, PaliError } from '@pali/errors';
import type {
  EngineInfo,
  LoadProgress,
  ModelSource,
  TaskRequest,
  WebImage,
  WebLoadSettings,
} from './types.js';

/** The engine methods that answer once (no stream). */
export type CallMethod = 'run' | 'caption' | 'describe' | 'ocr' | 'ask' | 'detect' | 'segment';

/** Page → worker. Every request has an id; its answers carry the same id. */
export type ToWorker =
  | { type: 'load'; id: number; source: ModelSource; settings: WebLoadSettings }
  | { type: 'generate'; id: number; request: Omit<GenerateRequest<WebImage>, 'signal'> }
  | { type: 'task'; id: number; request: Omit<TaskRequest, 'signal'> }
  | { type: 'call'; id: number; method: CallMethod; args: unknown[]; options: Record<string, unknown> }
  | { type: 'cancel'; id: number }
  | { type: 'dispose'; id: number };

/** Worker → page. */
export type FromWorker =
  | { type: 'progress'; id: number; event: LoadProgress }
  | { type: 'loaded'; id: number; info: EngineInfo }
  | { type: 'chunk'; id: number; chunk: GenerateChunk }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'error'; id: number; error: WireError };

/** A PaliError as plain data: the code, hint and details survive the structured clone. */
export interface WireError {
  name: string;
  code: ErrorCode;
  /** The message without the hint (the PaliError constructor appends it again). */
  message: string;
  hint?: string;
  details: Record<string, unknown>;
}

/** The part of a Worker, a worker's global scope or a MessagePort that the protocol uses. */
export interface MessagePortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener?(type: 'message', listener: (event: { data: unknown }) => void): void;
  start?(): void;
}

function cloneable(details: Record<string, unknown>): Record<string, unknown> {
  try {
    structuredClone(details);
    return details;
  } catch {
    return JSON.parse(JSON.stringify(details, (_k, v) => (typeof v === 'bigint' ? String(v) : v))) as Record<
      string,
      unknown
    >;
  }
}

export function toWireError(error: unknown): WireError {
  if (isPaliError(error)) {
    const hint = error.hint;
    const message =
      hint && error.message.endsWith(`. ${hint}`) ? error.message.slice(0, -hint.length - 2) : error.message;
    return {
      name: 'PaliError',
      code: error.code,
      message,
      ...(hint ? { hint } : {}),
      details: cloneable(error.details ?? {}),
    };
  }
  const e = error as { name?: string; message?: string } | undefined;
  return {
    name: 'PaliError',
    code: ERROR_CODES.INTERNAL,
    message: `${e?.name ?? 'Error'} in the worker: ${e?.message ?? String(error)}`,
    hint: 'This is a bug: please report it with the browser and the model',
    details: {},
  };
}

/** The PaliError again, on the page's side. */
export function fromWireError(wire: WireError): PaliError {
  return new PaliError(wire.code, wire.message, {
    ...(wire.hint ? { hint: wire.hint } : {}),
    details: { ...wire.details, fromWorker: true },
  });
}

/** A URL object or a relative URL means nothing in the worker: send an absolute URL string. */
export function portableImage(image: WebImage): WebImage {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  if (image instanceof URL) return image.href;
  if (typeof image === 'string' && base) return new URL(image, base).href;
  return image;
}
