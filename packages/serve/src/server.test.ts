import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fixturePath, goldenCases, readFixtureJson } from '@pali/fixtures';
import { loadPaliGemma, type PaliGemma } from '@pali/node';
import OpenAI from 'openai';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type PaliServer } from './server.js';
import { dataUrl, fixtureImage, tinyModel } from './test-support/model.js';

let pg: PaliGemma;
let cleanup = () => {};
const servers: PaliServer[] = [];

beforeAll(async () => {
  const tiny = await tinyModel();
  cleanup = tiny.cleanup;
  pg = await loadPaliGemma(tiny.model, { vae: fixturePath('vqvae/vae-tiny.npz'), convertedDir: tiny.dir });
});
afterAll(async () => {
  for (const s of servers) await s.close(100);
  await pg?.dispose();
  cleanup();
});

async function start(options: Parameters<typeof createServer>[1] = {}) {
  const server = createServer(pg, { modelName: 'tiny', ...options });
  servers.push(server);
  const { url } = await server.listen(0);
  return { server, url };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** Announces a big body and sends only its start: the server must answer 413 without reading it all. */
function oversized(url: string, length: number, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(length), ...headers },
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve(new Response(Buffer.concat(parts), { status: res.statusCode ?? 0, headers: h }));
        req.destroy();
      });
    });
    req.on('error', (e) => {
      if (!req.destroyed) reject(e);
    });
    req.write('{"messages": "');
  });
}

const chatBody = (image: string, prompt: string, extra: Record<string, unknown> = {}) => ({
  model: 'tiny',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: prompt },
        { type: 'image_url', image_url: { url: image } },
      ],
    },
  ],
  ...extra,
});

describe('POST /v1/chat/completions on the tiny fixture model', () => {
  const c = goldenCases('tiny-3b').find((x) => x.case === 'caption')!;
  const eos = readFixtureJson<{ eos_token_id: number | number[] }>(
    'models/tiny-3b/generation_config.json',
  ).eos_token_id;

  it('answers as OpenAI does, with HF greedy tokens, and streams the same text through the openai client', async () => {
    const { url } = await start({ concurrency: 2 });
    const image = dataUrl(fixtureImage(c.images[0]!));
    const res = await post(`${url}/v1/chat/completions`, chatBody(image, c.prompts[0]!, { max_tokens: 24 }));
    expect(res.status).toBe(200);
    const json = (await res.json()) as {
      object: string;
      choices: { message: { role: string; content: string }; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    };
    expect(json.object).toBe('chat.completion');
    const { goldenTensor } = await import('@pali/fixtures');
    const golden = Array.from(goldenTensor(c.tensors.tokens!).data);
    const eosIds = Array.isArray(eos) ? eos : [eos];
    const cut = golden.findIndex((t) => eosIds.includes(t));
    const expected = cut >= 0 ? golden.slice(0, cut + 1) : golden.slice(0, 24);
    expect(json.usage.completion_tokens).toBe(expected.length);
    expect(json.usage.prompt_tokens).toBe(goldenTensor(c.tensors.input_ids!).data.length);
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens + json.usage.completion_tokens);
    expect(json.choices[0]!.finish_reason).toBe(cut >= 0 ? 'stop' : 'length');
    expect(json.choices[0]!.message.role).toBe('assistant');

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'tiny',
      max_tokens: 24,
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: c.prompts[0]! },
            { type: 'image_url', image_url: { url: image } },
          ],
        },
      ],
    });
    let text = '';
    let finish: string | null = null;
    let usage: { completion_tokens: number } | undefined;
    for await (const part of stream) {
      expect(part.object).toBe('chat.completion.chunk');
      text += part.choices[0]?.delta.content ?? '';
      finish = part.choices[0]?.finish_reason ?? finish;
      if (part.usage) usage = part.usage;
    }
    expect(text).toBe(json.choices[0]!.message.content);
    expect(finish).toBe(json.choices[0]!.finish_reason);
    expect(usage?.completion_tokens).toBe(expected.length);

    // Seeded sampling repeats itself; max_tokens caps the length.
    const sample = { max_tokens: 5, temperature: 1.2, top_p: 0.9, seed: 7 };
    const a = await client.chat.completions.create({ ...chatBody(image, 'caption en', sample) } as never);
    const b = await client.chat.completions.create({ ...chatBody(image, 'caption en', sample) } as never);
    expect((a as OpenAI.ChatCompletion).choices[0]!.message.content).toBe(
      (b as OpenAI.ChatCompletion).choices[0]!.message.content,
    );
    expect((a as OpenAI.ChatCompletion).usage!.completion_tokens).toBeLessThanOrEqual(5);
  });

  it('task endpoints return the typed results', async () => {
    const { url } = await start();
    const image = dataUrl(fixtureImage('photo-96x72'));
    const caption = await post(`${url}/v1/caption`, { image, max_tokens: 6 });
    expect(caption.status).toBe(200);
    const cj = (await caption.json()) as { text: string; tokens: number[] };
    expect(cj.tokens.length).toBeGreaterThan(0);
    expect(cj.tokens.length).toBeLessThanOrEqual(6);
    const sdk = await pg.caption(fixtureImage('photo-96x72'), { maxNewTokens: 6 });
    expect(cj).toEqual(sdk);
    const ask = await post(`${url}/v1/ask`, {
      image: { url: image },
      question: 'what is this?',
      max_tokens: 4,
    });
    expect(ask.status).toBe(200);
    const detect = await post(`${url}/v1/detect`, { image, objects: ['cat', 'dog'], max_tokens: 12 });
    expect(detect.status).toBe(200);
    const dj = (await detect.json()) as { objects: unknown[]; text: string; skipped: unknown[] };
    expect(Array.isArray(dj.objects) && Array.isArray(dj.skipped) && typeof dj.text).toBe('string');
    const segment = await post(`${url}/v1/segment`, { image, objects: 'cat', max_tokens: 24 });
    expect(segment.status).toBe(200);
    const sj = (await segment.json()) as { objects: { mask: { width: number; binary_base64: string } }[] };
    for (const o of sj.objects) {
      expect(Buffer.from(o.mask.binary_base64, 'base64').length).toBe(96 * 72);
    }
  });
});

describe('remote image URLs', () => {
  it('are fetched only with allowRemoteImages (from a loopback server here), with a size cap', async () => {
    const png = readFileSync(fixtureImage('rgb-37x23'));
    const images = createHttpServer((req, res) => {
      if (req.url === '/a.png') res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(images.address() as { port: number }).port}`;
    try {
      const { url } = await start({ allowRemoteImages: true, maxImageBytes: png.length });
      const ok = await post(`${url}/v1/caption`, { image: `${base}/a.png`, max_tokens: 4 });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual(await pg.caption(fixtureImage('rgb-37x23'), { maxNewTokens: 4 }));
      const missing = await post(`${url}/v1/caption`, { image: `${base}/nothing.png` });
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('image_fetch_failed');
      const { url: small } = await start({ allowRemoteImages: true, maxImageBytes: png.length - 1 });
      const big = await post(`${small}/v1/caption`, { image: `${base}/a.png` });
      expect(big.status).toBe(413);
    } finally {
      images.close();
    }
  });
});

describe('malformed requests get a 4xx JSON error, never a crash', () => {
  it('bad JSON, missing image, 100 MP image, wrong content types, huge max_tokens, big bodies, auth', async () => {
    const { url } = await start({ apiKey: 'sekret', maxBodyBytes: 16 * 1024 * 1024 });
    const auth = { authorization: 'Bearer sekret' };
    const image = dataUrl(fixtureImage('rgb-37x23'));
    const chat = `${url}/v1/chat/completions`;
    const huge = await sharp({
      create: { width: 10_000, height: 10_000, channels: 3, background: '#808080' },
    })
      .png({ compressionLevel: 1 })
      .toBuffer();
    const cases: [string, Response, number, string][] = [
      ['no token', await post(chat, chatBody(image, 'caption en')), 401, 'invalid_api_key'],
      [
        'wrong token',
        await post(chat, chatBody(image, 'caption en'), { authorization: 'Bearer nope' }),
        401,
        'invalid_api_key',
      ],
      ['bad JSON', await post(chat, '{"messages": [', auth), 400, 'invalid_json'],
      ['not an object', await post(chat, '[1,2]', auth), 400, 'invalid_request'],
      ['no messages', await post(chat, { model: 'tiny' }, auth), 400, 'invalid_request'],
      [
        'missing image',
        await post(chat, { messages: [{ role: 'user', content: 'caption en' }] }, auth),
        400,
        'missing_image',
      ],
      [
        '100 MP image',
        await post(chat, chatBody(`data:image/png;base64,${huge.toString('base64')}`, 'caption en'), auth),
        413,
        'image_too_large',
      ],
      [
        'not an image',
        await post(
          chat,
          chatBody(`data:image/png;base64,${Buffer.from('hello').toString('base64')}`, 'caption en'),
          auth,
        ),
        400,
        'invalid_image',
      ],
      [
        'text/plain data URL',
        await post(chat, chatBody('data:text/plain;base64,aGk=', 'caption en'), auth),
        415,
        'unsupported_media_type',
      ],
      [
        'text/plain body',
        await fetch(chat, { method: 'POST', headers: { 'content-type': 'text/plain', ...auth }, body: 'hi' }),
        415,
        'unsupported_media_type',
      ],
      [
        'huge max_tokens',
        await post(chat, chatBody(image, 'caption en', { max_tokens: 1_000_000 }), auth),
        400,
        'max_tokens_too_large',
      ],
      [
        'negative max_tokens',
        await post(chat, chatBody(image, 'caption en', { max_tokens: -3 }), auth),
        400,
        'invalid_request',
      ],
      [
        'bad temperature',
        await post(chat, chatBody(image, 'caption en', { temperature: 'hot' }), auth),
        400,
        'invalid_request',
      ],
      [
        'remote URL not allowed',
        await post(chat, chatBody('http://127.0.0.1:1/x.png', 'caption en'), auth),
        400,
        'remote_images_disabled',
      ],
      [
        'file URL',
        await post(chat, chatBody('file:///etc/passwd', 'caption en'), auth),
        400,
        'invalid_image_url',
      ],
      [
        'audio part',
        await post(chat, { messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }, auth),
        400,
        'invalid_request',
      ],
      ['body over the limit', await oversized(chat, 20 * 1024 * 1024, auth), 413, 'body_too_large'],
      ['detect without objects', await post(`${url}/v1/detect`, { image }, auth), 400, 'invalid_request'],
      ['unknown route', await post(`${url}/v1/nothing`, {}, auth), 404, 'not_found'],
    ];
    for (const [what, res, status, code] of cases) {
      expect(res.status, what).toBe(status);
      expect(res.headers.get('content-type'), what).toMatch(/application\/json/);
      const body = (await res.json()) as { error: { message: string; code: string } };
      expect(body.error.code, what).toBe(code);
      expect(body.error.message.length, what).toBeGreaterThan(0);
    }
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const ok = await post(chat, chatBody(image, 'caption en', { max_tokens: 3 }), auth);
    expect(ok.status).toBe(200);
  });
});

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('load: 64 concurrent chat requests, concurrency 2', () => {
  it('answers each 200 or 429 with Retry-After, loses none, and keeps memory flat', async () => {
    const { server, url } = await start({ concurrency: 2, maxQueue: 10, retryAfterSeconds: 2 });
    const image = dataUrl(fixtureImage('rgb-37x23'));
    const body = JSON.stringify(chatBody(image, 'caption en', { max_tokens: 8 }));
    const round = () =>
      Promise.all(
        Array.from({ length: 64 }, () =>
          post(`${url}/v1/chat/completions`, body).then(async (r) => ({
            status: r.status,
            retry: r.headers.get('retry-after'),
            json: (await r.json()) as { object?: string; error?: { code: string } },
          })),
        ),
      );
    await round(); // warm up
    collectGarbage();
    const before = process.memoryUsage();
    let served = 0;
    let refused = 0;
    const started = Date.now();
    for (let i = 0; i < 4; i++) {
      const results = await round();
      expect(results).toHaveLength(64);
      for (const r of results) {
        if (r.status === 200) {
          served++;
          expect(r.json.object).toBe('chat.completion');
        } else {
          refused++;
          expect(r.status).toBe(429);
          expect(r.retry).toBe('2');
          expect(r.json.error?.code).toBe('queue_full');
        }
      }
    }
    expect(served + refused).toBe(4 * 64);
    // At least the running slots and the whole queue are served each round.
    expect(served).toBeGreaterThanOrEqual(4 * 12);
    expect(refused).toBeGreaterThan(0);
    expect(server.limiter.running + server.limiter.queued).toBe(0);
    collectGarbage();
    const after = process.memoryUsage();
    const growthMb = (after.heapUsed - before.heapUsed) / 2 ** 20;
    expect(growthMb, `heap grew ${growthMb.toFixed(1)} MB`).toBeLessThan(24);
    expect((after.rss - before.rss) / 2 ** 20).toBeLessThan(150);
    expect(Date.now() - started).toBeLessThan(30_000);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const counted = /pali_requests_total\{route="\/v1\/chat\/completions",status="429"\} (\d+)/.exec(metrics);
    // The warm-up round's refusals are counted too.
    expect(Number(counted?.[1])).toBeGreaterThanOrEqual(refused);
    expect(metrics).toMatch(/pali_queue_depth 0\n/);
    expect(metrics).toMatch(
      /pali_request_duration_seconds_bucket\{route="\/v1\/chat\/completions",le="\+Inf"\} \d+/,
    );
    expect(metrics).toMatch(/pali_tokens_per_second [\d.]+/);

    // With a queue as long as the burst, every request is answered.
    const { url: url2 } = await start({ concurrency: 2, maxQueue: 64 });
    const all = await Promise.all(
      Array.from({ length: 64 }, () => post(`${url2}/v1/chat/completions`, body).then((r) => r.status)),
    );
    expect(all.every((s) => s === 200)).toBe(true);
  });
});
