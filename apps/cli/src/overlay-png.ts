import { writeFile } from 'node:fs/promises';
import type { RgbImage } from '@pali/image';
import { drawMasksAndBoxes, OVERLAY_PALETTE, type OverlayObject, type PixelBox } from '@pali/vqvae';
import sharp from 'sharp';

export interface LabelledObject {
  label: string;
  box: PixelBox;
  mask?: Uint8Array;
}

/**
 * Draws boxes (and masks) over the image as Pillow would (drawMasksAndBoxes), then the labels as
 * text through an SVG layer, and writes a PNG.
 */
export async function writeOverlayPng(
  image: RgbImage,
  objects: readonly LabelledObject[],
  path: string,
): Promise<void> {
  const drawn = drawMasksAndBoxes(
    image.data,
    image.width,
    image.height,
    objects.map((o): OverlayObject => (o.mask ? { box: o.box, mask: o.mask } : { box: o.box })),
  );
  const fontSize = Math.max(10, Math.round(Math.min(image.width, image.height) / 30));
  const labels = objects
    .map((o, i) => {
      const [r, g, b] = OVERLAY_PALETTE[i % OVERLAY_PALETTE.length]!;
      const x = Math.max(0, o.box.x1);
      const y = Math.max(fontSize, o.box.y1);
      const text = o.label.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
      return `<text x="${x + 2}" y="${y - 2}" font-family="sans-serif" font-size="${fontSize}" fill="rgb(${r},${g},${b})" stroke="black" stroke-width="0.5">${text}</text>`;
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}">${labels}</svg>`;
  const composed = await sharp(Buffer.from(drawn.buffer, drawn.byteOffset, drawn.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .composite(objects.length ? [{ input: Buffer.from(svg), top: 0, left: 0 }] : [])
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Compositing adds an alpha channel; the overlay is an opaque RGB image.
  const png = await sharp(composed.data, { raw: composed.info }).removeAlpha().png().toBuffer();
  await writeFile(path, png);
}
