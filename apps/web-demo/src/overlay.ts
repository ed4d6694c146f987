import { OVERLAY_PALETTE } from '@pali/vqvae';
import type { TaskResult } from '@pali/web';

type Found = NonNullable<TaskResult['objects']>[number];

/** The colour of object `k` (the same palette `pali segment` draws with). */
export function objectColor(k: number): string {
  const [r, g, b] = OVERLAY_PALETTE[k % OVERLAY_PALETTE.length]!;
  return `rgb(${r} ${g} ${b})`;
}

/** Draws masks (translucent) and boxes with labels over the image, in the image's own pixels. */
export function drawOverlay(
  canvas: HTMLCanvasElement,
  width: number,
  height: number,
  objects: readonly Found[],
): number {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, width, height);
  const line = Math.max(2, Math.round(Math.max(width, height) / 160));
  objects.forEach((o, k) => {
    const [r, g, b] = OVERLAY_PALETTE[k % OVERLAY_PALETTE.length]!;
    if ('mask' in o && o.mask) {
      const pixels = ctx.createImageData(width, height);
      const bits = o.mask.binary;
      for (let i = 0; i < bits.length; i++) {
        if (!bits[i]) continue;
        pixels.data.set([r, g, b, 115], i * 4);
      }
      // putImageData replaces pixels: draw the mask through a scratch canvas to blend it.
      const scratch = new OffscreenCanvas(width, height);
      scratch.getContext('2d')!.putImageData(pixels, 0, 0);
      ctx.drawImage(scratch, 0, 0);
    }
    const { x1, y1, x2, y2 } = o.box;
    ctx.strokeStyle = `rgb(${r} ${g} ${b})`;
    ctx.lineWidth = line;
    ctx.strokeRect(x1, y1, Math.max(1, x2 - x1), Math.max(1, y2 - y1));
    const font = Math.max(10, line * 5);
    ctx.font = `${font}px system-ui, sans-serif`;
    const text = o.label || '?';
    const w = ctx.measureText(text).width + 6;
    const ty = y1 - font - 2 >= 0 ? y1 - font - 2 : y1;
    ctx.fillStyle = `rgb(${r} ${g} ${b})`;
    ctx.fillRect(x1, ty, w, font + 2);
    ctx.fillStyle = '#fff';
    ctx.fillText(text, x1 + 3, ty + font - 1);
  });
  return objects.length;
}
