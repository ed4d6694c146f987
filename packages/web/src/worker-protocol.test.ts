import { MessageChannel } from 'node:worker_threads';
import type { GenerateChunk, GenerateRequest, GenerateResult } from '@pali/core';
import { ERROR_CODES, isPaliError, PaliError, throwIfAborted } from '@pali/errors';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessagePortLike } from './protocol.js';
import type { EngineInfo, PaliEngine, TaskRequest, TaskResult, WebImage } from './types.js';
import { WorkerEngine } from './worker-engine.js';
import { serveEngine } from './worker-server.js';

const INFO: EngineInfo = {
  backend: 'wasm',
  runtime: 'fake',
  threads: 1,
  source: 'fake',
  dtypes: { vision_encoder: 'fp32', embed_tokens: 'fp32', decoder_model_merged: 'q4' },
  imageSize: 224,
  hasMaskDecoder: false,
};

const tick = () => new Promise((r) => setTimeout(r, 5));

/** An engine whose generate streams one token per tick until maxNewTokens or its signal aborts. */
class FakeEngine implements Partial<PaliEngine> {
  readonly info = INFO;
  lastSignal: AbortSignal | undefined;
  disposed = false;
  async *generate(
    request: GenerateRequest<WebImage>,
  ): AsyncGenerator<GenerateChunk, GenerateResult[], undefined> {
    this.lastSignal = request.signal;
    if (request.prompt === 'too long')
      throw new PaliError(ERROR_CODES.PROMPT_TOO_LONG, 'The prompt has 9 tokens, the context 4', {
        hint: 'Shorten it',
        details: { tokens: 9, limit: 4, bytes: new Uint8Array([1, 2]) },
      });
    if (request.prompt === 'bug') throw new TypeError('x is undefined');
    const n = request.maxNewTokens ?? 3;
    const tokens: number[] = [];
    for (let i = 0; i < n; i++) {
      await tick();
      throwIfAborted(request.signal, 'generation');
      tokens.push(100 + i);
      yield { row: 0, token: 100 + i, text: `t${i} `, index: i };
    }
    return [
      { text: tokens.map((_, i) => `t${i} `).join(''), tokens, promptTokens: [2], finishReason: 'length' },
    ];
  }
  async *streamTask(request: TaskRequest): AsyncGenerator<GenerateChunk, TaskResult, undefined> {
    const [r] = yield* this.generate({ image: request.image, prompt: 'x', maxNewTokens: 2 });
    return { task: request.task, prompt: 'x', text: r!.text.trim(), tokens: r!.tokens, width: 4, height: 3 };
  }
  async caption(image: WebImage, options: { lang?: string; signal?: AbortSignal } = {}) {
    this.lastSignal = options.signal;
    return {
      text: `caption ${options.lang} of ${typeof image === 'string' ? image : 'pixels'}`,
      tokens: [1],
    };
  }
  async dispose() {
    this.disposed = true;
  }
}

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

async function pair(load?: () => Promise<PaliEngine>) {
  const channel = new MessageChannel();
  channels.push(channel);
  const fake = new FakeEngine();
  serveEngine(channel.port1 as unknown as MessagePortLike, async (_source, options) => {
    options.onProgress?.({ stage: 'backend', backend: 'wasm', reason: 'test' });
    return load ? load() : (fake as unknown as PaliEngine);
  });
  return { fake, port: channel.port2 as unknown as MessagePortLike };
}

describe('the worker message protocol (MessageChannel in Node, the same code as in a Worker)', () => {
  it('loads with progress, streams chunks, returns results and forwards task calls', async () => {
    const { fake, port } = await pair();
    const progress: string[] = [];
    const engine = await WorkerEngine.load(port, 'org/model', { onProgress: (e) => progress.push(e.stage) });
    expect(progress).toEqual(['backend']);
    expect(engine.info).toEqual(INFO);
    const chunks: string[] = [];
    const it = engine.generate({ image: 'http://x/a.png', prompt: 'caption en', maxNewTokens: 4 });
    let next = await it.next();
    while (!next.done) {
      chunks.push(next.value.text);
      next = await it.next();
    }
    expect(chunks).toEqual(['t0 ', 't1 ', 't2 ', 't3 ']);
    expect(next.value[0]!.tokens).toEqual([100, 101, 102, 103]);
    expect(await engine.caption('http://x/a.png', { lang: 'de' })).toEqual({
      text: 'caption de of http://x/a.png',
      tokens: [1],
    });
    expect(fake.lastSignal).toBeInstanceOf(AbortSignal);
    const task = engine.streamTask({ task: 'caption', image: 'http://x/a.png' });
    let t = await task.next();
    while (!t.done) t = await task.next();
    expect(t.value).toMatchObject({ task: 'caption', text: 't0 t1', width: 4 });
    await engine.dispose();
    expect(fake.disposed).toBe(true);
    await expect(engine.caption('http://x/a.png')).rejects.toSatisfy((e) =>
      isPaliError(e, 'INVALID_ARGUMENT'),
    );
  });

  it('keeps the PaliError code, hint and details across the boundary; other errors become INTERNAL', async () => {
    const { port } = await pair();
    const engine = await WorkerEngine.load(port, 'org/model');
    const error = await engine.run({ image: 'http://x/a.png', prompt: 'too long' }).catch((e: unknown) => e);
    expect(isPaliError(error, 'PROMPT_TOO_LONG')).toBe(true);
    expect(error).toBeInstanceOf(PaliError);
    expect((error as PaliError).hint).toBe('Shorten it');
    expect((error as PaliError).message).toBe('The prompt has 9 tokens, the context 4. Shorten it');
    expect((error as PaliError).details).toMatchObject({
      tokens: 9,
      limit: 4,
      bytes: new Uint8Array([1, 2]),
    });
    const bug = await engine.run({ image: 'http://x/a.png', prompt: 'bug' }).catch((e: unknown) => e);
    expect(isPaliError(bug, 'INTERNAL')).toBe(true);
    expect((bug as Error).message).toMatch(/TypeError in the worker: x is undefined/);
  });

  it('a failed load rejects with its code', async () => {
    const { port } = await pair(async () => {
      throw new PaliError(ERROR_CODES.NOT_FOUND, 'http://x/model/ has no config.json', {
        hint: 'Check the URL',
      });
    });
    await expect(WorkerEngine.load(port, 'http://x/model/')).rejects.toSatisfy(
      (e) => isPaliError(e, 'NOT_FOUND') && (e as PaliError).hint === 'Check the URL',
    );
  });

  it('an AbortSignal cancels the generation in the worker with ABORTED', async () => {
    const { fake, port } = await pair();
    const engine = await WorkerEngine.load(port, 'org/model');
    const controller = new AbortController();
    let seen = 0;
    await expect(async () => {
      for await (const chunk of engine.generate({
        image: 'http://x/a.png',
        prompt: 'caption en',
        maxNewTokens: 50,
        signal: controller.signal,
      })) {
        seen++;
        if (chunk.index === 1) controller.abort();
      }
    }).rejects.toSatisfy((e) => isPaliError(e, 'ABORTED'));
    expect(seen).toBe(2);
    // The page stops at once; the 'cancel' message reaches the worker's request just after.
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.lastSignal?.aborted).toBe(true);
  });

  it('breaking out of the stream cancels the request in the worker', async () => {
    const { fake, port } = await pair();
    const engine = await WorkerEngine.load(port, 'org/model');
    for await (const chunk of engine.generate({
      image: 'http://x/a.png',
      prompt: 'caption en',
      maxNewTokens: 50,
    })) {
      if (chunk.index === 0) break;
    }
    await new Promise((r) => setTimeout(r, 30));
    expect(fake.lastSignal?.aborted).toBe(true);
    // The engine still answers afterwards.
    expect((await engine.run({ image: 'http://x/a.png', prompt: 'p', maxNewTokens: 1 }))[0]!.tokens).toEqual([
      100,
    ]);
  });
});
