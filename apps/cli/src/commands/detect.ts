import { resolve } from 'node:path';
import { decodeImage } from '@pali/image/node';
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

interface DetectFlags extends ModelFlags {
  out?: string;
  maxNewTokens?: string;
}

/** `pali detect IMAGE "cat ; dog" [--out boxes.png]`: boxes in the image's pixels. */
export function registerDetect(program: Command, io: CliIO): void {
  withModelOptions(
    program
      .command('detect')
      .description('find objects: boxes in the original image pixels (x1, y1, x2, y2)')
      .argument('<image>', 'image file or URL')
      .argument('<objects>', 'what to find, separated by ";" (e.g. "cat ; dog")')
      .option('--out <file.png>', 'write the image with the boxes and labels drawn')
      .option('--max-new-tokens <n>', 'most tokens to generate', '128'),
  ).action(async (image: string, objects: string, flags: DetectFlags) => {
    const { signal, release } = interruptSignal();
    const path = /^https?:\/\//.test(image) ? image : resolve(io.cwd, image);
    const pg = await loadModel(flags, io, signal);
    try {
      const decoded = await decodeImage(path, { signal });
      const result = await pg.detect(decoded, objects, {
        maxNewTokens: positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 128,
        signal,
      });
      if (flags.out) await writeOverlayPng(decoded, result.objects, resolve(io.cwd, flags.out));
      if (flags.json) io.stdout(`${JSON.stringify(result)}\n`);
      else {
        for (const o of result.objects)
          io.stdout(`${o.label}\t${o.box.x1} ${o.box.y1} ${o.box.x2} ${o.box.y2}\n`);
        if (result.objects.length === 0)
          io.stdout(`no objects found (model output: ${JSON.stringify(result.text)})\n`);
      }
    } finally {
      release();
      await pg.dispose();
    }
  });
}
