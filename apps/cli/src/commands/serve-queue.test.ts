import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { fixtureImagePath, fixtureModelDir } from '@pali/fixtures';
import { hasRedisServer, startRedis } from '@pali/serve/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../exit-codes.js';
import { runCli } from '../run.js';
import { bufferIO } from '../test-io.js';

const work = mkdtempSync(join(tmpdir(), 'pali-cli-serve-'));
const model = join(work, 'tiny-3b');
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await convertCheckpoint(fixtureModelDir('tiny-3b'), model);
});
const image = fixtureImagePath('rgb-37x23');

/** Starts a long-running command; stop() sends it SIGTERM through its own listener only. */
function background(args: string[]) {
  const io = bufferIO({ cwd: work });
  const before = new Set(process.listeners('SIGTERM'));
  const status = runCli(args, io);
  return {
    io,
    status,
    stop: () => {
      for (const l of process.listeners('SIGTERM')) if (!before.has(l)) (l as (s: string) => void)('SIGTERM');
    },
  };
}

async function until<T>(get: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('pali serve', () => {
  it('listens, answers a chat request and /health, and stops on SIGTERM', async () => {
    const run = background([
      'serve',
      '--model',
      model,
      '--port',
      '0',
      '--concurrency',
      '2',
      '--api-key',
      'k',
    ]);
    const url = await until(() => /on (http:\/\/[\d.:]+)/.exec(run.io.err())?.[1]);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: JSON.stringify({
        max_tokens: 4,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'caption en' },
              {
                type: 'image_url',
                image_url: { url: `data:image/png;base64,${readFileSync(image).toString('base64')}` },
              },
            ],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
    run.stop();
    expect(await run.status).toBe(EXIT.OK);
  });
});

const haveRedis = hasRedisServer();
(haveRedis ? describe : describe.skip)(
  haveRedis
    ? 'pali batch + pali worker on redis-server'
    : 'pali batch + pali worker (skipped: redis-server is not installed)',
  () => {
    it('a worker runs the jobs of a batch; the batch writes one JSONL line per input and reports failures', async () => {
      const redis = await startRedis();
      try {
        const inputs = [0, 1, 2].map((i) => {
          const p = join(work, `in-${i}.png`);
          copyFileSync(image, p);
          return p;
        });
        const worker = background(['worker', '--queue', redis.url, '--model', model]);
        await until(() => (worker.io.err().includes('on queue') ? true : undefined));
        const io = bufferIO({ cwd: work });
        const status = await runCli(
          [
            'batch',
            '--queue',
            redis.url,
            '--max-new-tokens',
            '4',
            '--out',
            'out.jsonl',
            ...inputs,
            'missing.png',
          ],
          io,
        );
        expect(status).toBe(EXIT.FAILURE);
        expect(io.err()).toMatch(/3 done, 1 failed of 4/);
        const lines = readFileSync(join(work, 'out.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(lines).toHaveLength(4);
        expect(new Set(lines.map((l) => l.input))).toEqual(new Set([...inputs, join(work, 'missing.png')]));
        expect(lines.find((l) => l.input.endsWith('missing.png')).error.code).toBe('NOT_FOUND');
        worker.stop();
        expect(await worker.status).toBe(EXIT.OK);
        const usage = await runCli(
          ['batch', '--queue', redis.url, '--task', 'ask', image],
          bufferIO({ cwd: work }),
        );
        expect(usage).toBe(EXIT.USAGE);
      } finally {
        await redis.stop();
      }
    });
  },
);
