import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { ERROR_CODES, isPaliError, PaliError } from '@pali/errors';
import type { CliIO } from './io.js';

/** Image files a folder argument expands to (non-recursive, sorted by name). */
const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.bmp',
  '.tif',
  '.tiff',
  '.avif',
]);

/** One JSONL line: what a batch wrote for one input. */
export interface BatchRecord {
  input: string;
  task: string;
  text?: string;
  [extra: string]: unknown;
  error?: { code: string; message: string };
}

export interface BatchSummary {
  out: string;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  seconds: number;
  imagesPerSec: number;
}

/** Expands folders to the image files in them; files are taken as given. URLs pass through. */
export function collectInputs(io: CliIO, args: readonly string[]): string[] {
  const inputs: string[] = [];
  for (const arg of args) {
    if (/^https?:\/\//.test(arg)) {
      inputs.push(arg);
      continue;
    }
    const path = resolve(io.cwd, arg);
    if (!existsSync(path)) {
      throw new PaliError(ERROR_CODES.NOT_FOUND, `No such file or folder: ${arg}`, {
        hint: 'Check the path; folders are expanded to the images directly inside them',
      });
    }
    if (statSync(path).isDirectory()) {
      const names = readdirSync(path)
        .filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase()))
        .sort();
      for (const n of names) inputs.push(join(arg, n));
    } else inputs.push(arg);
  }
  return inputs;
}

/**
 * Reads the inputs an earlier run already wrote. A last line cut short by a crash is removed from
 * the file, so that the input is run again and the file stays valid JSONL.
 */
export function readDone(io: CliIO, file: string): Set<string> {
  const done = new Set<string>();
  if (!existsSync(file)) return done;
  const text = readFileSync(file, 'utf8');
  let offset = 0;
  for (const line of text.split('\n')) {
    const end = offset + Buffer.byteLength(line) + 1;
    if (line.trim() !== '') {
      let record: BatchRecord | undefined;
      try {
        record = JSON.parse(line) as BatchRecord;
      } catch {
        record = undefined;
      }
      if (!record || typeof record.input !== 'string') {
        if (end >= Buffer.byteLength(text)) {
          truncateSync(file, offset);
          break;
        }
        throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${file} has a line that is not a batch record`, {
          hint: 'Give --jsonl a new file, or the file an earlier batch wrote',
        });
      }
      done.add(key(io, record.input));
    }
    offset = end;
  }
  return done;
}

function key(io: CliIO, input: string): string {
  return /^https?:\/\//.test(input) ? input : resolve(io.cwd, input);
}

/** A count progress bar on stderr when it is a terminal. */
function showProgress(io: CliIO, done: number, total: number, failed: number): void {
  if (!io.isTTY) return;
  const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
  const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
  io.stderr(`\r\x1b[2K[${bar}] ${done}/${total}${failed ? ` (${failed} failed)` : ''}`);
}

/**
 * Runs `work` on each input not yet in `jsonl`, appending one line per input as soon as it is done
 * (so an interrupted batch resumes where it stopped). A failing input is recorded with its error and
 * the batch goes on; Ctrl-C stops it.
 */
export async function runBatch(
  io: CliIO,
  options: { inputs: readonly string[]; jsonl: string; task: string; signal?: AbortSignal },
  work: (input: string) => Promise<Omit<BatchRecord, 'input' | 'task'>>,
): Promise<BatchSummary> {
  const file = resolve(io.cwd, options.jsonl);
  const already = readDone(io, file);
  // A last record without its newline (an edited file) would otherwise run into the next one.
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) appendFileSync(file, '\n');
  }
  const todo = options.inputs.filter((i) => !already.has(key(io, i)));
  const skipped = options.inputs.length - todo.length;
  const start = performance.now();
  let done = 0;
  let failed = 0;
  showProgress(io, 0, todo.length, 0);
  try {
    for (const input of todo) {
      if (options.signal?.aborted) break;
      let record: BatchRecord;
      try {
        record = { input, task: options.task, ...(await work(input)) };
      } catch (error) {
        if (isPaliError(error) && error.code === ERROR_CODES.ABORTED) throw error;
        failed++;
        record = {
          input,
          task: options.task,
          error: isPaliError(error)
            ? { code: error.code, message: error.message }
            : { code: ERROR_CODES.INTERNAL, message: error instanceof Error ? error.message : String(error) },
        };
      }
      appendFileSync(file, `${JSON.stringify(record)}\n`);
      done++;
      showProgress(io, done, todo.length, failed);
    }
  } finally {
    if (io.isTTY) io.stderr('\r\x1b[2K');
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    out: file,
    total: options.inputs.length,
    done: done - failed,
    skipped,
    failed,
    seconds,
    imagesPerSec: seconds > 0 ? done / seconds : 0,
  };
}

/** The summary line (stderr) or object (--json, stdout) at the end of a batch. */
export function printSummary(io: CliIO, summary: BatchSummary, json: boolean | undefined): void {
  if (json) {
    io.stdout(`${JSON.stringify(summary)}\n`);
    return;
  }
  io.stderr(
    `${summary.done} done, ${summary.skipped} skipped, ${summary.failed} failed in ${summary.seconds.toFixed(1)} s ` +
      `(${summary.imagesPerSec.toFixed(2)} images/s) -> ${summary.out}\n`,
  );
}
