import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import {
  fixtureImagePath,
  fixtureModelDir,
  fixturePath,
  goldenCases,
  goldenTensor,
  readFixtureJson,
} from '@pali/fixtures';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../exit-codes.js';
import { runCli } from '../run.js';
import { bufferIO } from '../test-io.js';

const work = mkdtempSync(join(tmpdir(), 'pali-cli-'));
const model = join(work, 'tiny-3b');
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await convertCheckpoint(fixtureModelDir('tiny-3b'), model);
});

const image = fixtureImagePath;

async function pali(...args: string[]) {
  const io = bufferIO({ cwd: work });
  const status = await runCli(args, io);
  return { status, out: io.out(), err: io.err() };
}

describe('pali generate / tasks on a converted fixture model', () => {
  it('generate --json gives HF greedy tokens and the prompt tokens', async () => {
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
      '--json',
    );
    expect(r.status, r.err).toBe(EXIT.OK);
    const json = JSON.parse(r.out) as {
      text: string;
      tokens: number[];
      promptTokens: number[];
      finishReason: string;
    };
    const golden = Array.from(goldenTensor(c.tensors.tokens!).data);
    const eos = (
      readFixtureJson('models/tiny-3b/generation_config.json') as { eos_token_id: number | number[] }
    ).eos_token_id;
    const eosIds = Array.isArray(eos) ? eos : [eos];
    const cut = golden.findIndex((t) => eosIds.includes(t));
    expect(json.tokens).toEqual(cut >= 0 ? golden.slice(0, cut + 1) : golden);
    expect(json.promptTokens).toEqual(Array.from(goldenTensor(c.tensors.input_ids!).data));
    expect(typeof json.text).toBe('string');
  });

  it('generate streams text without --json, and sampling with a seed repeats itself', async () => {
    const args = [
      'generate',
      '--model',
      model,
      '--image',
      image('rgb-37x23'),
      '--prompt',
      'caption en',
      '--max-new-tokens',
      '8',
    ];
    const plain = await pali(...args);
    expect(plain.status, plain.err).toBe(EXIT.OK);
    expect(plain.out.endsWith('\n')).toBe(true);
    const a = await pali(...args, '--temperature', '1.5', '--seed', '3', '--json');
    const b = await pali(...args, '--temperature', '1.5', '--seed', '3', '--json');
    expect(JSON.parse(a.out).tokens).toEqual(JSON.parse(b.out).tokens);
    const beams = await pali(...args, '--num-beams', '3', '--json');
    expect(beams.status, beams.err).toBe(EXIT.OK);
  });

  it('caption, ask and detect --out run; detect writes a PNG of the image size', async () => {
    const caption = await pali(
      'caption',
      image('big-160x120'),
      '--model',
      model,
      '--max-new-tokens',
      '6',
      '--json',
    );
    expect(caption.status, caption.err).toBe(EXIT.OK);
    expect(JSON.parse(caption.out).tokens.length).toBeGreaterThan(0);
    const ask = await pali(
      'ask',
      image('big-160x120'),
      'what is this?',
      '--model',
      model,
      '--max-new-tokens',
      '4',
    );
    expect(ask.status, ask.err).toBe(EXIT.OK);
    const out = join(work, 'boxes.png');
    const detect = await pali(
      'detect',
      image('photo-96x72'),
      'cat ; dog',
      '--model',
      model,
      '--out',
      out,
      '--max-new-tokens',
      '8',
    );
    expect(detect.status, detect.err).toBe(EXIT.OK);
    expect(await sharp(out).metadata()).toMatchObject({ width: 96, height: 72, format: 'png' });
  });

  it('usage errors: a bad dtype, a missing image, segment without --vae', async () => {
    const bad = await pali('caption', image('big-160x120'), '--model', model, '--dtype', 'int3');
    expect(bad.status).toBe(EXIT.USAGE);
    expect(bad.err).toMatch(/pali: error INVALID_ARGUMENT: --dtype int3/);
    const missing = await pali('caption', join(work, 'nope.png'), '--model', model);
    expect(missing.status).toBe(EXIT.FAILURE);
    expect(missing.err).toMatch(/^pali: error NOT_FOUND/);
    const noVae = await pali('segment', image('big-160x120'), 'cat', '--model', model);
    expect(noVae.status).toBe(EXIT.USAGE);
    expect(noVae.err).toMatch(/needs --vae FILE/);
  });
});

describe('pali segment --output-text: masks decoded by the VQ-VAE, drawn over the image', () => {
  it("the overlay's mask pixels and the mask size match the golden placement", async () => {
    interface Placement {
      codes_index: number;
      locs: [number, number, number, number];
      width: number;
      height: number;
      box: { x1: number; y1: number; x2: number; y2: number };
      binary_packbits: string;
      binary_count: number;
    }
    const cases = readFixtureJson<{ codes: number[][]; placements: Placement[] }>('vqvae/cases.json');
    const p = cases.placements.find((x) => x.box.x2 - x.box.x1 > 8 && x.box.y2 - x.box.y1 > 20)!;
    const black = join(work, 'black.png');
    await sharp({
      create: { width: p.width, height: p.height, channels: 3, background: { r: 0, g: 0, b: 0 } },
    })
      .png()
      .toFile(black);
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const text = `${p.locs.map((l) => `<loc${pad(l, 4)}>`).join('')}${cases.codes[p.codes_index]!.map((c) => `<seg${pad(c, 3)}>`).join('')} cat`;
    const out = join(work, 'mask.png');
    const r = await pali(
      'segment',
      black,
      'cat',
      '--vae',
      fixturePath('vqvae/vae-tiny.npz'),
      '--output-text',
      text,
      '--out',
      out,
      '--json',
    );
    expect(r.status, r.err).toBe(EXIT.OK);
    const json = JSON.parse(r.out);
    expect(json.objects[0].maskBox).toEqual(p.box);
    expect(json.objects[0].maskPixels).toBe(p.binary_count);
    // Unpack the golden mask (numpy packbits, MSB first) and compare with the drawn pixels inside the
    // box, away from its 2-pixel outline and below the label text.
    const bits = Buffer.from(p.binary_packbits, 'base64');
    const golden = (x: number, y: number) =>
      (bits[(y * p.width + x) >> 3]! >> (7 - ((y * p.width + x) & 7))) & 1;
    const { data, info } = await sharp(readFileSync(out)).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    let compared = 0;
    for (let y = Math.max(p.box.y1 + 2, 14); y < p.box.y2 - 2; y++) {
      for (let x = p.box.x1 + 2; x < p.box.x2 - 2; x++) {
        const i = (y * p.width + x) * 3;
        const drawn = data[i]! + data[i + 1]! + data[i + 2]! > 0 ? 1 : 0;
        expect(drawn, `pixel ${x},${y}`).toBe(golden(x, y));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(50);
  });
});
