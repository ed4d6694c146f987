import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type HttpBindings, serve } from '@hono/node-server';
import { isPaliError } from '@pali/errors';
import type { RgbImage } from '@pali/image';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { chunk, completion, openAiFinish, parseChatRequest, usage, usageChunk } from './chat.js';
import { errorBody, HttpError, toHttpError } from './http-errors.js';
import { loadRequestImage } from './images.js';
import { Limiter } from './limiter.js';
import { ServerMetrics } from './metrics.js';
import {
  type ResolvedServeOptions,
  resolveServeOptions,
  type ServedModel,
  type ServeOptions,
} from './options.js';
import { taskRoutes } from './tasks.js';

type Env = { Bindings: Partial<HttpBindings> };

/** What a route handler needs: the model, the limiter, the limits, and per-request cancellation. */
export interface ServerContext {
  model: ServedModel;
  options: ResolvedServeOptions;
  limiter: Limiter;
  metrics: ServerMetrics;
  /** An AbortSignal that fires when the client goes away or the server stops waiting at shutdown. */
  requestSignal(c: Context<Env>): AbortSignal;
  readJson(c: Context<Env>): Promise<unknown>;
  image(url: unknown, signal: AbortSignal, param: string): Promise<RgbImage>;
  /** Runs generation work in a slot, recording queue wait and tokens. */
  generate<T>(
    route: string,
    signal: AbortSignal,
    work: () => Promise<T>,
    tokens: (r: T) => number,
  ): Promise<T>;
}

export interface PaliServer {
  app: Hono<Env>;
  metrics: ServerMetrics;
  limiter: Limiter;
  /** Listens on host:port (port 0 picks a free one); resolves with the bound address. */
  listen(port?: number, host?: string): Promise<{ port: number; host: string; url: string }>;
  /**
   * Stops accepting requests, answers queued ones 503, lets running generations finish for up to
   * graceMs, cancels those still running, then closes every connection.
   */
  close(graceMs?: number): Promise<void>;
}

/** The HTTP server: an OpenAI-compatible chat endpoint, task endpoints, /health and /metrics. */
export function createServer(model: ServedModel, serveOptions: ServeOptions = {}): PaliServer {
  const options = resolveServeOptions(serveOptions);
  const limiter = new Limiter(options);
  const metrics = new ServerMetrics(() => ({ queued: limiter.queued, running: limiter.running }));
  const shutdown = new AbortController();
  let closing = false;
  // Responses not yet fully written, so that close() lets them reach the client before it cuts connections.
  let open = 0;
  let allWritten: (() => void) | undefined;
  const responseDone = () => {
    open--;
    if (open === 0) allWritten?.();
  };
  const app = new Hono<Env>();

  const ctx: ServerContext = {
    model,
    options,
    limiter,
    metrics,
    requestSignal(c) {
      const controller = new AbortController();
      const abort = (reason: unknown) => {
        if (!controller.signal.aborted) controller.abort(reason);
      };
      const outgoing = c.env?.outgoing;
      // The response closing before it finished means the client went away.
      outgoing?.once('close', () => {
        if (!outgoing.writableFinished) abort(new Error('client disconnected'));
      });
      c.req.raw.signal.addEventListener('abort', () => abort(c.req.raw.signal.reason), { once: true });
      shutdown.signal.addEventListener('abort', () => abort(shutdown.signal.reason), { once: true });
      return controller.signal;
    },
    async readJson(c) {
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/json\b/i.test(type)) {
        throw new HttpError(
          415,
          `Send the body as application/json (got ${type || 'no content type'})`,
          'invalid_request_error',
          'unsupported_media_type',
        );
      }
      const text = await c.req.text();
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new HttpError(
          400,
          `The body is not valid JSON (${(error as Error).message})`,
          'invalid_request_error',
          'invalid_json',
        );
      }
    },
    image: (url, signal, param) => loadRequestImage(url, options, signal, param),
    async generate(route, signal, work, tokens) {
      const queuedAt = performance.now();
      const release = await limiter.acquire(signal);
      const started = performance.now();
      metrics.waited(route, (started - queuedAt) / 1000);
      try {
        const result = await work();
        metrics.generated(tokens(result), (performance.now() - started) / 1000);
        return result;
      } finally {
        release();
      }
    },
  };

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    metrics.request(c.req.routePath, c.res.status, (performance.now() - started) / 1000);
  });
  app.onError((error, c) => {
    // Work cancelled because the server is stopping is a 503, not a client's own cancel.
    const http =
      shutdown.signal.aborted && isPaliError(error, 'ABORTED')
        ? new HttpError(
            503,
            'The server stopped before the request finished',
            'server_error',
            'shutting_down',
          )
        : toHttpError(error);
    if (http.status >= 500 && http.status !== 503) console.error('pali serve:', error);
    return c.json(errorBody(http), http.status as 400, http.headers);
  });
  app.notFound((c) =>
    c.json(
      errorBody(
        new HttpError(404, `No route ${c.req.method} ${c.req.path}`, 'invalid_request_error', 'not_found'),
      ),
      404,
    ),
  );

  app.get('/health', (c) =>
    c.json(
      {
        status: closing ? 'stopping' : 'ok',
        model: options.modelName,
        running: limiter.running,
        queued: limiter.queued,
      },
      closing ? 503 : 200,
    ),
  );
  app.get('/metrics', (c) =>
    c.text(metrics.text(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );

  app.use('/v1/*', async (c, next) => {
    if (options.apiKey !== undefined && !bearerMatches(c.req.header('authorization'), options.apiKey)) {
      throw new HttpError(
        401,
        'Missing or wrong bearer token',
        'invalid_request_error',
        'invalid_api_key',
        null,
        {
          'www-authenticate': 'Bearer',
        },
      );
    }
    if (closing) throw new HttpError(503, 'The server is shutting down', 'server_error', 'shutting_down');
    const outgoing = c.env?.outgoing;
    if (!outgoing) return next();
    open++;
    outgoing.once('close', responseDone);
    await next();
  });
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: options.maxBodyBytes,
      onError: () => {
        throw new HttpError(
          413,
          `The body is over ${options.maxBodyBytes} bytes`,
          'invalid_request_error',
          'body_too_large',
        );
      },
    }),
  );

  app.get('/v1/models', (c) =>
    c.json({
      object: 'list',
      data: [{ id: options.modelName, object: 'model', created: 0, owned_by: 'pali' }],
    }),
  );

  app.post('/v1/chat/completions', async (c) => {
    const request = parseChatRequest(await ctx.readJson(c), {
      maxTokensLimit: options.maxTokens,
      defaultMaxTokens: options.defaultMaxTokens,
    });
    const signal = ctx.requestSignal(c);
    const image = await ctx.image(request.imageUrl, signal, 'messages.content.image_url');
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const name = options.modelName;
    const genOptions = { ...request.options, signal };
    if (!request.stream) {
      const [result] = await ctx.generate(
        'chat',
        signal,
        async () => {
          const it = model.generate({ ...genOptions, image, prompt: request.prompt });
          for (;;) {
            const step = await it.next();
            if (step.done) return step.value;
          }
        },
        (r) => r[0]?.tokens.length ?? 0,
      );
      const text = result!.text;
      return c.json(
        completion(
          id,
          created,
          name,
          text,
          openAiFinish(result!.finishReason),
          usage(result!.promptTokens.length, result!.tokens.length),
        ),
      );
    }
    // Admission (429) and the wait for a slot happen before the 200 and its event stream start.
    const queuedAt = performance.now();
    const release = await limiter.acquire(signal);
    metrics.waited('chat', (performance.now() - queuedAt) / 1000);
    const encoder = new TextEncoder();
    const started = performance.now();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (data: unknown) => {
          try {
            controller.enqueue(
              encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`),
            );
          } catch {
            // The stream was cancelled; the abort below stops generation.
          }
        };
        void (async () => {
          let tokens = 0;
          try {
            send(chunk(id, created, name, { role: 'assistant', content: '' }, null));
            const it = model.generate({ ...genOptions, image, prompt: request.prompt });
            let results: Awaited<ReturnType<typeof it.next>>['value'];
            for (;;) {
              const step = await it.next();
              if (step.done) {
                results = step.value;
                break;
              }
              tokens++;
              if (step.value.text) send(chunk(id, created, name, { content: step.value.text }, null));
            }
            const result = Array.isArray(results) ? results[0] : undefined;
            send(chunk(id, created, name, {}, openAiFinish(result?.finishReason)));
            if (request.includeUsage && result) {
              send(usageChunk(id, created, name, usage(result.promptTokens.length, result.tokens.length)));
            }
            send('[DONE]');
          } catch (error) {
            // Headers are gone: report the error as an event, as OpenAI does, then end the stream.
            if (!signal.aborted) send(errorBody(toHttpError(error)));
          } finally {
            metrics.generated(tokens, (performance.now() - started) / 1000);
            release();
            try {
              controller.close();
            } catch {
              // already cancelled
            }
          }
        })();
      },
      cancel() {
        // The client went away: requestSignal's close listener aborts the generation.
      },
    });
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      },
    });
  });

  taskRoutes(app, ctx);

  let server: ReturnType<typeof serve> | undefined;
  return {
    app,
    metrics,
    limiter,
    listen(port = 8080, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server = serve({ fetch: app.fetch, port, hostname: host }, (info: AddressInfo) => {
          const h = info.address.includes(':') ? `[${info.address}]` : info.address;
          resolve({ port: info.port, host: info.address, url: `http://${h}:${info.port}` });
        });
        server.once('error', reject);
      });
    },
    async close(graceMs = 10_000) {
      closing = true;
      const stopped = new Promise<void>((resolve) => {
        if (!server) resolve();
        else server.close(() => resolve());
      });
      const idle = limiter.close();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([idle, timedOut]);
      clearTimeout(timer);
      shutdown.abort(new Error('server shutting down'));
      await idle;
      if (open > 0) {
        // Let the last responses flush, but never wait on a client that does not read.
        await Promise.race([
          new Promise<void>((resolve) => {
            allWritten = resolve;
          }),
          new Promise((resolve) => setTimeout(resolve, 2000).unref()),
        ]);
      }
      if (server && 'closeAllConnections' in server) server.closeAllConnections();
      await stopped;
    },
  };
}

function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(key);
  return given.length === want.length && timingSafeEqual(given, want);
}
