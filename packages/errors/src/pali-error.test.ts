import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isPaliError, PaliError, throwIfAborted } from './index.js';

describe('PaliError', () => {
  it('carries a stable code, a hint in the message and structured details', () => {
    const e = new PaliError(ERROR_CODES.NOT_FOUND, 'No config.json in /m', {
      hint: 'Point --model at a model folder',
      details: { path: '/m/config.json' },
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe('No config.json in /m. Point --model at a model folder');
    expect(e.toJSON()).toEqual({
      name: 'PaliError',
      code: 'NOT_FOUND',
      message: e.message,
      details: { path: '/m/config.json' },
    });
  });

  it('is recognised after crossing a structured-clone boundary', () => {
    const cloned = structuredClone(new PaliError(ERROR_CODES.ABORTED, 'x').toJSON());
    expect(isPaliError(cloned)).toBe(true);
    expect(isPaliError(cloned, 'ABORTED')).toBe(true);
    expect(isPaliError(cloned, 'NOT_FOUND')).toBe(false);
    expect(isPaliError(new Error('plain'))).toBe(false);
    expect(isPaliError(null)).toBe(false);
  });

  it('turns an aborted signal into ABORTED', () => {
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal)).not.toThrow();
    controller.abort(new Error('user'));
    expect(() => throwIfAborted(controller.signal, 'generation')).toThrowError(/generation was cancelled/);
  });
});
