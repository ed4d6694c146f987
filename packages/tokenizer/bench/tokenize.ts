/**
 * Encode/decode throughput of @pali/tokenizer against @huggingface/tokenizers (which it encodes with)
 * and transformers.js's tokenizer, on the fixture Gemma-style tokenizer and a deterministic corpus.
 *   pnpm --filter @pali/tokenizer bench
 * Prints a markdown table (median of 5 interleaved timed runs after a warm-up) and how many outputs agree.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { loadTokenizerFromDir } from '../src/node.js';
import { StreamingDetokenizer } from '../src/stream.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const DIR = `${FIXTURES}tokenizer`;

/** mulberry32: a small seeded PRNG so the corpus is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'a the cat dog bird sitting on table in front of red blue green large small image picture photo ' +
  'answer caption describe detect segment what is how many where people car street tree sky water ' +
  'le chat est sur la table der Hund läuft über die Straße 猫がテーブルの上にいます 图片里有什么 🙂 👍 €'
).split(' ');

function corpus(count: number, seed: number): string[] {
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  return Array.from({ length: count }, () => {
    const n = 3 + Math.floor(next() * 30);
    const words: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = next();
      if (r < 0.08) words.push(String(Math.floor(next() * 100000)));
      else if (r < 0.12) words.push(`<loc${String(Math.floor(next() * 1024)).padStart(4, '0')}>`);
      else words.push(pick(WORDS));
    }
    return `${words.join(next() < 0.1 ? '  ' : ' ')}${next() < 0.3 ? '.' : ''}`;
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// A fresh corpus per timed run: the BPE word caches of both libraries would otherwise serve
// repeated sentences from memory. Each run's corpus has about the same number of tokens.
const runs = Array.from({ length: 6 }, (_, run) => corpus(5000, 100 + run));
const sentences = runs[0]!;
const document = corpus(2000, 2).join(' '); // one long text (no pre-tokenizer split: one BPE word per line)
const chars = sentences.reduce((n, s) => n + s.length, 0);

const ours = await loadTokenizerFromDir(DIR);
const lib = new Tokenizer(JSON.parse(await readFile(`${DIR}/tokenizer.json`, 'utf8')), {});
env.allowRemoteModels = false;
env.localModelPath = FIXTURES;
const tjs = await AutoTokenizer.from_pretrained('tokenizer', { local_files_only: true });

const ids = sentences.map((s) => ours.encode(s));
const tokens = ids.reduce((n, r) => n + r.length, 0);

const agree = {
  lib: sentences.filter((s, i) => JSON.stringify(lib.encode(s).ids) === JSON.stringify(ids[i])).length,
  tjs: sentences.filter((s, i) => JSON.stringify(tjs.encode(s)) === JSON.stringify(ids[i])).length,
  libDecode: ids.filter((r) => lib.decode(r, { skip_special_tokens: false }) === ours.decode(r)).length,
  tjsDecode: ids.filter((r) => tjs.decode(r, { skip_special_tokens: false }) === ours.decode(r)).length,
};

interface Impl {
  impl: string;
  fn: (run: number) => void;
}
interface Task {
  task: string;
  amount: number;
  impls: Impl[];
}
const RUNS = 5;
/** for-of as an expression; its callbacks' results are discarded. */
const each = <T>(xs: readonly T[], f: (x: T) => unknown): void => {
  for (const x of xs) f(x);
};
const tasks: Task[] = [];
const encodeTokens = runs.map((r) => r.reduce((n, s) => n + ours.encode(s).length, 0));
const meanEncodeTokens = encodeTokens.slice(1).reduce((a, b) => a + b, 0) / RUNS;
const docTokens = ours.encode(document).length;
const docTask = `encode one ${Math.round(document.length / 1000)} k-char text`;

tasks.push({
  task: 'encode 5000 sentences (fresh each run)',
  amount: meanEncodeTokens,
  impls: [
    { impl: '@pali/tokenizer', fn: (run) => each(runs[run]!, (s) => ours.encode(s)) },
    { impl: '@huggingface/tokenizers 0.2.0', fn: (run) => each(runs[run]!, (s) => lib.encode(s)) },
    { impl: 'transformers.js 4.3.1', fn: (run) => each(runs[run]!, (s) => tjs.encode(s)) },
  ],
});
tasks.push({
  task: docTask,
  amount: docTokens,
  impls: [
    { impl: '@pali/tokenizer', fn: () => ours.encode(document) },
    { impl: '@huggingface/tokenizers 0.2.0', fn: () => lib.encode(document) },
    { impl: 'transformers.js 4.3.1', fn: () => tjs.encode(document) },
  ],
});
tasks.push({
  task: 'decode 5000 sequences',
  amount: tokens,
  impls: [
    { impl: '@pali/tokenizer', fn: () => each(ids, (r) => ours.decode(r, { skipSpecialTokens: true })) },
    {
      impl: '@huggingface/tokenizers 0.2.0',
      fn: () => each(ids, (r) => lib.decode(r, { skip_special_tokens: true })),
    },
    {
      impl: 'transformers.js 4.3.1',
      fn: () => each(ids, (r) => tjs.decode(r, { skip_special_tokens: true })),
    },
  ],
});
tasks.push({
  task: 'stream 5000 sequences token by token',
  amount: tokens,
  impls: [
    {
      impl: '@pali/tokenizer StreamingDetokenizer',
      fn: () => {
        for (const r of ids) {
          const stream = new StreamingDetokenizer(ours);
          for (const id of r) stream.push(id);
          stream.flush();
        }
      },
    },
    {
      impl: 'transformers.js, decode of the growing prefix',
      fn: () => {
        for (const r of ids)
          for (let i = 1; i <= r.length; i++) tjs.decode(r.slice(0, i), { skip_special_tokens: true });
      },
    },
  ],
});

/** Warm-up run 0, then RUNS timed runs with the implementations interleaved (the machine's load drifts). */
const results = tasks.map((task) => {
  each(task.impls, (i) => i.fn(0));
  const times = task.impls.map(() => [] as number[]);
  for (let run = 1; run <= RUNS; run++) {
    task.impls.forEach((impl, k) => {
      const t0 = performance.now();
      impl.fn(run);
      times[k]!.push((performance.now() - t0) / 1000);
    });
  }
  return task.impls.map((impl, k) => ({
    task: task.task,
    impl: impl.impl,
    amount: task.amount,
    seconds: median(times[k]!),
  }));
});

console.log(`node ${process.versions.node}, ${cpus()[0]?.model.trim()} (${availableParallelism()} cores)`);
console.log(
  `corpus: ${sentences.length} sentences, ${chars} chars, ${tokens} tokens (fixture tokenizer, ${ours.vocabSize} ids)`,
);
console.log(
  `agreement with @pali/tokenizer: ids ${agree.lib}/${sentences.length} (@huggingface/tokenizers), ` +
    `${agree.tjs}/${sentences.length} (transformers.js); decode ${agree.libDecode}/${ids.length}, ${agree.tjsDecode}/${ids.length}\n`,
);
console.log('| task | implementation | median s | throughput |');
console.log('|---|---|---|---|');
for (const r of results.flat()) {
  console.log(
    `| ${r.task} | ${r.impl} | ${r.seconds.toFixed(4)} | ${(r.amount / r.seconds / 1000).toFixed(0)} k tokens/s |`,
  );
}
