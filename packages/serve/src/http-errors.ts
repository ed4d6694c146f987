import { type ErrorCode, isPaliError } from '@pali/errors';
import { LimiterClosedError, QueueFullError } from './limiter.js';

/** An error the server answers with a status and an OpenAI-style JSON body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, param: string | null = null, code = 'invalid_request') =>
  new HttpError(400, message, 'invalid_request_error', code, param);

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 400,
  CORRUPT_FILE: 400,
  UNSUPPORTED: 415,
  TOO_LARGE: 413,
  PROMPT_TOO_LONG: 400,
  NETWORK_ERROR: 400,
  ABORTED: 499,
};

/** Maps any thrown value to an HttpError: typed errors keep their meaning, the rest is a 500. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof QueueFullError) {
    return new HttpError(429, error.message, 'rate_limit_error', 'queue_full', null, {
      'retry-after': String(error.retryAfterSeconds),
    });
  }
  if (error instanceof LimiterClosedError) {
    return new HttpError(503, error.message, 'server_error', 'shutting_down', null, { 'retry-after': '1' });
  }
  if (isPaliError(error)) {
    const status = STATUS[error.code] ?? 500;
    return new HttpError(
      status,
      error.message,
      status >= 500 ? 'server_error' : 'invalid_request_error',
      error.code.toLowerCase(),
    );
  }
  return new HttpError(500, 'Internal server error', 'server_error', 'internal');
}

export function errorBody(error: HttpError): {
  error: { message: string; type: string; code: string | null; param: string | null };
} {
  return { error: { message: error.message, type: error.type, code: error.code, param: error.param } };
}
