export type { ErrorCode, PaliErrorOptions } from './pali-error.js';
export { ERROR_CODES, isPaliError, PaliError, throwIfAborted } from './pali-error.js';
