import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import type { Gemma2Config } from '@pali/model-folder';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { StepModel } from './generation/step-model.js';
import { DECODER_IO } from './graph/decoder-graph.js';

/** The runtime's Tensor class, injected by an adapter (onnxruntime-node or onnxruntime-web). */
export type TensorClass = typeof Tensor;

/** Turns token ids into raw embedding rows [ids.length, H] (the embed_tokens model, or a table). */
export type Embedder = (ids: Int32Array, signal?: AbortSignal) => Promise<Float32Array>;

/** A prompt ready for the decoder: embeddings with the image features in place, left padded. */
export interface DecoderPrompt {
  /** [batch, length, H] */
  inputsEmbeds: Float32Array;
  batch: number;
  length: number;
  /** [batch, length], 1 for real tokens, 0 for (left) padding. */
  attentionMask: ArrayLike<number>;
  /** [batch, length], 1-based; padding gets 1. */
  positionIds: ArrayLike<number>;
}

/**
 * The prefill graph cut into layer ranges (DecoderGraphOptions.layers), run in turn for a prompt.
 * Whoever provides it decides each part's session's life: ours are opened ahead and released right
 * after their run, so that only one part's weights are in memory at a time.
 */
export interface PromptParts {
  readonly count: number;
  /** Runs part `index`: `feeds` builds its inputs from the session's input names. */
  run(
    index: number,
    feeds: (inputNames: readonly string[]) => Record<string, Tensor>,
    signal?: AbortSignal,
  ): Promise<Record<string, Tensor>>;
}

export interface DecoderRunnerOptions {
  /**
   * Keep the KV cache in one preallocated [batch, kvHeads, capacity, headDim] buffer per layer that
   * is both the `past` input and the `present` output, so GroupQueryAttention writes each step's keys
   * in place (its shared-buffer mode) instead of copying the whole cache into a new tensor every step.
   * Only for decoders built on GroupQueryAttention (ours); exports with concat semantics need false.
   * A step graph (our `decoder_step*.onnx`, no present outputs) needs it for its steps.
   */
  sharedCache?: boolean;
  /**
   * A session that runs the prompt pass instead of `session` (the int8 prefill graph): same inputs,
   * other weight formats; a step graph (new keys, no present) or not. Steps always run on `session`.
   */
  prefillSession?: InferenceSession;
  /**
   * With sharedCache, steps fetch only the new keys and values (DECODER_IO.newKey) and append them to
   * the buffers here, when the decoder has those outputs (ours): default true. false fetches the
   * whole `present` each step, which onnxruntime-node copies back (10-40 ms a step on 3B).
   */
  appendNewKeys?: boolean;
  /**
   * Run prompts through these parts instead (needs a step graph as `session`): they return the
   * prompt's keys and values, and the prompt's last token then runs again as a step of `session`
   * for the logits. That token sees all the prompt's keys either way (the prefix is bidirectional).
   */
  promptParts?: PromptParts;
}

/**
 * Runs a decoder_model_merged session (or our step graph) as a StepModel: one session run per step.
 * With `sharedCache` the cache never moves: each run's new keys are appended to our buffers (or,
 * with appendNewKeys false, written in place through fetched presents); otherwise each run's
 * `present` outputs become the next run's `past` inputs (no copy in JavaScript, but the runtime
 * concatenates a new cache every step).
 */
export class DecoderRunner implements StepModel {
  readonly vocabSize: number;
  private past: { key: Tensor; value: Tensor }[] = [];
  private capacity = 0;
  private readonly shared: boolean;
  private readonly prefillSession: InferenceSession | undefined;
  private readonly promptParts: PromptParts | undefined;
  /** Shared cache kept by appending each step's new keys here (see DECODER_IO.newKey). */
  private readonly append: boolean;
  private mask: number[][] = [];
  private nextPosition: number[] = [];
  private prompt: DecoderPrompt | undefined;

  constructor(
    private readonly session: InferenceSession,
    private readonly TensorType: TensorClass,
    private readonly config: Gemma2Config,
    private readonly embed: Embedder,
    options: DecoderRunnerOptions = {},
  ) {
    this.vocabSize = config.vocabSize;
    this.shared = options.sharedCache ?? false;
    this.prefillSession = options.prefillSession;
    this.promptParts = options.promptParts;
    this.append = this.shared && (options.appendNewKeys ?? true) && hasNewKeys(session);
    if (this.promptParts && (hasPresent(session) || !this.append)) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'Prompt parts need a step graph', {
        hint: "Load the folder's step graph (stepGraph 'auto'), or leave out the parts",
      });
    }
    // Step graphs (callerKeptCache) have no present outputs: every run of them returns its new keys,
    // which the runner keeps. Steps on one need the shared buffers; a prompt on one fits any mode.
    const prefill = options.prefillSession;
    if ((!hasPresent(session) && !this.append) || (prefill && !hasPresent(prefill) && !hasNewKeys(prefill))) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'This decoder returns no present cache', {
        hint: 'It is a step graph: run it with sharedCache (and appendNewKeys) on',
      });
    }
    const missing = [DECODER_IO.inputsEmbeds, DECODER_IO.positionIds, DECODER_IO.pastKey(0)].filter(
      (n) => !session.inputNames.includes(n),
    );
    const prefillIo = options.prefillSession?.inputNames.join();
    if (prefillIo !== undefined && prefillIo !== session.inputNames.join()) {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, "The prefill graph does not take the decoder's inputs", {
        hint: 'Convert the folder again with --prefill int8 (the prefill graph pairs with one decoder)',
      });
    }
    if (missing.length > 0) {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, `The decoder has no input ${missing.join(', ')}`, {
        hint: 'Use a decoder_model_merged in the onnx-community layout',
      });
    }
  }

  /** How the cache is kept: 'append' (shared buffers, steps return new keys), 'shared', or 'copy'. */
  get cacheMode(): 'append' | 'shared' | 'copy' {
    return this.append ? 'append' : this.shared ? 'shared' : 'copy';
  }

  /**
   * Sets the prompt that the next prefill() runs; `maxNewTokens` sizes the shared cache (the prompt
   * plus that many steps).
   */
  start(prompt: DecoderPrompt, maxNewTokens = 0): void {
    const { batch, length } = prompt;
    if (prompt.inputsEmbeds.length !== batch * length * this.config.hiddenSize) {
      throw new PaliError(ERROR_CODES.SHAPE_MISMATCH, 'inputs_embeds does not match batch × length × hidden');
    }
    this.dispose();
    this.prompt = prompt;
    this.mask = Array.from({ length: batch }, (_, b) =>
      Array.from({ length }, (_, i) => Number(prompt.attentionMask[b * length + i])),
    );
    this.nextPosition = Array.from(
      { length: batch },
      (_, b) => Number(prompt.positionIds[b * length + length - 1]) + 1,
    );
    this.capacity = length + maxNewTokens;
  }

  async prefill(signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.promptParts) return this.runPromptParts(this.promptParts, signal);
    return this.runPrompt(this.prefillSession ?? this.session, signal);
  }

  /**
   * The prompt through its parts: each part's new keys go to the cache buffers and its hidden states
   * to the next part; then the last token runs again as a step (over the cache less its own slot,
   * which the step writes again) for the logits.
   */
  private async runPromptParts(parts: PromptParts, signal?: AbortSignal): Promise<Float32Array[]> {
    const prompt = this.prompt;
    if (!prompt) throw new PaliError(ERROR_CODES.INTERNAL, 'prefill() before start()');
    const { batch, length } = prompt;
    const H = this.config.hiddenSize;
    this.allocatePast(batch, this.capacity);
    const common = {
      [DECODER_IO.attentionMask]: this.maskTensor(),
      [DECODER_IO.positionIds]: new this.TensorType(
        'int64',
        BigInt64Array.from(Array.from(prompt.positionIds, (p) => BigInt(p))),
        [batch, length],
      ),
    };
    const empty = this.emptyPast(batch);
    const embeds = new this.TensorType('float32', prompt.inputsEmbeds, [batch, length, H]);
    let hidden: Tensor = embeds;
    for (let index = 0; index < parts.count; index++) {
      throwIfAborted(signal, 'generation');
      const layers: number[] = [];
      const out = await parts.run(
        index,
        (names) => {
          const feeds: Record<string, Tensor> = { ...common };
          for (const name of names) {
            if (name === DECODER_IO.inputsEmbeds || name === DECODER_IO.hiddenStates) feeds[name] = hidden;
            const layer = /^past_key_values\.(\d+)\.key$/.exec(name)?.[1];
            if (layer !== undefined) layers.push(Number(layer));
            if (name.startsWith('past_key_values.')) feeds[name] = empty;
          }
          return feeds;
        },
        signal,
      );
      for (const layer of layers) {
        const key = out[DECODER_IO.newKey(layer)];
        const value = out[DECODER_IO.newValue(layer)];
        if (!key || !value || !this.past[layer]) {
          throw new PaliError(
            ERROR_CODES.CORRUPT_FILE,
            `Prompt part ${index} returned no keys of layer ${layer}`,
          );
        }
        this.appendRows(this.past[layer].key, key, 0, length);
        this.appendRows(this.past[layer].value, value, 0, length);
      }
      // This part's input was the previous part's output (or the prompt's own embeddings).
      if (hidden !== embeds) hidden.dispose();
      const next = out[DECODER_IO.hiddenStatesOut];
      if (index + 1 < parts.count) {
        if (!next)
          throw new PaliError(ERROR_CODES.CORRUPT_FILE, `Prompt part ${index} returned no hidden states`);
        hidden = next;
      } else next?.dispose();
    }
    // The last position of every row (left padding puts it at length − 1 for all of them).
    const last = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      const at = (b * length + length - 1) * H;
      last.set(prompt.inputsEmbeds.subarray(at, at + H), b * H);
    }
    const positions = BigInt64Array.from({ length: batch }, (_, b) =>
      BigInt(Number(prompt.positionIds[b * length + length - 1])),
    );
    return this.run(last, batch, 1, positions, signal);
  }

  /**
   * Runs a one-token prompt and one step on the step session, and forgets them. With a prefill
   * session the step session would otherwise first run in the first generated token, and that run
   * pays the runtime's first-run costs (~180 ms on 3B q4, 6 ms a token over 32 tokens).
   * `capacity` sizes the throwaway cache like a real generation's, so that the step's buffers are
   * allocated at their usual size.
   */
  async warmUp(capacity = 2): Promise<void> {
    const H = this.config.hiddenSize;
    const prompt = {
      inputsEmbeds: new Float32Array(H),
      batch: 1,
      length: 1,
      attentionMask: [1],
      positionIds: [1],
    };
    this.start(prompt, Math.max(1, capacity - 1));
    try {
      await this.runPrompt(this.session);
      const logits = await this.step(new Int32Array(1));
      if (logits[0]?.length !== this.vocabSize) {
        throw new PaliError(ERROR_CODES.SHAPE_MISMATCH, 'The warm-up step returned no logits row');
      }
    } finally {
      this.dispose();
      this.prompt = undefined;
      this.mask = [];
      this.nextPosition = [];
    }
  }

  private async runPrompt(session: InferenceSession, signal?: AbortSignal): Promise<Float32Array[]> {
    const prompt = this.prompt;
    if (!prompt) throw new PaliError(ERROR_CODES.INTERNAL, 'prefill() before start()');
    const { batch, length } = prompt;
    // Shared: one buffer per layer for the whole generation; otherwise an empty past.
    this.allocatePast(batch, this.shared ? this.capacity : 0);
    return this.run(
      prompt.inputsEmbeds,
      batch,
      length,
      BigInt64Array.from(Array.from(prompt.positionIds, (p) => BigInt(p))),
      signal,
      session,
    );
  }

  /** Zeroed cache tensors [batch, kvHeads, positions, headDim] for every layer. */
  private allocatePast(batch: number, positions: number): void {
    const c = this.config;
    const dims = [batch, c.numKeyValueHeads, positions, c.headDim];
    const zeros = () => new this.TensorType('float32', new Float32Array(dims.reduce((a, b) => a * b)), dims);
    this.past = Array.from({ length: c.numHiddenLayers }, () => ({ key: zeros(), value: zeros() }));
  }

  /** An empty past [batch, kvHeads, 0, headDim]: a step graph's prompt attends to its own keys only. */
  private emptyPast(batch: number): Tensor {
    const c = this.config;
    return new this.TensorType('float32', new Float32Array(0), [batch, c.numKeyValueHeads, 0, c.headDim]);
  }

  async step(tokens: Int32Array, signal?: AbortSignal): Promise<Float32Array[]> {
    const batch = this.mask.length;
    if (tokens.length !== batch) {
      throw new PaliError(ERROR_CODES.INTERNAL, `step() with ${tokens.length} tokens for ${batch} rows`);
    }
    if (this.shared && this.mask[0]!.length >= this.capacity) {
      throw new PaliError(
        ERROR_CODES.INTERNAL,
        `The KV cache holds ${this.capacity} positions; start() with more maxNewTokens`,
      );
    }
    for (const row of this.mask) row.push(1);
    const positions = BigInt64Array.from(this.nextPosition, (p) => BigInt(p));
    for (let b = 0; b < batch; b++) this.nextPosition[b]! += 1;
    return this.run(await this.embed(tokens, signal), batch, 1, positions, signal);
  }

  /** Beam search: rebuilds the cache rows in the given order (copies; only beams need it). */
  reorder(rows: Int32Array): void {
    const gatherRows = (t: Tensor): Tensor => {
      const [b, h, s, d] = t.dims as [number, number, number, number];
      const rowSize = h * s * d;
      const src = t.data as Float32Array;
      const out = new Float32Array(rows.length * rowSize);
      rows.forEach((r, i) => {
        if (r < 0 || r >= b) throw new PaliError(ERROR_CODES.INTERNAL, `reorder row ${r} of ${b}`);
        out.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
      });
      return new this.TensorType('float32', out, [rows.length, h, s, d]);
    };
    const next = this.past.map(({ key, value }) => ({ key: gatherRows(key), value: gatherRows(value) }));
    this.dispose();
    this.past = next;
    this.mask = Array.from(rows, (r) => [...this.mask[r]!]);
    this.nextPosition = Array.from(rows, (r) => this.nextPosition[r]!);
  }

  /** Releases the cache tensors. */
  dispose(): void {
    for (const { key, value } of this.past) {
      key.dispose();
      value.dispose();
    }
    this.past = [];
  }

  private async run(
    embeds: Float32Array,
    batch: number,
    length: number,
    positions: BigInt64Array,
    signal?: AbortSignal,
    session: InferenceSession = this.session,
  ): Promise<Float32Array[]> {
    throwIfAborted(signal, 'generation');
    const c = this.config;
    const total = this.mask[0]!.length;
    const feeds: Record<string, Tensor> = {
      [DECODER_IO.inputsEmbeds]: new this.TensorType('float32', embeds, [batch, length, c.hiddenSize]),
      [DECODER_IO.positionIds]: new this.TensorType('int64', positions, [batch, length]),
    };
    if (session.inputNames.includes(DECODER_IO.attentionMask)) {
      feeds[DECODER_IO.attentionMask] = this.maskTensor();
    }
    // A step graph's prompt (nothing cached yet) reads an empty past rather than the empty slots of
    // our buffers: its attention then spans the prompt's own keys only.
    const stepGraph = !hasPresent(session);
    const empty = stepGraph && total === length ? this.emptyPast(batch) : undefined;
    this.past.forEach(({ key, value }, i) => {
      feeds[DECODER_IO.pastKey(i)] = empty ?? key;
      feeds[DECODER_IO.pastValue(i)] = empty ?? value;
    });
    if (stepGraph || (this.append && length === 1 && session === this.session)) {
      // A step (or any run of a step graph): the runtime reads the cache from our buffers and
      // returns only this run's keys and values, which are written in place here (fetching `present`
      // would copy the whole cache back every step).
      const fetches: Record<string, Tensor | null> = { [DECODER_IO.logits]: null };
      for (let i = 0; i < c.numHiddenLayers; i++) {
        fetches[DECODER_IO.newKey(i)] = null;
        fetches[DECODER_IO.newValue(i)] = null;
      }
      const out = await session.run(feeds, fetches as Record<string, Tensor>);
      if (!this.shared) {
        // Copy mode after a step graph's prompt: its keys become a past of exactly their length.
        this.dispose();
        this.allocatePast(batch, length);
      }
      this.past.forEach(({ key, value }, i) => {
        this.appendRows(key, out[DECODER_IO.newKey(i)]!, total - length, length);
        this.appendRows(value, out[DECODER_IO.newValue(i)]!, total - length, length);
      });
      return this.logitsOf(out[DECODER_IO.logits]!, batch);
    }
    if (this.shared) {
      // The cache buffers are also the outputs: the runtime writes the new positions in place.
      const fetches: Record<string, Tensor | null> = { [DECODER_IO.logits]: null };
      this.past.forEach(({ key, value }, i) => {
        fetches[DECODER_IO.presentKey(i)] = key;
        fetches[DECODER_IO.presentValue(i)] = value;
      });
      const out = await session.run(feeds, fetches as Record<string, Tensor>);
      return this.logitsOf(out[DECODER_IO.logits]!, batch);
    }
    const out = await session.run(feeds);
    this.dispose();
    this.past = Array.from({ length: c.numHiddenLayers }, (_, i) => ({
      key: out[DECODER_IO.presentKey(i)]!,
      value: out[DECODER_IO.presentValue(i)]!,
    }));
    return this.logitsOf(out[DECODER_IO.logits]!, batch);
  }

  /** attention_mask [batch, positions so far] from the rows kept here. */
  private maskTensor(): Tensor {
    const rows = this.mask;
    return new this.TensorType(
      'int64',
      BigInt64Array.from(rows.flat(), (m) => BigInt(m)),
      [rows.length, rows[0]!.length],
    );
  }

  /** Writes `length` positions' [B, length, kvH·D] rows into the buffer [B, kvH, capacity, D] from `at`. */
  private appendRows(cache: Tensor, rows: Tensor, at: number, length: number): void {
    const [b, h, cap, d] = cache.dims as [number, number, number, number];
    const dst = cache.data as Float32Array;
    const src = rows.data as Float32Array;
    if (src.length !== b * length * h * d || at + length > cap) {
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `new keys [${rows.dims.join(', ')}] for a cache of ${h}×${d} holding ${cap} positions, from ${at}`,
      );
    }
    for (let r = 0; r < b; r++)
      for (let s = 0; s < length; s++)
        for (let j = 0; j < h; j++) {
          const from = ((r * length + s) * h + j) * d;
          dst.set(src.subarray(from, from + d), ((r * h + j) * cap + at + s) * d);
        }
    rows.dispose();
  }

  private logitsOf(logits: Tensor, batch: number): Float32Array[] {
    const c = this.config;
    try {
      return lastPositionRows(logits, batch, c.vocabSize);
    } finally {
      logits.dispose();
    }
  }
}

function hasPresent(session: InferenceSession): boolean {
  return session.outputNames.includes(DECODER_IO.presentKey(0));
}

function hasNewKeys(session: InferenceSession): boolean {
  return session.outputNames.includes(DECODER_IO.newKey(0));
}

/** Logits rows of the last position, from [B, 1, V] (ours) or [B, S, V] (full-sequence exports). */
function lastPositionRows(logits: Tensor, batch: number, vocab: number): Float32Array[] {
  const data = logits.data as Float32Array;
  const dims = logits.dims;
  const seq = dims.length === 3 ? dims[1]! : 1;
  if (dims[0] !== batch || dims.at(-1) !== vocab) {
    throw new PaliError(ERROR_CODES.SHAPE_MISMATCH, `The decoder returned logits [${dims.join(', ')}]`, {
      hint: `Expected [${batch}, 1 or sequence, ${vocab}]`,
    });
  }
  return Array.from({ length: batch }, (_, b) =>
    data.slice((b * seq + seq - 1) * vocab, (b * seq + seq) * vocab),
  );
}
