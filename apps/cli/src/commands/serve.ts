import { resolve } from 'node:path';
import { createServer } from '@pali/serve';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { loadModel, type ModelFlags, positiveInt, withModelOptions } from '../model-options.js';
import { untilStopped } from '../stop-signal.js';

interface ServeFlags extends ModelFlags {
  port: string;
  host: string;
  concurrency: string;
  maxQueue: string;
  retryAfter: string;
  maxBodyMb: string;
  maxPixels: string;
  maxTokens: string;
  apiKey?: string;
  allowRemoteImages?: boolean;
  grace: string;
  modelName?: string;
}

/** `pali serve --model M [--port P]`: the HTTP API (OpenAI-compatible chat, task endpoints, metrics). */
export function registerServe(program: Command, io: CliIO): void {
  withModelOptions(
    program
      .command('serve')
      .description(
        'serve the model over HTTP: OpenAI-compatible /v1/chat/completions, /v1/caption|ask|detect|segment, /health, /metrics',
      )
      .option('--port <n>', 'port to listen on (0 picks a free one)', '8080')
      .option('--host <addr>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
      .option('--concurrency <n>', 'generations running at once', '1')
      .option('--max-queue <n>', 'requests waiting for a slot; more are answered 429', '16')
      .option('--retry-after <s>', 'Retry-After seconds sent with 429', '1')
      .option('--max-body-mb <n>', 'largest request body in MiB', '20')
      .option('--max-pixels <n>', 'largest image in pixels', '40000000')
      .option('--max-tokens <n>', 'largest max_tokens a request may ask for', '1024')
      .option('--api-key <key>', 'require "Authorization: Bearer KEY" on /v1/* (or set PALI_API_KEY)')
      .option(
        '--allow-remote-images',
        'fetch http(s) image URLs (off: a server that fetches URLs is an SSRF risk)',
      )
      .option('--grace <s>', 'seconds running generations get to finish on SIGINT/SIGTERM', '10')
      .option('--model-name <name>', 'model name in responses (default: the --model value)')
      .option('--vae <file>', "big_vision's vae-oid.npz, for /v1/segment"),
  ).action(async (flags: ServeFlags) => {
    const model = await loadModel(flags.vae ? { ...flags, vae: resolve(io.cwd, flags.vae) } : flags, io);
    const server = createServer(model, {
      modelName: flags.modelName ?? flags.model,
      concurrency: positiveInt(flags.concurrency, '--concurrency')!,
      maxQueue: nonNegativeInt(flags.maxQueue, '--max-queue'),
      retryAfterSeconds: positiveInt(flags.retryAfter, '--retry-after')!,
      maxBodyBytes: positiveInt(flags.maxBodyMb, '--max-body-mb')! * 1024 * 1024,
      maxPixels: positiveInt(flags.maxPixels, '--max-pixels')!,
      maxTokens: positiveInt(flags.maxTokens, '--max-tokens')!,
      allowRemoteImages: Boolean(flags.allowRemoteImages),
      ...((flags.apiKey ?? io.env.PALI_API_KEY) ? { apiKey: flags.apiKey ?? io.env.PALI_API_KEY } : {}),
    });
    try {
      const { url } = await server.listen(nonNegativeInt(flags.port, '--port'), flags.host);
      io.stderr(`pali serve: ${flags.model} on ${url} (POST ${url}/v1/chat/completions; Ctrl-C stops)\n`);
      const signal = await untilStopped();
      io.stderr(`pali serve: ${signal}: finishing running requests\n`);
    } finally {
      await server.close(nonNegativeInt(flags.grace, '--grace') * 1000);
      await model.dispose();
    }
  });
}

export function nonNegativeInt(value: string, flag: string): number {
  return value === '0' ? 0 : positiveInt(value, flag)!;
}
