import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertCheckpoint } from '@pali/convert';
import { fixtureImagePath, fixtureModelDir, goldenCases, goldenTensor } from '@pali/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from './exit-codes.js';

// `pali` as users run it: a child process, from the TypeScript source through tsx (so a stale
// dist/ cannot hide a change), on a fixture model converted once for this file.
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), 'bin.ts');
const TSX = import.meta.resolve('tsx');
const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../test-data');
const work = mkdtempSync(join(tmpdir(), 'pali-cli-sub-'));
const model = join(work, 'tiny-3b');
const image = fixtureImagePath;

beforeAll(async () => {
  await convertCheckpoint(fixtureModelDir('tiny-3b'), model);
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function pali(...args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', TSX, '--conditions=source', CLI, ...args], {
      cwd: work,
      env: { ...process.env, HF_HUB_OFFLINE: '1', NO_COLOR: '1' },
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
    child.on('close', (status) => done({ status, out, err }));
  });
}

/** A failure is one line on stderr: `pali: error CODE: message`. */
function expectOneErrorLine(err: string, code: string): void {
  const lines = err.trim().split('\n');
  expect(lines, err).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^pali: error ${code}: `));
}

describe('pali as a subprocess: frame and errors', () => {
  it('--help lists every subcommand; --version prints the version', async () => {
    const help = await pali('--help');
    expect(help.status).toBe(EXIT.OK);
    for (const c of [
      'caption',
      'describe',
      'ocr',
      'ask',
      'detect',
      'segment',
      'generate',
      'convert',
      'preprocess',
      'tokenize',
      'eval',
      'bench',
      'env',
    ])
      expect(help.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    const version = await pali('--version');
    expect(version.status).toBe(EXIT.OK);
    expect(version.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown flag is a usage error (exit 2) in one line', async () => {
    const r = await pali('caption', image('rgb-37x23'), '--model', model, '--bogus');
    expect(r.status).toBe(EXIT.USAGE);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/unknown option '--bogus'/);
  });

  it('a missing image, a bad model folder and two images without --jsonl each give one clear line', async () => {
    const missing = await pali('caption', join(work, 'nope.png'), '--model', model);
    expect(missing.status).toBe(EXIT.FAILURE);
    expectOneErrorLine(missing.err, 'NOT_FOUND');
    const empty = join(work, 'empty-model');
    mkdirSync(empty, { recursive: true });
    const bad = await pali('caption', image('rgb-37x23'), '--model', empty, '--offline');
    expect(bad.status).toBe(EXIT.FAILURE);
    expectOneErrorLine(bad.err, '[A-Z_]+');
    const two = await pali('caption', image('rgb-37x23'), image('grey-40x33'), '--model', model);
    expect(two.status).toBe(EXIT.USAGE);
    expectOneErrorLine(two.err, 'INVALID_ARGUMENT');
    const noData = await pali('eval', 'vqa', '--data', join(work, 'none.jsonl'), '--predictions', 'x');
    expect(noData.status).toBe(EXIT.FAILURE);
    expectOneErrorLine(noData.err, 'NOT_FOUND');
  });
});

describe('pali as a subprocess: tasks on the converted fixture model', () => {
  it('generate --ignore-eos --json gives all 24 HF greedy tokens (HF generate with eos_token_id=[])', async () => {
    const c = goldenCases('tiny-3b').find((x) => x.case === 'caption')!;
    const r = await pali(
      'generate',
      '--model',
      model,
      '--image',
      image(c.images[0]!),
      '--prompt',
      c.prompts[0]!,
      '--max-new-tokens',
      '24',
      '--ignore-eos',
      '--json',
    );
    expect(r.status, r.err).toBe(EXIT.OK);
    const json = JSON.parse(r.out) as {
      text: string;
      tokens: number[];
      promptTokens: number[];
      finishReason: string;
    };
    expect(Object.keys(json).sort()).toEqual(['finishReason', 'promptTokens', 'text', 'tokens']);
    expect(json.tokens).toEqual(Array.from(goldenTensor(c.tensors.tokens!).data).slice(0, 24));
    expect(json.finishReason).toBe('length');
  });

  it('caption, describe, ocr, ask --json print {text, tokens}; detect --json prints {objects, text, skipped}', async () => {
    for (const args of [
      ['caption', image('rgb-37x23')],
      ['describe', image('rgb-37x23'), '--lang', 'de'],
      ['ocr', image('grey-40x33')],
      ['ask', image('rgb-37x23'), 'what is this?'],
    ]) {
      const r = await pali(...args, '--model', model, '--max-new-tokens', '6', '--json');
      expect(r.status, `${args[0]}: ${r.err}`).toBe(EXIT.OK);
      const json = JSON.parse(r.out) as { text: unknown; tokens: unknown[] };
      expect(Object.keys(json).sort()).toEqual(['text', 'tokens']);
      expect(typeof json.text).toBe('string');
      expect(json.tokens.length).toBeGreaterThan(0);
      expect(json.tokens.length).toBeLessThanOrEqual(6);
    }
    const d = await pali(
      'detect',
      image('rgb-37x23'),
      'cat ; dog',
      '--model',
      model,
      '--max-new-tokens',
      '8',
      '--json',
    );
    expect(d.status, d.err).toBe(EXIT.OK);
    expect(Object.keys(JSON.parse(d.out) as object).sort()).toEqual(['objects', 'skipped', 'text']);
  });

  it('tokenize, preprocess, env and segment without --vae', async () => {
    const t = await pali('tokenize', 'caption en', '--model', model, '--json');
    expect(t.status, t.err).toBe(EXIT.OK);
    expect(Object.keys(JSON.parse(t.out) as object)).toEqual(expect.arrayContaining(['ids', 'tokens']));
    const p = await pali('preprocess', image('rgb-37x23'), '--model', model, '--json');
    expect(p.status, p.err).toBe(EXIT.OK);
    expect((JSON.parse(p.out) as { shape: number[] }).shape).toEqual([1, 3, 56, 56]);
    const e = await pali('env', '--json');
    expect(e.status, e.err).toBe(EXIT.OK);
    expect(typeof JSON.parse(e.out)).toBe('object');
    const s = await pali('segment', image('rgb-37x23'), 'cat', '--model', model);
    expect(s.status).not.toBe(EXIT.OK);
    expect(s.err.trim().split('\n')).toHaveLength(1);
  });

  it('convert --json writes a folder that caption then runs', async () => {
    const out = join(work, 'converted-again');
    const r = await pali('convert', fixtureModelDir('tiny-3b'), out, '--json');
    expect(r.status, r.err).toBe(EXIT.OK);
    const json = JSON.parse(r.out) as {
      files: { path: string; bytes: number }[];
      totalBytes: number;
      peakRssBytes: number;
    };
    expect(json.files.map((f) => f.path)).toContain('onnx/decoder_model_merged.onnx');
    expect(json.totalBytes).toBe(json.files.reduce((s, f) => s + f.bytes, 0));
    expect(json.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    const c = await pali('caption', image('rgb-37x23'), '--model', out, '--max-new-tokens', '3');
    expect(c.status, c.err).toBe(EXIT.OK);
  });
});

describe('pali as a subprocess: the int8 prompt pass', () => {
  it('convert --prefill int8 writes the int8 graphs; caption --prefill int8 runs on them, and --prefill off and a bad value are handled', async () => {
    const out = join(work, 'with-prefill');
    const r = await pali(
      'convert',
      fixtureModelDir('tiny-3b'),
      out,
      '--dtype',
      'q4',
      '--prefill',
      'int8',
      '--json',
    );
    expect(r.status, r.err).toBe(EXIT.OK);
    const paths = (JSON.parse(r.out) as { files: { path: string }[] }).files.map((f) => f.path);
    expect(paths).toContain('onnx/decoder_prefill_int8_q4.onnx');
    expect(paths).toContain('onnx/vision_encoder_prefill_int8.onnx');
    // tiny-3b has two layers: one part at the default two layers per part.
    expect(paths).toContain('onnx/decoder_prefill_int8_q4_part00.onnx');
    expect(paths).not.toContain('onnx/decoder_prefill_int8_q4_part01.onnx');
    for (const flags of [
      ['--prefill', 'int8'],
      ['--prefill', 'off'],
      ['--prompt-sessions', 'transient'],
      ['--prompt-sessions', 'resident'],
    ]) {
      const c = await pali(
        'caption',
        image('rgb-37x23'),
        '--model',
        out,
        ...flags,
        '--max-new-tokens',
        '3',
        '--json',
      );
      expect(c.status, c.err).toBe(EXIT.OK);
      expect((JSON.parse(c.out) as { tokens: number[] }).tokens.length).toBeGreaterThan(0);
    }
    const badSessions = await pali('caption', image('rgb-37x23'), '--model', out, '--prompt-sessions', 'x');
    expect(badSessions.status).not.toBe(EXIT.OK);
    expect(badSessions.err).toContain('--prompt-sessions x');
    const badParts = await pali(
      'convert',
      fixtureModelDir('tiny-3b'),
      join(work, 'bad-parts'),
      '--prefill',
      'int8',
      '--prefill-part-layers',
      '1.5',
    );
    expect(badParts.status).not.toBe(EXIT.OK);
    expect(badParts.err).toContain('--prefill-part-layers 1.5');
    // The plain fixture folder has no int8 graphs: asking for them says how to make them.
    const missing = await pali('caption', image('rgb-37x23'), '--model', model, '--prefill', 'int8');
    expect(missing.status).toBe(EXIT.FAILURE);
    expect(missing.err).toContain('--prefill int8');
    const bad = await pali('caption', image('rgb-37x23'), '--model', model, '--prefill', 'fast');
    expect(bad.status).not.toBe(EXIT.OK);
    expect(bad.err).toContain('--prefill fast');
  });
});

describe('pali as a subprocess: --jsonl batches', () => {
  it('writes one line per image, records a failing input and goes on, and a rerun skips what is done', async () => {
    const dir = join(work, 'images');
    mkdirSync(dir, { recursive: true });
    copyFileSync(image('rgb-37x23'), join(dir, 'a.png'));
    copyFileSync(image('grey-40x33'), join(dir, 'b.png'));
    writeFileSync(join(dir, 'broken.png'), 'not a png');
    writeFileSync(join(dir, 'notes.txt'), 'not an image, not listed');
    const jsonl = join(work, 'captions.jsonl');
    const first = await pali(
      'caption',
      dir,
      '--model',
      model,
      '--max-new-tokens',
      '4',
      '--jsonl',
      jsonl,
      '--json',
    );
    expect(first.status, first.err).toBe(EXIT.OK);
    const summary = JSON.parse(first.out) as Record<string, number>;
    expect(summary).toMatchObject({ total: 3, done: 2, skipped: 0, failed: 1 });
    expect(summary.imagesPerSec).toBeGreaterThan(0);
    const lines = readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.input)).toEqual(['a.png', 'b.png', 'broken.png'].map((n) => join(dir, n)));
    expect(lines[0]).toMatchObject({ task: 'caption' });
    expect(typeof lines[0]!.text).toBe('string');
    const failed = lines.find((l) => String(l.input).endsWith('broken.png'))!;
    expect((failed.error as { code: string }).code).toMatch(/^[A-Z_]+$/);

    // A crash mid-line leaves a partial last line: the rerun drops it and runs that input again.
    writeFileSync(jsonl, `${readFileSync(jsonl, 'utf8')}{"input": "cut sh`);
    copyFileSync(image('tall-9x120'), join(dir, 'c.png'));
    const second = await pali(
      'caption',
      dir,
      '--model',
      model,
      '--max-new-tokens',
      '4',
      '--jsonl',
      jsonl,
      '--json',
    );
    expect(second.status, second.err).toBe(EXIT.OK);
    expect(JSON.parse(second.out)).toMatchObject({ total: 4, done: 1, skipped: 3, failed: 0 });
    expect(readFileSync(jsonl, 'utf8').trim().split('\n')).toHaveLength(4);

    const asked = await pali(
      'ask',
      join(dir, 'a.png'),
      join(dir, 'b.png'),
      'what is it?',
      '--model',
      model,
      '--max-new-tokens',
      '3',
      '--jsonl',
      join(work, 'ask.jsonl'),
    );
    expect(asked.status, asked.err).toBe(EXIT.OK);
    expect(asked.err).toMatch(/2 done, 0 skipped, 0 failed in [\d.]+ s \([\d.]+ images\/s\)/);
    const askLines = readFileSync(join(work, 'ask.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(askLines.map((l) => [l.task, l.question])).toEqual([
      ['ask', 'what is it?'],
      ['ask', 'what is it?'],
    ]);
    const det = await pali(
      'detect',
      dir,
      'cat',
      '--model',
      model,
      '--max-new-tokens',
      '4',
      '--jsonl',
      join(work, 'det.jsonl'),
    );
    expect(det.status, det.err).toBe(EXIT.OK);
    const detLine = JSON.parse(readFileSync(join(work, 'det.jsonl'), 'utf8').split('\n')[0]!) as Record<
      string,
      unknown
    >;
    expect(Array.isArray(detLine.objects)).toBe(true);
  });
});

describe('pali as a subprocess: eval vqa and bench plumbing', () => {
  it('eval vqa scores given predictions (hand-computed 0.825) and runs the model end to end', async () => {
    const data = join(DATA, 'vqa-sample.jsonl');
    const scored = await pali(
      'eval',
      'vqa',
      '--data',
      data,
      '--predictions',
      join(DATA, 'vqa-sample-predictions.jsonl'),
      '--json',
    );
    expect(scored.status, scored.err).toBe(EXIT.OK);
    const s = JSON.parse(scored.out) as { accuracy: number; n: number; perQuestion: { accuracy: number }[] };
    // q1 "Tree." matches 5 "tree" (1), q2 "three" → "3" matches 6 (1), q3 "no" matches one of ten
    // (9 subsets × 1/3 / 10 = 0.3), q4 "stop" matches 7 incl. "stop." (1): mean 0.825.
    expect(s.perQuestion.map((q) => q.accuracy)).toEqual([1, 1, expect.closeTo(0.3, 12), 1]);
    expect(s.accuracy).toBeCloseTo(0.825, 12);
    expect(s.n).toBe(4);
    const run = await pali(
      'eval',
      'vqa',
      '--data',
      data,
      '--model',
      model,
      '--max-new-tokens',
      '4',
      '--json',
    );
    expect(run.status, run.err).toBe(EXIT.OK);
    const r = JSON.parse(run.out) as {
      accuracy: number;
      n: number;
      perQuestion: { prediction: string; accuracy: number }[];
    };
    expect(r.n).toBe(4);
    expect(r.accuracy).toBeCloseTo(r.perQuestion.reduce((a, q) => a + q.accuracy, 0) / 4, 12);
    const plain = await pali(
      'eval',
      'vqa',
      '--data',
      data,
      '--predictions',
      join(DATA, 'vqa-sample-predictions.jsonl'),
    );
    expect(plain.out).toBe('VQA accuracy 82.50% on 4 questions\n');
  });

  it('bench --model-folder --tokens 4 --json times both implementations in child processes', async () => {
    const r = await pali(
      'bench',
      '--model-folder',
      model,
      '--dtype',
      'fp32',
      '--tokens',
      '4',
      '--no-limits',
      '--json',
    );
    expect(r.status, r.err).toBe(EXIT.OK);
    const rows = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((x) => x.impl)).toEqual(['ours', 'transformers.js']);
    for (const row of rows) {
      expect(row.error, String(row.error)).toBeUndefined();
      expect(row).toMatchObject({ size: 56, generatedTokens: 4 });
      for (const k of ['loadMs', 'ttftMs', 'decodeTokensPerSec', 'peakRssBytes', 'modelBytes', 'ttftAgainMs'])
        expect(row[k] as number, k).toBeGreaterThan(0);
    }
    // Ours ran its steps on the folder's step graph (what the loaded model said), unless told not to.
    expect(rows[0]!.stepGraph).toBe(true);
    const off = await pali(
      'bench',
      '--model-folder',
      model,
      '--dtype',
      'fp32',
      '--tokens',
      '2',
      '--no-limits',
      '--json',
      '--impl',
      'ours',
      '--step-graph',
      'off',
    );
    expect(off.status, off.err).toBe(EXIT.OK);
    expect(JSON.parse(off.out.trim()).stepGraph).toBe(false);
  });
});
