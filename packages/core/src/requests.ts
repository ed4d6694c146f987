import type { DetectedObject, SegmentedObject, Skipped } from '@pali/tokenizer';
import type { PixelBox } from '@pali/vqvae';

/** Decoding options (the decoder issue's set). */
export interface GenerationOptions {
  /** Most tokens to generate (default 64). */
  maxNewTokens?: number;
  /** Sample instead of greedy decoding; implied by temperature/topK/topP/minP. */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  /** Seed of the sampling PRNG (default 0): the same seed gives the same text. */
  seed?: number;
  /** Beam search with this many beams (greedy scoring; not streamed token by token). */
  numBeams?: number;
  lengthPenalty?: number;
  /** Generation of a row ends at the first of these strings; the result's text stops before it. */
  stop?: readonly string[];
  /** Generate exactly maxNewTokens tokens, not stopping at eos (benchmarks; HF's eos_token_id=[]). */
  ignoreEos?: boolean;
  signal?: AbortSignal;
}

export interface GenerateRequest<I> extends GenerationOptions {
  /** One image, or one per prompt for a batch. */
  image: I | readonly I[];
  /** The prompt text (e.g. "caption en"), or several for a batch (left padded, each row ends on its own). */
  prompt: string | readonly string[];
}

export type FinishReason = 'eos' | 'stop' | 'length';

/** One streamed piece: a token of a row and the text it completes. */
export interface GenerateChunk {
  row: number;
  token: number;
  /** Text this token completes (may be '' while a multi-byte character is incomplete). */
  text: string;
  index: number;
  finish?: FinishReason;
}

export interface GenerateResult {
  text: string;
  /** The generated token ids (the eos that ended it included, as HF returns them). */
  tokens: number[];
  /** The prompt's token ids (image tokens included). */
  promptTokens: number[];
  finishReason: FinishReason;
}

export interface TextResult {
  text: string;
  tokens: number[];
}

export interface DetectResult {
  /** Boxes in the original image's pixels (x first) and normalised. */
  objects: DetectedObject[];
  /** Raw model output. */
  text: string;
  /** Parts of the output that could not be read as objects. */
  skipped: Skipped[];
}

export interface SegmentObject extends SegmentedObject {
  mask: {
    width: number;
    height: number;
    /** [height, width] row-major 0/1 over the whole image. */
    binary: Uint8Array;
    /** [height, width] row-major in [0, 1]. */
    soft: Float32Array;
    /** The box the mask was placed in (big_vision's segmentation rounding). */
    box: PixelBox;
  };
}

export interface SegmentResult {
  objects: SegmentObject[];
  text: string;
  skipped: Skipped[];
}

/** Turns sixteen <seg> codes per object into 64×64 mask logits (the VQ-VAE decoder). */
export interface MaskCodeDecoder {
  decode(codeSets: readonly (readonly number[])[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Frees its session; called by PaliGemma.dispose(). */
  release?(): Promise<void>;
}
