import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import {
  beamSearch,
  DecoderRunner,
  EMBED_IO,
  type GeneratedToken,
  generateTokens,
  type PromptParts,
} from '@pali/gemma2';
import { preprocess, type RgbImage } from '@pali/image';
import type { Component, GenerationConfig, ModelDtype, PaliGemmaConfig } from '@pali/model-folder';
import { VisionEncoder } from '@pali/siglip';
import { type PaliGemmaText, parseDetection, parseSegmentation } from '@pali/tokenizer';
import { placeMask } from '@pali/vqvae';
import type { InferenceSession } from 'onnxruntime-common';
import type { EmbeddingTable } from './embedding-table.js';
import { type LoadOptions, loadModelParts } from './model-parts.js';
import type {
  DetectResult,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  GenerateResult,
  GenerationOptions,
  MaskCodeDecoder,
  SegmentResult,
  TextResult,
} from './requests.js';
import type { ImageDecoder, ModelFiles, Runtime } from './runtime.js';
import { StopStringFilter } from './stop-strings.js';
import { IdleOpener, type TransientSession } from './transient-session.js';

const DEFAULT_MAX_NEW_TOKENS = 64;

/**
 * PaliGemma 2 over an injected runtime: image + prompt in, streamed text out, and the task API
 * (caption, describe, ocr, ask, detect) on top. `I` is what the adapter accepts as an image.
 */
export class PaliGemma<I> {
  private disposed = false;
  private maskDecoder: MaskCodeDecoder | undefined;
  /** Opens released transient sessions again between generations. */
  private readonly idle = new IdleOpener();

  private constructor(
    readonly config: PaliGemmaConfig,
    readonly generationConfig: GenerationConfig,
    readonly text: PaliGemmaText,
    readonly dtypes: Record<Component, ModelDtype>,
    private readonly sessions: Record<Component, InferenceSession>,
    private readonly runtime: Runtime,
    private readonly decodeImage: ImageDecoder<I>,
    private readonly preprocessOptions: Parameters<typeof preprocess>[1],
    private readonly sharedKvCache: boolean,
    private readonly prefillSession: InferenceSession | undefined,
    private readonly transient:
      | { parts: TransientSession[]; vision: TransientSession | undefined }
      | undefined,
    /** Whether images go through the folder's int8 vision tower (see LoadOptions.prefill). */
    readonly int8Vision: boolean,
    /** Whether the decoder runs as the folder's step graph (see LoadOptions.stepGraph). */
    readonly stepGraph: boolean,
    private readonly embeddingTable: EmbeddingTable | undefined,
  ) {}

  /** How a generated token's embedding is found: read from the table's file, or by embed_tokens. */
  get embeddingLookup(): 'table' | 'session' {
    return this.embeddingTable ? 'table' : 'session';
  }

  /** How the KV cache is kept between steps (see LoadOptions.kvCache). */
  get kvCacheMode(): 'shared' | 'copy' {
    return this.sharedKvCache ? 'shared' : 'copy';
  }

  /** Whether prompts run on the folder's int8 prefill graph (see LoadOptions.prefill). */
  get int8Prefill(): boolean {
    return this.prefillSession !== undefined || this.transient !== undefined;
  }

  /** How the int8 prompt graphs are held (see LoadOptions.promptSessions); undefined without them. */
  get promptSessions(): 'transient' | 'resident' | undefined {
    return this.transient ? 'transient' : this.prefillSession ? 'resident' : undefined;
  }

  /**
   * Opens now the transient prompt sessions released by the last generation, which would otherwise
   * open while the model is idle or at the next prompt (for callers that time a generation).
   */
  async prepare(): Promise<void> {
    this.assertOpen();
    await this.idle.drain();
  }

  static async fromFolder<I>(
    files: ModelFiles,
    runtime: Runtime,
    decodeImage: ImageDecoder<I>,
    options: LoadOptions = {},
  ): Promise<PaliGemma<I>> {
    const parts = await loadModelParts(files, runtime, options);
    const p = parts.preprocessor;
    const model = new PaliGemma(
      parts.config,
      parts.generation,
      parts.text,
      parts.dtypes,
      parts.sessions,
      runtime,
      decodeImage,
      {
        size: p.size,
        resample: p.resample,
        doResize: p.doResize,
        doRescale: p.doRescale,
        rescaleFactor: p.rescaleFactor,
        doNormalize: p.doNormalize,
        imageMean: p.imageMean,
        imageStd: p.imageStd,
      },
      parts.sharedKvCache,
      parts.prefillSession,
      parts.promptParts ? { parts: parts.promptParts, vision: parts.transientVision } : undefined,
      parts.int8Vision,
      parts.stepGraph,
      parts.embeddingTable,
    );
    for (const slot of [
      ...(parts.promptParts ?? []),
      ...(parts.transientVision ? [parts.transientVision] : []),
    ])
      slot.onReleased = (released) => model.idle.request(released);
    // With an int8 prefill graph the decoder session first runs in a generation's first step;
    // that first run costs ~180 ms on 3B, so it happens here, sized like a short caption's cache.
    if (parts.prefillSession || parts.promptParts) {
      try {
        await model.newRunner().warmUp(parts.config.numImageTokens + 64);
      } catch (error) {
        await model.dispose();
        throw error;
      }
    }
    return model;
  }

  /** Streams the generation of one prompt (or a batch): one chunk per generated token. */
  async *generate(request: GenerateRequest<I>): AsyncGenerator<GenerateChunk, GenerateResult[], undefined> {
    this.assertOpen();
    const { signal } = request;
    const prompts = typeof request.prompt === 'string' ? [request.prompt] : [...request.prompt];
    const images = Array.isArray(request.image) ? [...(request.image as readonly I[])] : [request.image as I];
    if (prompts.length === 0) throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'No prompt given');
    if (images.length !== prompts.length) {
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `${images.length} image(s) for ${prompts.length} prompt(s)`,
        {
          hint: 'Give one image per prompt',
        },
      );
    }
    const decoded: RgbImage[] = [];
    for (const image of images) decoded.push(await this.decodeImage(image, signal));
    return yield* this.generateFrom(decoded, prompts, request);
  }

  private async *generateFrom(
    decoded: RgbImage[],
    prompts: string[],
    request: GenerationOptions,
  ): AsyncGenerator<GenerateChunk, GenerateResult[], undefined> {
    const { signal } = request;
    const maxNewTokens = request.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
    const batch = this.text.encodeBatch(prompts, { padding: 'left', reserve: maxNewTokens });
    throwIfAborted(signal, 'generation');
    const runner = this.newRunner();
    // No transient session is opened again before this generation ends (see IdleOpener).
    const idle = this.idle.busy();
    try {
      runner.start(await this.promptEmbeddings(batch, decoded, signal), maxNewTokens);
      const rows = prompts.length;
      const streams = Array.from(
        { length: rows },
        () => new StopStringFilter(this.text.stream(), request.stop ?? []),
      );
      const generated: number[][] = Array.from({ length: rows }, () => []);
      const finish: FinishReason[] = new Array(rows).fill('length');
      const eosTokenIds = request.ignoreEos ? [] : this.generationConfig.eosTokenIds;
      if ((request.numBeams ?? 1) > 1) {
        if (rows !== 1)
          throw new PaliError(ERROR_CODES.UNSUPPORTED, 'Beam search takes one prompt at a time');
        const [best] = await beamSearch(runner, {
          numBeams: request.numBeams!,
          maxNewTokens,
          eosTokenIds,
          ...(request.lengthPenalty !== undefined ? { lengthPenalty: request.lengthPenalty } : {}),
          ...(request.repetitionPenalty !== undefined
            ? { repetitionPenalty: request.repetitionPenalty }
            : {}),
          promptIds: batch.inputIds[0]!,
          ...(signal ? { signal } : {}),
        });
        const tokens = best?.tokens ?? [];
        for (const [index, token] of tokens.entries()) {
          const last = index === tokens.length - 1;
          const reason: FinishReason | undefined = last
            ? eosTokenIds.includes(token)
              ? 'eos'
              : 'length'
            : undefined;
          generated[0]!.push(token);
          const text = streams[0]!.push(token, last);
          if (reason) finish[0] = reason;
          yield reason ? { row: 0, token, text, index, finish: reason } : { row: 0, token, text, index };
        }
      } else {
        const pending: string[] = new Array(rows).fill('');
        const tokens = generateTokens(runner, {
          maxNewTokens,
          eosTokenIds,
          padTokenId: this.generationConfig.padTokenId,
          doSample: samples(request),
          ...sampling(request),
          seed: request.seed ?? 0,
          promptIds: batch.inputIds,
          shouldStop: (row, ids) => {
            pending[row] = streams[row]!.push(ids[ids.length - 1]!, false);
            return streams[row]!.stopped;
          },
          ...(signal ? { signal } : {}),
        });
        for await (const t of tokens as AsyncGenerator<GeneratedToken>) {
          generated[t.row]!.push(t.token);
          let text = pending[t.row]!;
          pending[t.row] = '';
          if (t.finish) {
            finish[t.row] = t.finish;
            text += streams[t.row]!.finish();
          }
          yield t.finish
            ? { row: t.row, token: t.token, text, index: t.index, finish: t.finish }
            : { row: t.row, token: t.token, text, index: t.index };
        }
      }
      return streams.map((s, row) => ({
        text: s.text,
        tokens: generated[row]!,
        promptTokens: batch.inputIds[row]!.slice(batch.attentionMask[row]!.indexOf(1)),
        finishReason: finish[row]!,
      }));
    } finally {
      runner.dispose();
      idle();
    }
  }

  /** Runs a generation to the end and returns each row's result. */
  async run(request: GenerateRequest<I>): Promise<GenerateResult[]> {
    return drain(this.generate(request));
  }

  private async runFrom(
    image: RgbImage,
    prompt: string,
    options: GenerationOptions,
  ): Promise<GenerateResult> {
    const [result] = await drain(this.generateFrom([image], [prompt], options));
    return result!;
  }

  async caption(image: I, options: GenerationOptions & { lang?: string } = {}): Promise<TextResult> {
    return this.task(image, this.text.taskPrompt({ task: 'caption', lang: options.lang ?? 'en' }), options);
  }

  async describe(image: I, options: GenerationOptions & { lang?: string } = {}): Promise<TextResult> {
    return this.task(image, this.text.taskPrompt({ task: 'describe', lang: options.lang ?? 'en' }), options);
  }

  async ocr(image: I, options: GenerationOptions = {}): Promise<TextResult> {
    return this.task(image, this.text.taskPrompt({ task: 'ocr' }), options);
  }

  async ask(
    image: I,
    question: string,
    options: GenerationOptions & { lang?: string } = {},
  ): Promise<TextResult> {
    return this.task(
      image,
      this.text.taskPrompt({ task: 'answer', lang: options.lang ?? 'en', question }),
      options,
    );
  }

  /** Boxes for each label, in the original image's pixels. */
  async detect(
    image: I,
    labels: string | readonly string[],
    options: GenerationOptions = {},
  ): Promise<DetectResult> {
    const objects = typeof labels === 'string' ? labels.split(';').map((l) => l.trim()) : [...labels];
    const decoded = await this.decodeImage(image, options.signal);
    const prompt = this.text.taskPrompt({ task: 'detect', objects: objects.filter(Boolean) });
    const result = await this.runFrom(decoded, prompt, {
      ...options,
      maxNewTokens: options.maxNewTokens ?? 128,
    });
    const parsed = parseDetection(result.text, { width: decoded.width, height: decoded.height });
    return { objects: parsed.objects, text: result.text, skipped: parsed.skipped };
  }

  /**
   * Teacher-forced logits: the last-position logits after the prompt, then after each of `tokens`
   * (tokens.length + 1 rows, the next-token distributions). For scoring and quantization reports.
   */
  async forcedLogits(
    image: I,
    prompt: string,
    tokens: readonly number[],
    signal?: AbortSignal,
  ): Promise<Float32Array[]> {
    this.assertOpen();
    const decoded = await this.decodeImage(image, signal);
    const batch = this.text.encodeBatch([prompt], { padding: 'left', reserve: tokens.length + 1 });
    const runner = this.newRunner();
    // No transient session is opened again before this generation ends (see IdleOpener).
    const idle = this.idle.busy();
    try {
      runner.start(await this.promptEmbeddings(batch, [decoded], signal), tokens.length + 1);
      const rows = [(await runner.prefill(signal))[0]!];
      for (const token of tokens) rows.push((await runner.step(Int32Array.of(token), signal))[0]!);
      return rows;
    } finally {
      runner.dispose();
      idle();
    }
  }

  /** Sets the VQ-VAE decoder that segment() turns <seg> codes into masks with. */
  useMaskDecoder(decoder: MaskCodeDecoder | undefined): void {
    this.maskDecoder = decoder;
  }

  /** Masks (and boxes) for each label: the model's <seg> codes decoded by the VQ-VAE. */
  async segment(
    image: I,
    labels: string | readonly string[],
    options: GenerationOptions = {},
  ): Promise<SegmentResult> {
    const decoder = this.maskDecoder;
    if (!decoder) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'segment() needs the VQ-VAE mask decoder', {
        hint: "Pass vae: the path of big_vision's vae-oid.npz when loading (pali segment --vae FILE)",
      });
    }
    const objects = typeof labels === 'string' ? labels.split(';').map((l) => l.trim()) : [...labels];
    const decoded = await this.decodeImage(image, options.signal);
    const prompt = this.text.taskPrompt({ task: 'segment', objects: objects.filter(Boolean) });
    const result = await this.runFrom(decoded, prompt, {
      ...options,
      maxNewTokens: options.maxNewTokens ?? 128,
    });
    return masksFromText(result.text, decoded.width, decoded.height, decoder, options.signal);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.idle.stop();
    await Promise.all([
      ...[...Object.values(this.sessions), ...(this.prefillSession ? [this.prefillSession] : [])].map((s) =>
        s.release(),
      ),
      ...[...(this.transient?.parts ?? []), ...(this.transient?.vision ? [this.transient.vision] : [])].map(
        (t) => t.close(),
      ),
    ]);
    await this.embeddingTable?.close();
    await this.maskDecoder?.release?.();
  }

  private async task(image: I, prompt: string, options: GenerationOptions): Promise<TextResult> {
    const [result] = await this.run({ ...options, image, prompt });
    return { text: result!.text.trim(), tokens: result!.tokens };
  }

  private assertOpen(): void {
    if (this.disposed)
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'This PaliGemma was disposed', {
        hint: 'Load it again',
      });
  }

  private newRunner(): DecoderRunner {
    const H = this.config.textConfig.hiddenSize;
    return new DecoderRunner(
      this.sessions.decoder_model_merged,
      this.runtime.Tensor,
      this.config.textConfig,
      async (ids, signal) => {
        // A step's few rows come from the table's file: no session run for them.
        if (this.embeddingTable && ids.length <= 64) return this.embeddingTable.lookup(ids);
        const embeds = await this.embed(
          BigInt64Array.from(ids, (i) => BigInt(i)),
          [ids.length, 1],
          signal,
        );
        if (embeds.length !== ids.length * H)
          throw new PaliError(ERROR_CODES.INTERNAL, 'embed_tokens returned a wrong size');
        return embeds;
      },
      {
        sharedCache: this.sharedKvCache,
        ...(this.prefillSession ? { prefillSession: this.prefillSession } : {}),
        ...(this.transient ? { promptParts: promptPartsOf(this.transient.parts) } : {}),
      },
    );
  }

  private async embed(
    ids: BigInt64Array,
    dims: [number, number],
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    throwIfAborted(signal, 'generation');
    const session = this.sessions.embed_tokens;
    const out = await session.run({ [EMBED_IO.input]: new this.runtime.Tensor('int64', ids, dims) });
    const tensor = out[EMBED_IO.output]!;
    try {
      return Float32Array.from(tensor.data as Float32Array);
    } finally {
      tensor.dispose();
    }
  }

  /** inputs_embeds with the image features in place of the <image> tokens, plus mask and positions. */
  private async promptEmbeddings(
    batch: { inputIds: number[][]; attentionMask: number[][]; length: number },
    images: RgbImage[],
    signal?: AbortSignal,
  ) {
    const rows = batch.inputIds.length;
    const L = batch.length;
    const H = this.config.textConfig.hiddenSize;
    const imageToken = this.config.imageTokenIndex;
    const embeds = await this.embed(
      BigInt64Array.from(batch.inputIds.flat(), (i) => BigInt(i)),
      [rows, L],
      signal,
    );
    const pixels = preprocess(images, this.preprocessOptions);
    const encode = (session: InferenceSession) =>
      new VisionEncoder(session, this.runtime.Tensor as never, this.config.visionConfig.imageSize).encode(
        pixels.data,
        rows,
        signal,
      );
    const { data: features, dims } = this.transient?.vision
      ? await this.transient.vision.use(encode)
      : await encode(this.sessions.vision_encoder);
    const N = dims[1];
    const positions = new Array<number>(rows * L);
    for (let b = 0; b < rows; b++) {
      let k = 0;
      let position = 0;
      for (let i = 0; i < L; i++) {
        const valid = batch.attentionMask[b]![i] === 1;
        if (valid) position++;
        // 1-based positions; left padding gets 1, as HF generate() computes them.
        positions[b * L + i] = valid ? position : 1;
        if (batch.inputIds[b]![i] !== imageToken) continue;
        if (k >= N) throw new PaliError(ERROR_CODES.INTERNAL, 'More <image> tokens than image features');
        embeds.set(features.subarray((b * N + k) * H, (b * N + k + 1) * H), (b * L + i) * H);
        k++;
      }
      if (k !== N) {
        throw new PaliError(
          ERROR_CODES.SHAPE_MISMATCH,
          `The prompt has ${k} <image> tokens, the image gives ${N} features`,
          {
            hint: 'preprocessor_config.json image_seq_length must match the vision encoder',
          },
        );
      }
    }
    return {
      inputsEmbeds: embeds,
      batch: rows,
      length: L,
      attentionMask: batch.attentionMask.flat(),
      positionIds: positions,
    };
  }
}

/** Parses segmentation output and decodes each object's <seg> codes into a mask placed in its box. */
export async function masksFromText(
  text: string,
  width: number,
  height: number,
  decoder: MaskCodeDecoder,
  signal?: AbortSignal,
): Promise<SegmentResult> {
  const parsed = parseSegmentation(text, { width, height });
  const logits = parsed.objects.length
    ? await decoder.decode(
        parsed.objects.map((o) => o.codes),
        signal,
      )
    : [];
  return {
    objects: parsed.objects.map((o, i) => ({
      ...o,
      mask: { width, height, ...placeMask(logits[i]!, o.locs, width, height) },
    })),
    text,
    skipped: parsed.skipped,
  };
}

async function drain<T, R>(it: AsyncGenerator<T, R, undefined>): Promise<R> {
  for (;;) {
    const next = await it.next();
    if (next.done) return next.value;
  }
}

function samples(o: GenerationOptions): boolean {
  return o.doSample ?? [o.temperature, o.topK, o.topP, o.minP].some((x) => x !== undefined);
}

function sampling(o: GenerationOptions) {
  return {
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.topK !== undefined ? { topK: o.topK } : {}),
    ...(o.topP !== undefined ? { topP: o.topP } : {}),
    ...(o.minP !== undefined ? { minP: o.minP } : {}),
    ...(o.repetitionPenalty !== undefined ? { repetitionPenalty: o.repetitionPenalty } : {}),
  };
}

/** The prefill graph's parts as the runner runs them: each a transient session, released after its run. */
function promptPartsOf(parts: readonly TransientSession[]): PromptParts {
  return {
    count: parts.length,
    run: (index, feeds, signal) =>
      parts[index]!.use(async (session) => {
        throwIfAborted(signal, 'generation');
        return session.run(feeds(session.inputNames));
      }),
  };
}
