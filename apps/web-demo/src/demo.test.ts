import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertCheckpoint } from '@pali/convert';
import { FIXTURES_DIR, fixtureModelDir, fixturePath } from '@pali/fixtures';
import { PaliGemma } from '@pali/node';
import { type Browser, hasChromium, openChromium, type StaticServer, serveStatic } from '@pali/web/testing';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const APP = fileURLToPath(new URL('../', import.meta.url));
// docs/web-demo.png is rewritten only on request (it shows a random port, so every run differs).
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../../docs/web-demo.png', import.meta.url));
const MODEL = 'tiny-28b';
const IMAGE = 'images/big-160x120.png';
// A label for which this random tiny model writes boxes (found by trying the fixture images).
const LABEL = 'person';

const title = hasChromium
  ? 'the web demo, built, in headless Chromium (segment not run: see the README)'
  : 'the web demo in headless Chromium (SKIPPED: /usr/bin/chromium is missing; apt-get install chromium)';

describe.skipIf(!hasChromium)(title, () => {
  const work = mkdtempSync(join(tmpdir(), 'pali-web-demo-'));
  let server: StaticServer;
  let browser: Browser;
  const node = { caption: '', captionTokens: 0, detect: '', objects: 0 };

  beforeAll(async () => {
    await build({ root: APP, logLevel: 'silent', build: { outDir: join(work, 'dist'), emptyOutDir: true } });
    await convertCheckpoint(fixtureModelDir(MODEL), join(work, 'model'), { overwrite: true });
    // The Node result for the same model folder, image and prompts.
    const pg = await PaliGemma.load(join(work, 'model'), { threads: 1 });
    try {
      const caption = await pg.caption(fixturePath(IMAGE));
      const detected = await pg.detect(fixturePath(IMAGE), LABEL);
      Object.assign(node, {
        caption: caption.text,
        captionTokens: caption.tokens.length,
        detect: detected.text,
        objects: detected.objects.length,
      });
    } finally {
      await pg.dispose();
    }
    server = await serveStatic({
      '/': { dir: join(work, 'dist') },
      '/model/': { dir: join(work, 'model') },
      '/fixtures/': { dir: FIXTURES_DIR },
    });
    browser = await openChromium();
    await browser.page.setViewportSize({ width: 1100, height: 820 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('loads the model from ?model= in a worker, streams caption and detect as Node gives them, draws the boxes', async () => {
    const { page } = browser;
    const model = `${server.origin}/model/`;
    await page.goto(
      `${server.origin}/?model=${encodeURIComponent(model)}&backend=auto&image=/fixtures/${IMAGE}`,
    );
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 45_000 });
    await page.waitForSelector('#image[width]');
    const status = await page.textContent('#model-status');
    // No GPU here: 'auto' finds no WebGPU adapter and runs on wasm, threaded (the page is isolated).
    expect(status).toMatch(/^Ready on wasm \(2 threads\)/);
    expect(await page.getAttribute('#model-status', 'data-backend')).toBe('wasm');

    // Record every text the answer shows while it streams.
    const watch = () =>
      page.evaluate(() => {
        const answer = document.getElementById('answer')!;
        const seen: string[] = [];
        (globalThis as { seen?: string[] }).seen = seen;
        new MutationObserver(() => seen.push(answer.textContent ?? '')).observe(answer, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
    const run = async () => {
      await page.click('#run');
      await page.waitForSelector('body[data-state="done"]', { timeout: 45_000 });
      const seen = await page.evaluate(() => (globalThis as { seen?: string[] }).seen ?? []);
      return { seen: seen.filter((s) => s !== ''), answer: (await page.textContent('#answer')) ?? '' };
    };

    await watch();
    const caption = await run();
    expect(caption.answer).toBe(node.caption);
    // One update per token, each a prefix of the next; the whole streamed text is the answer untrimmed.
    expect(caption.seen.length).toBeGreaterThanOrEqual(node.captionTokens);
    const streamed = caption.seen.reduce((a, b) => (b.length > a.length ? b : a));
    expect(streamed.trim()).toBe(node.caption);
    for (const s of caption.seen) expect(streamed.startsWith(s) || s === node.caption).toBe(true);

    await page.selectOption('#task', 'detect');
    await page.fill('#text', LABEL);
    await watch();
    const detect = await run();
    expect(detect.answer).toBe(node.detect);
    expect(detect.seen.length).toBeGreaterThan(10);
    expect(node.objects).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('#overlay', 'data-objects'))).toBe(node.objects);
    expect(await page.locator('#objects li').count()).toBe(node.objects);
    const painted = await page.evaluate(() => {
      const c = document.getElementById('overlay') as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(100);
    const shot = process.env.PALI_UPDATE_SCREENSHOT === '1' ? DOCS_SCREENSHOT : join(work, 'web-demo.png');
    expect((await page.screenshot({ path: shot, fullPage: true })).byteLength).toBeGreaterThan(10_000);
  }, 90_000);

  it('loads a model folder picked with the directory picker (File objects) and captions the same', async () => {
    const { page } = browser;
    await page.goto(`${server.origin}/?backend=wasm&image=/fixtures/${IMAGE}`);
    await page.setInputFiles('#model-dir', join(work, 'model'));
    await page.click('#load');
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 45_000 });
    expect(await page.textContent('#model-status')).toMatch(/^Ready on wasm \(2 threads\)\. \d+ local files/);
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]', { timeout: 45_000 });
    expect(await page.textContent('#answer')).toBe(node.caption);
  }, 90_000);
});
