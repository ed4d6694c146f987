import { resolve } from 'node:path';
import { masksFromText, type SegmentResult } from '@pali/core';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { decodeImage } from '@pali/image/node';
import { maskDecoder } from '@pali/node';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import {
  interruptSignal,
  loadModel,
  type ModelFlags,
  positiveInt,
  withModelOptions,
} from '../model-options.js';
import { writeOverlayPng } from '../overlay-png.js';

interface SegmentFlags extends ModelFlags {
  vae?: string;
  out?: string;
  outputText?: string;
  maxNewTokens?: string;
}

/** `pali segment IMAGE "cat ; dog" --vae vae-oid.npz [--out mask.png]`: masks from the model's <seg> codes. */
export function registerSegment(program: Command, io: CliIO): void {
  withModelOptions(
    program
      .command('segment')
      .description("segment objects: a box and a mask for each, decoded by big_vision's VQ-VAE")
      .argument('<image>', 'image file or URL')
      .argument('<objects>', 'what to segment, separated by ";"')
      .option('--vae <file>', "big_vision's vae-oid.npz (the mask decoder's weights)")
      .option('--out <file.png>', 'write the image with the masks, boxes and labels drawn')
      .option(
        '--output-text <text>',
        'decode this model output instead of running the model (e.g. a saved answer)',
      )
      .option('--max-new-tokens <n>', 'most tokens to generate', '128'),
  ).action(async (image: string, objects: string, flags: SegmentFlags) => {
    if (!flags.vae) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'pali segment needs --vae FILE', {
        hint: "Download vae-oid.npz (big_vision's PaliGemma VQ-VAE) and pass its path",
      });
    }
    const { signal, release } = interruptSignal();
    const path = /^https?:\/\//.test(image) ? image : resolve(io.cwd, image);
    try {
      const decoded = await decodeImage(path, { signal });
      let result: SegmentResult;
      if (flags.outputText !== undefined) {
        const decoder = await maskDecoder(resolve(io.cwd, flags.vae), {});
        try {
          result = await masksFromText(flags.outputText, decoded.width, decoded.height, decoder, signal);
        } finally {
          await decoder.release?.();
        }
      } else {
        const pg = await loadModel({ ...flags, vae: resolve(io.cwd, flags.vae) } as ModelFlags, io, signal);
        try {
          result = await pg.segment(decoded, objects, {
            maxNewTokens: positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 128,
            signal,
          });
        } finally {
          await pg.dispose();
        }
      }
      if (flags.out) {
        await writeOverlayPng(
          decoded,
          result.objects.map((o) => ({ label: o.label, box: o.mask.box, mask: o.mask.binary })),
          resolve(io.cwd, flags.out),
        );
      }
      if (flags.json) {
        const objectsJson = result.objects.map((o) => ({
          label: o.label,
          box: o.box,
          maskBox: o.mask.box,
          codes: o.codes,
          maskPixels: o.mask.binary.reduce((s, v) => s + v, 0),
        }));
        io.stdout(
          `${JSON.stringify({ objects: objectsJson, text: result.text, skipped: result.skipped })}\n`,
        );
      } else {
        for (const o of result.objects) {
          const area = o.mask.binary.reduce((s, v) => s + v, 0);
          io.stdout(
            `${o.label}\t${o.mask.box.x1} ${o.mask.box.y1} ${o.mask.box.x2} ${o.mask.box.y2}\t${area} mask pixels\n`,
          );
        }
        if (result.objects.length === 0)
          io.stdout(`no objects found (model output: ${JSON.stringify(result.text)})\n`);
      }
    } finally {
      release();
    }
  });
}
