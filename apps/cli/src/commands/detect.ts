import { resolve } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { decodeImage } from '@pali/image/node';
import type { Command } from 'commander';
import { collectInputs, printSummary, runBatch } from '../batch-jsonl.js';
import type { CliIO } from '../io.js';
import {
  interruptSignal,
  loadModel,
  type ModelFlags,
  positiveInt,
  withModelOptions,
} from '../model-options.js';
import { writeOverlayPng } from '../overlay-png.js';
import { imagePath, JSONL_HELP, singleImage, splitLast } from './tasks.js';

interface DetectFlags extends ModelFlags {
  out?: string;
  maxNewTokens?: string;
  jsonl?: string;
}

/** `pali detect IMAGE "cat ; dog" [--out boxes.png]`: boxes in the image's pixels. */
export function registerDetect(program: Command, io: CliIO): void {
  withModelOptions(
    program
      .command('detect')
      .description('find objects: boxes in the original image pixels (x1, y1, x2, y2)')
      .usage('[options] <image...> <objects>')
      .argument(
        '<image...>',
        'image file or URL (several, or folders, with --jsonl), then what to find, separated by ";" (e.g. "cat ; dog")',
      )
      .option('--out <file.png>', 'write the image with the boxes and labels drawn')
      .option('--max-new-tokens <n>', 'most tokens to generate', '128')
      .option('--jsonl <file>', JSONL_HELP),
  ).action(async (args: string[], flags: DetectFlags) => {
    const [images, objects] = splitLast(args, 'objects to find');
    const single = singleImage(images, flags);
    if (single === undefined && flags.out) {
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        '--out draws one image; it does not go with --jsonl',
        {
          hint: 'Drop --out, or run detect on one image',
        },
      );
    }
    const inputs = single === undefined ? collectInputs(io, images) : [];
    const { signal, release } = interruptSignal();
    const pg = await loadModel(flags, io, signal);
    const maxNewTokens = positiveInt(flags.maxNewTokens, '--max-new-tokens') ?? 128;
    try {
      if (single === undefined) {
        const summary = await runBatch(
          io,
          { inputs, jsonl: flags.jsonl!, task: 'detect', signal },
          async (input) => {
            const result = await pg.detect(imagePath(io, input), objects, { maxNewTokens, signal });
            return { query: objects, text: result.text, objects: result.objects };
          },
        );
        printSummary(io, summary, flags.json);
        return;
      }
      const decoded = await decodeImage(imagePath(io, single), { signal });
      const result = await pg.detect(decoded, objects, { maxNewTokens, signal });
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
