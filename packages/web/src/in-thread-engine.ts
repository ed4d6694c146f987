import {
  type GenerateRequest,
  type GenerationOptions,
  type MaskCodeDecoder,
  masksFromText,
  type PaliGemma,
} from '@pali/core';
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { RgbImage } from '@pali/image';
import { parseDetection } from '@pali/tokenizer';
import type { EngineInfo, PaliEngine, TaskRequest, TaskResult, WebImage } from './types.js';

function labelList(labels: string | readonly string[] | undefined): string[] {
  const list = typeof labels === 'string' ? labels.split(';') : [...(labels ?? [])];
  return list.map((l) => l.trim()).filter(Boolean);
}

/** The engine running in this thread: the core PaliGemma plus what the adapter chose. */
export class InThreadEngine implements PaliEngine {
  constructor(
    /** The core pipeline, for what the engine interface does not cover. */
    readonly model: PaliGemma<WebImage>,
    readonly info: EngineInfo,
    private readonly decode: (image: WebImage, signal?: AbortSignal) => Promise<RgbImage>,
    private readonly maskDecoder: MaskCodeDecoder | undefined,
  ) {}

  generate(request: GenerateRequest<WebImage>) {
    return this.model.generate(request);
  }
  run(request: GenerateRequest<WebImage>) {
    return this.model.run(request);
  }
  caption(image: WebImage, options?: GenerationOptions & { lang?: string }) {
    return this.model.caption(image, options);
  }
  describe(image: WebImage, options?: GenerationOptions & { lang?: string }) {
    return this.model.describe(image, options);
  }
  ocr(image: WebImage, options?: GenerationOptions) {
    return this.model.ocr(image, options);
  }
  ask(image: WebImage, question: string, options?: GenerationOptions & { lang?: string }) {
    return this.model.ask(image, question, options);
  }
  detect(image: WebImage, labels: string | readonly string[], options?: GenerationOptions) {
    return this.model.detect(image, labels, options);
  }
  segment(image: WebImage, labels: string | readonly string[], options?: GenerationOptions) {
    return this.model.segment(image, labels, options);
  }

  /** The task prompt the task methods use, streamed through generate(), parsed as they parse. */
  async *streamTask(request: TaskRequest) {
    const { task, image, lang, question, labels, ...options } = request;
    const text = this.model.text;
    let prompt: string;
    if (task === 'ask') {
      if (!question?.trim())
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'ask needs a question', {
          hint: 'Type a question',
        });
      prompt = text.taskPrompt({ task: 'answer', question, lang: lang ?? 'en' });
    } else if (task === 'detect' || task === 'segment') {
      const objects = labelList(labels);
      if (objects.length === 0)
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${task} needs at least one label`, {
          hint: 'Name what to find, e.g. "cat ; dog"',
        });
      if (task === 'segment' && !this.maskDecoder) {
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'segment() needs the VQ-VAE mask decoder', {
          hint: "Load with vae: the URL or file of big_vision's vae-oid.npz",
        });
      }
      prompt = text.taskPrompt({ task, objects });
    } else if (task === 'ocr') {
      prompt = text.taskPrompt({ task: 'ocr' });
    } else {
      prompt = text.taskPrompt({ task, lang: lang ?? 'en' });
    }
    const decoded = await this.decode(image, options.signal);
    const long = task === 'detect' || task === 'segment';
    const [result] = yield* this.model.generate({
      ...options,
      image: decoded,
      prompt,
      maxNewTokens: options.maxNewTokens ?? (long ? 128 : 64),
    });
    const base = { task, prompt, tokens: result!.tokens, width: decoded.width, height: decoded.height };
    if (task === 'detect') {
      const parsed = parseDetection(result!.text, decoded);
      return { ...base, text: result!.text, objects: parsed.objects, skipped: parsed.skipped } as TaskResult;
    }
    if (task === 'segment') {
      const masks = await masksFromText(
        result!.text,
        decoded.width,
        decoded.height,
        this.maskDecoder!,
        options.signal,
      );
      return { ...base, text: result!.text, objects: masks.objects, skipped: masks.skipped } as TaskResult;
    }
    return { ...base, text: result!.text.trim() } as TaskResult;
  }

  dispose() {
    return this.model.dispose();
  }
}
