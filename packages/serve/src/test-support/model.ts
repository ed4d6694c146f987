import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { fixtureImagePath, fixtureModelDir } from '@pali/fixtures';

/** Converts the tiny-3b fixture checkpoint into a model folder under a temp dir. */
export async function tinyModel(): Promise<{ dir: string; model: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'pali-serve-'));
  const model = join(dir, 'tiny-3b');
  await convertCheckpoint(fixtureModelDir('tiny-3b'), model);
  return { dir, model, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function fixtureImage(name: string): string {
  return fixtureImagePath(name);
}

export function dataUrl(path: string, mime = 'image/png'): string {
  return `data:${mime};base64,${readFileSync(path).toString('base64')}`;
}
