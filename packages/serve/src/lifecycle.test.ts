import type { GenerateChunk, GenerateRequest, GenerateResult } from '@pali/core';
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { RgbImage } from '@pali/image';
import { afterEach, describe, expect, it } from 'vitest';
import { Limiter, QueueFullError } from './limiter.js';
import type { ServedModel } from './options.js';
import { createServer, type PaliServer } from './server.js';

/** A model whose tokens come slowly (one per 20 ms), to watch cancellation and shutdown. */
function slowModel() {
  const state = { started: 0, finished: 0, aborted: 0 };
  const model = {
    async *generate(
      request: GenerateRequest<RgbImage>,
    ): AsyncGenerator<GenerateChunk, GenerateResult[], undefined> {
      state.started++;
      const tokens: number[] = [];
      try {
        for (let i = 0; i < (request.maxNewTokens ?? 64); i++) {
          await new Promise((r) => setTimeout(r, 20));
          if (request.signal?.aborted)
            throw new PaliError(ERROR_CODES.ABORTED, 'The generation was cancelled');
          tokens.push(i);
          yield { row: 0, token: i, text: ` t${i}`, index: i };
        }
      } catch (error) {
        state.aborted++;
        throw error;
      }
      state.finished++;
      return [
        { text: tokens.map((t) => ` t${t}`).join(''), tokens, promptTokens: [1, 2], finishReason: 'length' },
      ];
    },
  } as unknown as ServedModel;
  return { model, state };
}

// A 1×1 PNG.
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
const body = (maxTokens: number, stream = false) =>
  JSON.stringify({
    stream,
    max_tokens: maxTokens,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'caption en' },
          { type: 'image_url', image_url: { url: PNG } },
        ],
      },
    ],
  });

let server: PaliServer | undefined;
afterEach(async () => {
  await server?.close(0);
  server = undefined;
});

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Limiter', () => {
  it('runs at most `concurrency`, queues at most `maxQueue`, refuses the rest, and drops aborted waiters', async () => {
    const limiter = new Limiter({ concurrency: 2, maxQueue: 1, retryAfterSeconds: 3 });
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const task = () =>
      new Promise<void>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        gates.push(() => {
          running--;
          resolve();
        });
      });
    const a = limiter.run(task);
    const b = limiter.run(task);
    const c = limiter.run(task);
    await expect(limiter.run(task)).rejects.toBeInstanceOf(QueueFullError);
    const controller = new AbortController();
    expect(limiter.queued).toBe(1);
    await until(() => gates.length === 2);
    gates.shift()!();
    await a;
    await until(() => gates.length === 2);
    expect(limiter.queued).toBe(0);
    const d = limiter.run(task, controller.signal);
    controller.abort();
    await expect(d).rejects.toMatchObject({ code: 'ABORTED' });
    expect(limiter.queued).toBe(0);
    for (const g of gates.splice(0)) g();
    await Promise.all([b, c]);
    expect(peak).toBe(2);
    expect(limiter.running).toBe(0);
  });
});

describe('server lifecycle with a slow model', () => {
  it('a client that disconnects cancels its generation (streaming and not)', async () => {
    const { model, state } = slowModel();
    server = createServer(model, { concurrency: 2 });
    const { url } = await server.listen(0);
    for (const stream of [true, false]) {
      const controller = new AbortController();
      const res = fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(500, stream),
        signal: controller.signal,
      });
      if (stream) {
        const reader = (await res).body!.getReader();
        await reader.read();
      } else {
        res.catch(() => {});
        await until(() => state.started === 2);
      }
      controller.abort();
      const aborted = state.aborted;
      await until(() => state.aborted === aborted + 1);
      await until(() => server!.limiter.running === 0);
    }
    expect(state.finished).toBe(0);
  });

  it('graceful close finishes running work, answers queued requests 503, then refuses connections', async () => {
    const { model, state } = slowModel();
    server = createServer(model, { concurrency: 1, maxQueue: 4 });
    const { url } = await server.listen(0);
    const send = () =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(10),
      });
    const running = send();
    await until(() => state.started === 1);
    const queued = send();
    await until(() => server!.limiter.queued === 1);
    const closed = server.close(5000);
    const [r1, r2] = await Promise.all([running, queued]);
    expect(r1.status).toBe(200);
    expect(((await r1.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(10);
    expect(r2.status).toBe(503);
    expect(((await r2.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
    await closed;
    await expect(send()).rejects.toThrow();
    server = undefined;
  });

  it('close with a short grace cancels what still runs', async () => {
    const { model, state } = slowModel();
    server = createServer(model, { concurrency: 1 });
    const { url } = await server.listen(0);
    const res = fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(1000, true),
    });
    const reader = (await res).body!.getReader();
    await reader.read();
    const t0 = Date.now();
    await server.close(50);
    server = undefined;
    expect(Date.now() - t0).toBeLessThan(3000);
    await until(() => state.aborted === 1);
    expect(state.finished).toBe(0);
  });
});
