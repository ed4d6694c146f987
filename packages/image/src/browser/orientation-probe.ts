import type { ImageFormat } from '../format.js';

/**
 * 2×1 images tagged EXIF orientation 6 (written by Pillow): a browser that honours the tag decodes
 * them as 1×2. Chromium honours it in JPEG only, so for the other formats the decoder applies the
 * tag itself, after asking the browser once per format.
 */
const PROBES: Partial<Record<ImageFormat, string>> = {
  webp: 'UklGRlIAAABXRUJQVlA4WAoAAAAIAAAAAQAAAAAAVlA4TBEAAAAvAQAAAAdQiirUo/+BiOh/AABFWElGGgAAAE1NACoAAAAIAAEBEgADAAAAAQAGAAAAAAAA',
  png: 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAGmVYSWZNTQAqAAAACAABARIAAwAAAAEABgAAAAAAANZnS2kAAAAPSURBVHicY+QSkWNgYAAAASYAPmP4YFkAAAAASUVORK5CYII=',
};

const answers = new Map<ImageFormat, Promise<boolean>>();

async function probe(base64: string): Promise<boolean> {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes]), { imageOrientation: 'from-image' });
  const applied = bitmap.width === 1 && bitmap.height === 2;
  bitmap.close();
  return applied;
}

/** Whether createImageBitmap applies EXIF orientation for this format (JPEG and unknown: assumed). */
export function browserAppliesOrientation(format: ImageFormat): Promise<boolean> {
  const base64 = PROBES[format];
  if (!base64) return Promise.resolve(true);
  let answer = answers.get(format);
  if (!answer) {
    answer = probe(base64).catch(() => true);
    answers.set(format, answer);
  }
  return answer;
}
