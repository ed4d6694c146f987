import type { HttpBindings } from '@hono/node-server';
import type { SegmentResult } from '@pali/core';
import type { Hono } from 'hono';
import { badRequest } from './http-errors.js';
import type { ServerContext } from './server.js';

type Json = Record<string, unknown>;

function body(value: unknown): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('The body must be a JSON object');
  }
  return value as Json;
}

function imageUrl(b: Json): unknown {
  const image = b.image ?? b.image_url;
  return typeof image === 'object' && image !== null ? (image as Json).url : image;
}

function maxTokens(b: Json, ctx: ServerContext, fallback: number): number {
  const n = b.max_tokens;
  if (n === undefined || n === null) return Math.min(fallback, ctx.options.maxTokens);
  if (!Number.isInteger(n) || (n as number) < 1)
    throw badRequest('max_tokens must be a positive integer', 'max_tokens');
  if ((n as number) > ctx.options.maxTokens) {
    throw badRequest(
      `max_tokens is ${n}, over this server's limit of ${ctx.options.maxTokens}`,
      'max_tokens',
      'max_tokens_too_large',
    );
  }
  return n as number;
}

function lang(b: Json): string {
  if (b.lang === undefined) return 'en';
  if (typeof b.lang !== 'string' || !/^[a-z]{2,3}([-_][A-Za-z]{2,4})?$/.test(b.lang)) {
    throw badRequest('lang must be a language code such as en, de, zh', 'lang');
  }
  return b.lang;
}

function labels(b: Json): string[] {
  const v = b.objects ?? b.labels;
  const list = typeof v === 'string' ? v.split(';') : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw badRequest('objects must be a string ("cat ; dog") or an array of strings', 'objects');
  }
  const out = list.map((x: string) => x.trim()).filter(Boolean);
  if (out.length === 0) throw badRequest('objects needs at least one label', 'objects');
  return out;
}

/** Masks as JSON: the 0/1 mask bytes (row-major over the whole image) in base64; the soft mask is left out. */
export function segmentJson(result: SegmentResult) {
  return {
    text: result.text,
    skipped: result.skipped,
    objects: result.objects.map(({ mask, ...rest }) => ({
      ...rest,
      mask: {
        width: mask.width,
        height: mask.height,
        box: mask.box,
        binary_base64: Buffer.from(
          mask.binary.buffer,
          mask.binary.byteOffset,
          mask.binary.byteLength,
        ).toString('base64'),
      },
    })),
  };
}

type Image = Parameters<ServerContext['model']['caption']>[0];
interface RunOptions {
  maxNewTokens: number;
  signal: AbortSignal;
}

interface TaskRoute<A> {
  defaultTokens: number;
  /** Checks the request's own fields, before the image is decoded or a slot taken. */
  parse: (b: Json) => A;
  run: (args: A, image: Image, o: RunOptions) => Promise<{ text: string; tokens?: number[] }>;
}

function add<A>(app: App, ctx: ServerContext, name: string, task: TaskRoute<A>): void {
  app.post(`/v1/${name}`, async (c) => {
    const b = body(await ctx.readJson(c));
    const maxNewTokens = maxTokens(b, ctx, task.defaultTokens);
    const args = task.parse(b);
    const signal = ctx.requestSignal(c);
    const image = await ctx.image(imageUrl(b), signal, 'image');
    const result = await ctx.generate(
      name,
      signal,
      () => task.run(args, image, { maxNewTokens, signal }),
      (r) => r.tokens?.length ?? 0,
    );
    return c.json(result);
  });
}

type App = Hono<{ Bindings: Partial<HttpBindings> }>;

/** POST /v1/caption, /v1/ask, /v1/detect, /v1/segment: the SDK's typed results as JSON. */
export function taskRoutes(app: App, ctx: ServerContext): void {
  add(app, ctx, 'caption', {
    defaultTokens: 64,
    parse: lang,
    run: (l, image, o) => ctx.model.caption(image, { ...o, lang: l }),
  });
  add(app, ctx, 'ask', {
    defaultTokens: 64,
    parse: (b) => {
      if (typeof b.question !== 'string' || !b.question.trim()) {
        throw badRequest('question must be a non-empty string', 'question');
      }
      return { question: b.question, lang: lang(b) };
    },
    run: (a, image, o) => ctx.model.ask(image, a.question, { ...o, lang: a.lang }),
  });
  add(app, ctx, 'detect', {
    defaultTokens: 128,
    parse: labels,
    run: (l, image, o) => ctx.model.detect(image, l, o),
  });
  add(app, ctx, 'segment', {
    defaultTokens: 128,
    parse: labels,
    run: async (l, image, o) => segmentJson(await ctx.model.segment(image, l, o)),
  });
}
