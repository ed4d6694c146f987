import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPaliGemma, type PaliGemma } from '@pali/node';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureImage, tinyModel } from '../test-support/model.js';
import { hasRedisServer, startRedis } from '../testing/redis.js';
import { type BatchJobData, type BatchLine, jobId, redisConnection } from './jobs.js';
import { submitBatch } from './submit.js';
import { startBatchWorker } from './worker.js';

const haveRedis = hasRedisServer();
const suite = haveRedis ? describe : describe.skip;
const title = haveRedis
  ? 'batch jobs on BullMQ over a real redis-server'
  : 'batch jobs on BullMQ (skipped: redis-server is not installed)';

let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
let pg: PaliGemma;
let model = '';
let dir = '';
let cleanup = () => {};

beforeAll(async () => {
  if (!haveRedis) return;
  redis = await startRedis();
  const tiny = await tinyModel();
  ({ model, dir, cleanup } = tiny);
  pg = await loadPaliGemma(model, { threads: 1 });
});
afterAll(async () => {
  await pg?.dispose();
  await redis?.stop();
  cleanup();
});

function inputs(name: string, n: number): string[] {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const source = fixtureImage('rgb-37x23');
  return Array.from({ length: n }, (_, i) => {
    const path = join(folder, `img-${String(i).padStart(4, '0')}.png`);
    copyFileSync(source, path);
    return path;
  });
}

suite(title, () => {
  it('captions over files: one line per input, equal to the SDK; resubmitting gives the stored lines without new jobs', async () => {
    const files = inputs('small', 6);
    const worker = await startBatchWorker(pg, { redisUrl: redis!.url, queueName: 'small' });
    const jobs: BatchJobData[] = files.map((input) => ({ input, task: 'caption', maxNewTokens: 6 }));
    const lines: BatchLine[] = [];
    const progress: number[] = [];
    const result = await submitBatch({
      redisUrl: redis!.url,
      queueName: 'small',
      jobs,
      onLine: (l) => {
        lines.push(l);
      },
      onProgress: (p) => progress.push(p.done),
      timeoutMs: 30_000,
    });
    expect(result).toEqual({ total: 6, done: 6, failed: 0 });
    expect(progress.at(-1)).toBe(6);
    expect(new Set(lines.map((l) => l.input))).toEqual(new Set(files));
    const sdk = await pg.caption(files[0]!, { maxNewTokens: 6 });
    for (const l of lines) expect(l.ok && l.result).toEqual(sdk);
    await worker.close();
    // No worker now: the stored results come back at once.
    const again: BatchLine[] = [];
    await submitBatch({
      redisUrl: redis!.url,
      queueName: 'small',
      jobs,
      onLine: (l) => void again.push(l),
      timeoutMs: 5000,
    });
    expect(again.map((l) => l.id).sort()).toEqual(lines.map((l) => l.id).sort());
  });

  it('retries with backoff, and a job that keeps failing lands in the failed set with its error', async () => {
    // A loopback server that fails the first two fetches of the flaky image.
    const png = (await import('node:fs')).readFileSync(fixtureImage('rgb-37x23'));
    let hits = 0;
    const server: Server = createHttpServer((req, res) => {
      if (req.url === '/flaky.png' && ++hits <= 2) res.writeHead(503).end();
      else if (req.url === '/flaky.png') res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      else res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const worker = await startBatchWorker(pg, { redisUrl: redis!.url, queueName: 'flaky' });
    const jobs: BatchJobData[] = [
      { input: `${base}/flaky.png`, task: 'caption', maxNewTokens: 4 },
      { input: `${base}/broken.png`, task: 'caption', maxNewTokens: 4 },
      { input: join(dir, 'no-such-file.png'), task: 'detect', objects: ['cat'] },
      { input: fixtureImage('rgb-37x23'), task: 'ask', question: 'what is this?', maxNewTokens: 4 },
    ];
    const lines: BatchLine[] = [];
    const t0 = Date.now();
    const result = await submitBatch({
      redisUrl: redis!.url,
      queueName: 'flaky',
      jobs,
      attempts: 3,
      backoffMs: 100,
      onLine: (l) => void lines.push(l),
      timeoutMs: 30_000,
    });
    await worker.close();
    server.close();
    expect(result).toEqual({ total: 4, done: 2, failed: 2 });
    const byInput = new Map(lines.map((l) => [l.input, l]));
    expect(byInput.get(`${base}/flaky.png`)?.ok).toBe(true);
    expect(hits).toBe(3);
    // Two retries with exponential backoff: 100 ms then 200 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    const broken = byInput.get(`${base}/broken.png`)!;
    expect(broken.ok === false && broken.error.code).toBe('NETWORK_ERROR');
    const missing = byInput.get(join(dir, 'no-such-file.png'))!;
    expect(missing.ok === false && missing.error.code).toBe('NOT_FOUND');
    const connection = redisConnection(redis!.url);
    const queue = new Queue('flaky', { connection });
    const failed = await queue.getFailed();
    const reasons = new Map(failed.map((j) => [j.id, j]));
    expect(reasons.get(jobId(jobs[1]!))?.attemptsMade).toBe(3);
    expect(reasons.get(jobId(jobs[1]!))?.failedReason).toMatch(/answered 500/);
    expect(reasons.get(jobId(jobs[2]!))?.failedReason).toMatch(/No image file/);
    expect(reasons.get(jobId(jobs[2]!))?.attemptsMade).toBe(1);
    await queue.close();
    connection.disconnect();
  });

  it('a worker killed mid-batch (two workers, 200 jobs): every input has exactly one result', async () => {
    const files = inputs('kill', 200);
    const script = fileURLToPath(new URL('../test-support/worker-process.ts', import.meta.url));
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const spawnWorker = () => {
      // One node process (tsx as a loader, not its wrapper CLI), so SIGKILL reaches the worker itself.
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--conditions=source', script, redis!.url, 'kill', model],
        {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr!.on('data', (d: Buffer) => {
        out += d.toString();
      });
      return { child, out: () => out, jobs: () => (out.match(/^job /gm) ?? []).length };
    };
    const workers = [spawnWorker(), spawnWorker()];
    const children: ChildProcess[] = workers.map((w) => w.child);
    try {
      const deadline = Date.now() + 40_000;
      while (!workers.every((w) => w.out().includes('ready'))) {
        if (Date.now() > deadline)
          throw new Error(`workers did not start: ${workers.map((w) => w.out()).join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const lines: BatchLine[] = [];
      let killedAt = -1;
      let linesAtKill = -1;
      let victim = -1;
      const result = await submitBatch({
        redisUrl: redis!.url,
        queueName: 'kill',
        jobs: files.map((input) => ({ input, task: 'caption', maxNewTokens: 24 })),
        pollMs: 50,
        onLine: (l) => void lines.push(l),
        onProgress: (p) => {
          // Kill the first worker that has done a few jobs, hard, while the batch is far from done.
          const busy = workers.findIndex((w) => w.jobs() >= 5);
          if (killedAt < 0 && busy >= 0 && p.done < 150) {
            killedAt = p.done;
            linesAtKill = lines.length;
            victim = busy;
            workers[busy]!.child.kill('SIGKILL');
          }
        },
        timeoutMs: 60_000,
      });
      expect(killedAt).toBeGreaterThanOrEqual(0);
      expect(killedAt).toBeLessThan(150);
      expect(linesAtKill).toBeLessThan(150);
      expect(result).toEqual({ total: 200, done: 200, failed: 0 });
      expect(lines).toHaveLength(200);
      const counts = new Map<string, number>();
      for (const l of lines) counts.set(l.input, (counts.get(l.input) ?? 0) + 1);
      expect(counts.size).toBe(200);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(new Set(counts.keys())).toEqual(new Set(files));
      // The job the killed worker held was found stalled by the survivor and run again.
      expect(workers[1 - victim]!.out()).toMatch(/^stalled /m);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }, 90_000);
});
