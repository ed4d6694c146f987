/**
 * One implementation's timed run, in its own process so that its peak RSS is its own:
 * `node worker.js '{"impl":"ours"|"transformers.js", "folder", "image", "prompt", "tokens", "dtype", "threads"?}'`.
 * Prints one line `PALI_BENCH {json}` on stdout.
 */
import { basename, dirname } from 'node:path';

export interface WorkerRequest {
  impl: 'ours' | 'transformers.js';
  folder: string;
  image: string;
  prompt: string;
  tokens: number;
  dtype: string;
  threads?: number;
  /** Ours only: how the KV cache is kept (see LoadOptions.kvCache). */
  kvCache?: 'auto' | 'shared' | 'copy';
  /** Ours only: whether prompts run on the folder's int8 prefill graph (see LoadOptions.prefill). */
  prefill?: 'auto' | 'off';
  /** Ours only: whether steps may run on the folder's step graph (see LoadOptions.stepGraph). */
  stepGraph?: 'auto' | 'off';
  /** Ours only: how the int8 prompt graphs are held (see LoadOptions.promptSessions). */
  promptSessions?: 'auto' | 'transient' | 'resident';
}

export interface WorkerResult {
  impl: string;
  loadMs: number;
  ttftMs: number;
  decodeTokensPerSec: number;
  generatedTokens: number;
  peakRssBytes: number;
  /** Ours only: whether the steps ran on the folder's step graph. */
  stepGraph?: boolean;
  /** Ours only: how the int8 prompt graphs were held, if there were any. */
  promptSessions?: 'transient' | 'resident';
  /**
   * Time to first token of a second generation started as soon as the first one ended (back to
   * back: ours then opens again, on the way, the prompt sessions it released).
   */
  ttftAgainMs?: number;
}

export const RESULT_PREFIX = 'PALI_BENCH ';

async function runOurs(r: WorkerRequest): Promise<Omit<WorkerResult, 'peakRssBytes' | 'impl'>> {
  const { PaliGemma } = await import('@pali/node');
  let t = performance.now();
  const pg = await PaliGemma.load(r.folder, {
    dtype: r.dtype as 'fp32',
    offline: true,
    ...(r.threads ? { threads: r.threads } : {}),
    ...(r.kvCache ? { kvCache: r.kvCache } : {}),
    ...(r.prefill ? { prefill: r.prefill } : {}),
    ...(r.stepGraph ? { stepGraph: r.stepGraph } : {}),
    ...(r.promptSessions ? { promptSessions: r.promptSessions } : {}),
  });
  const loadMs = performance.now() - t;
  try {
    const t0 = performance.now();
    let first = 0;
    let count = 0;
    for await (const _chunk of pg.generate({
      image: r.image,
      prompt: r.prompt,
      maxNewTokens: r.tokens,
      ignoreEos: true,
    })) {
      if (count === 0) first = performance.now();
      count++;
    }
    const end = performance.now();
    t = performance.now();
    let again = Number.NaN;
    for await (const _chunk of pg.generate({ image: r.image, prompt: r.prompt, maxNewTokens: 1 })) {
      if (Number.isNaN(again)) again = performance.now() - t;
    }
    return {
      loadMs,
      ttftMs: first - t0,
      decodeTokensPerSec: count > 1 ? ((count - 1) * 1000) / (end - first) : 0,
      generatedTokens: count,
      stepGraph: pg.stepGraph,
      ...(pg.promptSessions ? { promptSessions: pg.promptSessions } : {}),
      ttftAgainMs: again,
    };
  } finally {
    await pg.dispose();
  }
}

async function runTransformersJs(r: WorkerRequest): Promise<Omit<WorkerResult, 'peakRssBytes' | 'impl'>> {
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = `${dirname(r.folder)}/`;
  const id = basename(r.folder);
  let t = performance.now();
  const processor = await tjs.AutoProcessor.from_pretrained(id, { local_files_only: true });
  const model = await tjs.PaliGemmaForConditionalGeneration.from_pretrained(id, {
    dtype: r.dtype as 'fp32',
    device: 'cpu',
    local_files_only: true,
    ...(r.threads ? { session_options: { intraOpNumThreads: r.threads, interOpNumThreads: 1 } } : {}),
  });
  const loadMs = performance.now() - t;
  try {
    t = performance.now();
    const image = await tjs.RawImage.read(r.image);
    const inputs = await processor(image, r.prompt);
    let first = 0;
    let puts = 0;
    let count = 0;
    // transformers.js calls put() once with the prompt, then once per generated token.
    const streamer = {
      put() {
        if (puts++ === 0) return;
        if (count === 0) first = performance.now();
        count++;
      },
      end() {},
    };
    await model.generate({
      ...inputs,
      max_new_tokens: r.tokens,
      min_new_tokens: r.tokens,
      do_sample: false,
      streamer,
    } as never);
    const end = performance.now();
    const ttftMs = first - t;
    t = performance.now();
    let again = Number.NaN;
    let againPuts = 0;
    await model.generate({
      ...(await processor(await tjs.RawImage.read(r.image), r.prompt)),
      max_new_tokens: 1,
      do_sample: false,
      // As above: the first put() is the prompt, the second the token.
      streamer: {
        put() {
          if (againPuts++ === 1) again = performance.now() - t;
        },
        end() {},
      },
    } as never);
    return {
      loadMs,
      ttftMs,
      decodeTokensPerSec: count > 1 ? ((count - 1) * 1000) / (end - first) : 0,
      generatedTokens: count,
      ttftAgainMs: again,
    };
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as WorkerRequest;
  const run = request.impl === 'ours' ? runOurs : runTransformersJs;
  const result = await run(request);
  const out: WorkerResult = {
    impl: request.impl,
    ...result,
    // maxRSS is in KiB: the process's peak resident set, this run alone.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(out)}\n`);
}

if (process.argv[1] && /worker\.(ts|js)$/.test(process.argv[1])) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
