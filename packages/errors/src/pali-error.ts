/**
 * Every failure a user can cause or meet (bad input, missing files, a model that does not fit)
 * surfaces as a PaliError: a stable `code` that scripts can match on, and a message that says what
 * happened and what to do about it.
 */
export const ERROR_CODES = {
  /** A command-line or API argument is missing, malformed or out of range. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A file or folder that was asked for does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** A file exists but its contents are not what its format requires. */
  CORRUPT_FILE: 'CORRUPT_FILE',
  /** A data type the operation does not support. */
  UNSUPPORTED_DTYPE: 'UNSUPPORTED_DTYPE',
  /** A format or feature that is recognised but not supported. */
  UNSUPPORTED: 'UNSUPPORTED',
  /** Tensors or configs that disagree with each other (shapes, names, sizes). */
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  /** An ONNX graph that is wrong at build time (unknown input, duplicate name, dtype clash). */
  GRAPH_ERROR: 'GRAPH_ERROR',
  /** An input larger than the configured limit (pixels, prompt tokens, body size). */
  TOO_LARGE: 'TOO_LARGE',
  /** The prompt does not fit in the model's context. */
  PROMPT_TOO_LONG: 'PROMPT_TOO_LONG',
  /** The operation was cancelled through an AbortSignal. */
  ABORTED: 'ABORTED',
  /** The runtime (ONNX Runtime, an execution provider, a native module) failed or is missing. */
  RUNTIME_ERROR: 'RUNTIME_ERROR',
  /** A network request failed, or the network was needed in offline mode. */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** A bug in this library: please report it. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface PaliErrorOptions {
  /** What the user can do about it; appended to the message. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
  /** Structured facts for programs (a file path, a tensor name, a limit). */
  details?: Record<string, unknown>;
}

export class PaliError extends Error {
  override readonly name = 'PaliError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: PaliErrorOptions = {}) {
    super(options.hint ? `${message}. ${options.hint}` : message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  /** The plain-object form sent across worker and HTTP boundaries. */
  toJSON(): { name: string; code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True for a PaliError, also one that crossed a realm (worker, vm) and lost its prototype. */
export function isPaliError(error: unknown, code?: ErrorCode): error is PaliError {
  if (error instanceof PaliError) return code === undefined || error.code === code;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; code?: unknown };
  return e.name === 'PaliError' && typeof e.code === 'string' && (code === undefined || e.code === code);
}

/** Turns an AbortSignal's abort into a typed error; call at every await point of long work. */
export function throwIfAborted(signal: AbortSignal | undefined, what = 'operation'): void {
  if (signal?.aborted) {
    throw new PaliError(ERROR_CODES.ABORTED, `The ${what} was cancelled`, { cause: signal.reason });
  }
}
