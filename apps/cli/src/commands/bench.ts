import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertCheckpoint } from '@pali/convert';
import { ERROR_CODES, PaliError } from '@pali/errors';
import {
  type ModelDtype,
  prefillPartPath,
  prefillPath,
  stepPath,
  VISION_PREFILL_PATH,
} from '@pali/model-folder';
import type { Command } from 'commander';
import { type MachineLimits, measureMachineLimits } from '../bench/machine-limits.js';
import { ensureRandomCheckpoint, PALIGEMMA2_3B } from '../bench/random-checkpoint.js';
import { RESULT_PREFIX, type WorkerRequest, type WorkerResult } from '../bench/worker.js';
import type { CliIO } from '../io.js';
import { parseDtype, positiveInt } from '../model-options.js';
import { formatBytes, ProgressLine } from '../progress.js';

interface BenchFlags {
  quick?: boolean;
  json?: boolean;
  tokens: string;
  dtype: string;
  threads?: string;
  kvCache?: string;
  prefill: string;
  stepGraph: string;
  promptSessions: string;
  blockSize?: string;
  cache?: string;
  modelFolder?: string;
  image?: string;
  impl: string;
  limits: boolean;
  rounds: string;
  reconvert?: boolean;
}

export interface BenchRow extends WorkerResult {
  size: number;
  modelBytes: number;
  /** The decoder's weights: what one decoded token reads. */
  decoderBytes: number;
  /** Ours: what ran the prompt, the int8 prefill graph or the decoder itself. */
  prefill?: 'int8' | 'decoder';
  error?: string;
}

const IMPLS = ['ours', 'transformers.js'] as const;

/** What ours ran beside its decoder: the int8 prompt graphs, the step graph. */
function label(r: BenchRow): string {
  const parts = [
    ...(r.prefill === 'int8'
      ? [r.promptSessions === 'transient' ? 'int8 prefill, transient' : 'int8 prefill']
      : []),
    ...(r.stepGraph ? ['step graph'] : []),
  ];
  return parts.length ? ` (${parts.join(', ')})` : '';
}
/** The repository's fixture folder (src/commands or dist/commands → ../../../../fixtures). */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/**
 * `pali bench`: a full-size random-weight PaliGemma 2 3B (made once, cached), converted, then timed
 * with our pipeline and with transformers.js, one child process each, one after the other.
 */
export function registerBench(program: Command, io: CliIO): void {
  program
    .command('bench')
    .description('time our pipeline against transformers.js on a full-size random 3B model (224 and 448 px)')
    .option('--quick', '224 px only')
    .option('--json', 'print one JSON object per implementation and size')
    .option('--tokens <n>', 'generated tokens to time (eos ignored)', '32')
    .option('--dtype <dtype>', 'model variant to time (converted once per variant)', 'q4')
    .option('--reconvert', 'convert the random checkpoint again (after converter changes)')
    .option('--threads <n>', 'ONNX Runtime threads for both (default: one per core)')
    .option(
      '--cache <dir>',
      'where the random checkpoints live (default: $PALI_CACHE/bench or ~/.cache/pali/bench)',
    )
    .option('--model-folder <dir>', 'time this converted model folder instead of the random 3B')
    .option('--image <file>', 'the image (default: a fixture image)')
    .option('--impl <list>', 'implementations, comma separated', IMPLS.join(','))
    .option(
      '--kv-cache <mode>',
      'ours, with --step-graph off: shared (written in place, the default for our folders) or copy (present → past each step)',
    )
    .option(
      '--prefill <kind>',
      'ours: int8 (convert with the int8 prefill graph and run prompts on it) or off (the decoder runs the prompt)',
      'int8',
    )
    .option(
      '--step-graph <mode>',
      "ours: auto (steps on the folder's step graph) or off (steps on decoder_model_merged, as transformers.js)",
      'auto',
    )
    .option(
      '--prompt-sessions <mode>',
      'ours: transient (int8 prompt graphs mapped only while they run, in parts), resident (held), or auto',
      'auto',
    )
    .option('--block-size <n>', 'convert with this q4 block size (its own cached folder; default 32)')
    .option('--no-limits', 'skip measuring memory bandwidth and GEMM throughput')
    .option('--rounds <n>', "alternate the implementations n times and keep each one's best figures", '1')
    .action(async (flags: BenchFlags) => {
      const tokens = positiveInt(flags.tokens, '--tokens') ?? 32;
      const threads = positiveInt(flags.threads, '--threads');
      const rounds = positiveInt(flags.rounds, '--rounds') ?? 1;
      const impls = flags.impl.split(',').map((s) => s.trim());
      for (const i of impls) {
        if (!(IMPLS as readonly string[]).includes(i))
          throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `--impl ${i} is not one of ${IMPLS.join(', ')}`);
      }
      if (flags.prefill !== 'int8' && flags.prefill !== 'off')
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `--prefill ${flags.prefill} is not int8 or off`);
      const prefill = flags.prefill;
      if (flags.stepGraph !== 'auto' && flags.stepGraph !== 'off')
        throw new PaliError(
          ERROR_CODES.INVALID_ARGUMENT,
          `--step-graph ${flags.stepGraph} is not auto or off`,
        );
      const stepGraph = flags.stepGraph;
      const promptSessions = flags.promptSessions;
      if (promptSessions !== 'auto' && promptSessions !== 'transient' && promptSessions !== 'resident')
        throw new PaliError(
          ERROR_CODES.INVALID_ARGUMENT,
          `--prompt-sessions ${promptSessions} is not auto, transient or resident`,
        );
      const blockSize = positiveInt(flags.blockSize, '--block-size');
      const dtype = parseDtype(flags.dtype);
      if (typeof dtype !== 'string') {
        throw new PaliError(
          ERROR_CODES.INVALID_ARGUMENT,
          '--dtype takes one variant for the whole model here',
          {
            hint: 'Use one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4',
          },
        );
      }
      const image = flags.image
        ? resolve(io.cwd, flags.image)
        : join(REPO, 'fixtures/images/photo-96x72.jpg');
      if (!existsSync(image))
        throw new PaliError(ERROR_CODES.NOT_FOUND, `No such image: ${image}`, { hint: 'Pass --image FILE' });
      const cache = resolve(
        io.cwd,
        flags.cache ?? join(io.env.PALI_CACHE ?? join(homedir(), '.cache', 'pali'), 'bench'),
      );

      // Make (or find) every model first, so that conversions never overlap a timed run.
      const sizes: (224 | 448)[] = flags.modelFolder ? [224] : flags.quick ? [224] : [224, 448];
      const folders: string[] = [];
      for (const size of sizes) {
        folders.push(
          flags.modelFolder
            ? resolve(io.cwd, flags.modelFolder)
            : await randomModelFolder(io, cache, size, dtype, flags.reconvert === true, prefill, blockSize),
        );
      }
      const limits = flags.limits ? await measureMachineLimits(threads, blockSize) : undefined;
      const rows: BenchRow[] = [];
      for (const folder of folders) {
        const actualSize = await folderImageSize(folder);
        // With the int8 prompt pass, ours loads the int8 vision tower instead of the q4 one, and the
        // prefill graph beside the decoder: count the files each implementation loads.
        const prefillFiles = prefill === 'int8' && existsSync(join(folder, prefillPath(dtype)));
        const int8Vision = prefillFiles && existsSync(join(folder, VISION_PREFILL_PATH));
        const modelBytes = (impl: string) =>
          impl !== 'ours' || !prefillFiles
            ? variantBytes(folder, dtype)
            : variantBytes(folder, dtype, ['embed_tokens', 'decoder_model_merged']) +
              filesBytes(join(folder, prefillPath(dtype))) +
              (int8Vision
                ? filesBytes(join(folder, VISION_PREFILL_PATH))
                : variantBytes(folder, dtype, ['vision_encoder']));
        const decoderBytes = variantBytes(folder, dtype, ['decoder_model_merged']);
        const best = new Map<string, BenchRow>();
        // Alternating rounds spread the effect of other load on the machine over both implementations.
        for (let round = 0; round < rounds; round++) {
          for (const impl of impls as WorkerRequest['impl'][]) {
            const request: WorkerRequest = {
              impl,
              folder,
              image,
              prompt: 'caption en',
              tokens,
              dtype,
              ...(threads ? { threads } : {}),
              ...(flags.kvCache === 'shared' || flags.kvCache === 'copy' ? { kvCache: flags.kvCache } : {}),
              ...(impl === 'ours'
                ? { prefill: prefill === 'int8' ? 'auto' : 'off', stepGraph, promptSessions }
                : {}),
            };
            if (!flags.json)
              io.stderr(`timing ${impl} at ${actualSize} px (round ${round + 1}/${rounds})…\n`);
            const row: BenchRow = {
              ...(await runWorker(request)),
              size: actualSize,
              modelBytes: modelBytes(impl),
              decoderBytes,
              ...(impl === 'ours' ? { prefill: prefillFiles ? 'int8' : 'decoder' } : {}),
            };
            best.set(impl, bestOf(best.get(impl), row));
          }
        }
        rows.push(...best.values());
      }
      if (flags.json) {
        for (const r of rows) io.stdout(`${JSON.stringify(r)}\n`);
        if (limits) io.stdout(`${JSON.stringify({ machine: limits })}\n`);
      } else io.stdout(formatTable(rows, limits, tokens));
    });
}

/** The better of two runs of one implementation, figure by figure (an error only if both failed). */
function bestOf(a: BenchRow | undefined, b: BenchRow): BenchRow {
  if (!a || a.error) return b;
  if (b.error) return a;
  return {
    ...a,
    loadMs: Math.min(a.loadMs, b.loadMs),
    ttftMs: Math.min(a.ttftMs, b.ttftMs),
    ...(a.ttftAgainMs !== undefined && b.ttftAgainMs !== undefined
      ? { ttftAgainMs: Math.min(a.ttftAgainMs, b.ttftAgainMs) }
      : {}),
    decodeTokensPerSec: Math.max(a.decodeTokensPerSec, b.decodeTokensPerSec),
    peakRssBytes: Math.max(a.peakRssBytes, b.peakRssBytes),
  };
}

async function folderImageSize(folder: string): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const pre = JSON.parse(await readFile(join(folder, 'preprocessor_config.json'), 'utf8')) as {
    size?: { height?: number };
  };
  return pre.size?.height ?? 0;
}

async function randomModelFolder(
  io: CliIO,
  cache: string,
  size: 224 | 448,
  dtype: ModelDtype,
  reconvert: boolean,
  prefill: 'int8' | 'off',
  blockSize: number | undefined,
): Promise<string> {
  const out = join(cache, `onnx-${size}-${dtype}${blockSize !== undefined ? `-b${blockSize}` : ''}`);
  const complete =
    existsSync(join(out, 'config.json')) &&
    existsSync(join(out, stepPath(dtype))) &&
    (prefill === 'off' ||
      (existsSync(join(out, prefillPath(dtype))) && existsSync(join(out, prefillPartPath(dtype, 0)))));
  if (!reconvert && complete) return out;
  const checkpoint = await ensureRandomCheckpoint(
    cache,
    size,
    join(REPO, 'fixtures/models/tiny-3b'),
    (what) => io.stderr(`${what}…\n`),
  );
  const progress = new ProgressLine(io);
  io.stderr(`converting the ${size} px checkpoint…\n`);
  try {
    await convertCheckpoint(checkpoint, out, {
      dtype,
      // Always written: --prefill off then times the same folder without it.
      prefill: 'int8',
      ...(blockSize !== undefined ? { blockSize } : {}),
      overwrite: true,
      onProgress: (p) => progress.update('converting', p.written, p.total),
    });
  } finally {
    progress.done();
  }
  return out;
}

/** Bytes of the three ONNX files of a variant and their external data. */
function variantBytes(
  folder: string,
  dtype: string,
  parts: readonly string[] = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'],
): number {
  const suffix = dtype === 'fp32' ? '' : dtype === 'q8' ? '_quantized' : `_${dtype}`;
  const dir = join(folder, 'onnx');
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const part of parts) {
    for (const f of readdirSync(dir)) {
      if (f === `${part}${suffix}.onnx` || f.startsWith(`${part}${suffix}.onnx_data`))
        total += statSync(join(dir, f)).size;
    }
  }
  return total;
}

/** Bytes of one .onnx file and its external data. */
function filesBytes(onnxFile: string): number {
  let total = 0;
  for (const f of [onnxFile, `${onnxFile}_data`]) if (existsSync(f)) total += statSync(f).size;
  return total;
}

function workerCommand(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    // Running from source (tests, tsx): the worker runs from source too.
    return {
      file: join(dirname(here), '../bench/worker.ts'),
      execArgv: ['--import', import.meta.resolve('tsx'), '--conditions=source'],
    };
  }
  return { file: join(dirname(here), '../bench/worker.js'), execArgv: [] };
}

function runWorker(request: WorkerRequest): Promise<WorkerResult & { error?: string }> {
  const { file, execArgv } = workerCommand();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [...execArgv, file, JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) {
        resolvePromise(JSON.parse(line.slice(RESULT_PREFIX.length)) as WorkerResult);
        return;
      }
      const lastLines = err.trim().split('\n').slice(-3).join(' | ');
      resolvePromise({
        impl: request.impl,
        loadMs: Number.NaN,
        ttftMs: Number.NaN,
        decodeTokensPerSec: Number.NaN,
        generatedTokens: 0,
        peakRssBytes: 0,
        error: `exit ${code ?? signal}: ${lastLines}`,
      });
    });
  });
}

/** FLOPs of the vision tower (with the projector) at `size` px. */
function visionFlops(size: number): number {
  const t = PALIGEMMA2_3B.text;
  const v = PALIGEMMA2_3B.vision;
  const patches = (size / v.patch) ** 2;
  const params = v.layers * (4 * v.hidden * v.hidden + 2 * v.hidden * v.intermediate) + v.hidden * t.hidden;
  return 2 * params * patches;
}

/** FLOPs of the decoder's Linear layers over a prompt of `tokens`, plus the head for one position. */
function promptFlops(tokens: number): number {
  const t = PALIGEMMA2_3B.text;
  const params =
    t.layers *
    (2 * t.hidden * t.heads * t.headDim +
      2 * t.hidden * t.kvHeads * t.headDim +
      3 * t.hidden * t.intermediate);
  return 2 * params * tokens + 2 * t.hidden * t.vocab;
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

export function formatTable(
  rows: readonly BenchRow[],
  limits: MachineLimits | undefined,
  tokens: number,
): string {
  const lines = [
    '| impl | size | load s | TTFT s | decode tok/s | peak RSS | model | TTFT again s |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.impl}${label(r)} | ${r.size} | ${fmt(r.loadMs / 1000)} | ${fmt(r.ttftMs / 1000)} | ${fmt(r.decodeTokensPerSec)} | ${formatBytes(r.peakRssBytes)} | ${formatBytes(r.modelBytes)} | ${fmt((r.ttftAgainMs ?? Number.NaN) / 1000)} |${r.error ? ` error: ${r.error}` : ''}`,
    );
  }
  const sizes = [...new Set(rows.map((r) => r.size))];
  lines.push(
    '',
    `ratios ours / transformers.js (time: lower is better; tok/s: higher is better), ${tokens} tokens:`,
  );
  for (const size of sizes) {
    const ours = rows.find((r) => r.size === size && r.impl === 'ours');
    const theirs = rows.find((r) => r.size === size && r.impl === 'transformers.js');
    if (!ours || !theirs) continue;
    lines.push(
      `- ${size} px: load ${fmt(ours.loadMs / theirs.loadMs)}×, TTFT ${fmt(ours.ttftMs / theirs.ttftMs)}×, decode ${fmt(ours.decodeTokensPerSec / theirs.decodeTokensPerSec)}×, peak RSS ${fmt(ours.peakRssBytes / theirs.peakRssBytes)}×, TTFT again ${fmt((ours.ttftAgainMs ?? Number.NaN) / (theirs.ttftAgainMs ?? Number.NaN))}×`,
    );
  }
  if (limits) {
    const th = limits.threads ? `${limits.threads} threads` : 'default threads';
    lines.push(
      '',
      `machine limits (ONNX Runtime kernels on this machine, ${th}; 2304-wide weights):`,
      '',
      '| kernel | shape | rate |',
      '|---|---|---|',
      `| fp32 MatMul | M=1, N=32768 | ${fmt(limits.memoryBandwidthGBs, 1)} GB/s of weights |`,
      `| q4 MatMulNBits (blk ${limits.q4BlockSize}, acc 4) | M=1, N=65536 | ${fmt(limits.q4StreamGBs, 1)} GB/s of weights |`,
      `| fp32 MatMul | M=256, N=9216 | ${fmt(limits.gemmGflops, 0)} GFLOP/s |`,
      `| q4 MatMulNBits (blk ${limits.q4BlockSize}) | M=256, N=9216 | ${fmt(limits.q4Gflops, 0)} GFLOP/s |`,
      `| int8 DynamicQuantizeMatMul, prepacked | M=256, N=9216 | ${fmt(limits.int8Gflops, 0)} GFLOP/s |`,
      `| int8 DynamicQuantizeMatMul, as stored (the prefill graph) | M=256, N=9216 | ${fmt(limits.int8UnpackedGflops, 0)} GFLOP/s |`,
      '',
    );
    for (const size of sizes) {
      const r = rows.find((x) => x.size === size);
      if (!r?.decoderBytes) continue;
      // Decoding reads every decoder weight (the tied head included) once per token; the vision
      // tower and the prompt are GEMMs. These come from single kernels: the TTFT ones are floors
      // (linear FLOPs at the best GEMM rates), the decode one an estimate (one 94 MB kernel streams
      // its weights slower than a whole step does: ours has run ~10 % above it).
      const prompt = promptFlops((size / 14) ** 2 + 4);
      const vision = visionFlops(size);
      // Transient prompt sessions run the vision tower as stored too (resident ones repack it).
      const ours = rows.find((x) => x.size === size && x.impl === 'ours');
      const transient = ours?.promptSessions === 'transient';
      const visionRate = transient ? limits.int8UnpackedGflops : limits.int8Gflops;
      const int8 = vision / (visionRate * 1e9) + prompt / (limits.int8UnpackedGflops * 1e9);
      const q4 = (vision + prompt) / (limits.q4Gflops * 1e9);
      lines.push(
        `- ${size} px from these kernels: decode ≈ ${fmt((limits.q4StreamGBs * 1e9) / r.decoderBytes)} tok/s (q4 stream rate / decoder bytes, an estimate); TTFT ≥ ${fmt(int8)} s with the int8 prompt graphs (${transient ? 'vision and prompt at the as-stored int8 rate' : 'vision at the prepacked int8 rate, prompt at the as-stored one'}), ≥ ${fmt(q4)} s all in q4 (linear FLOPs only: attention not counted)`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
