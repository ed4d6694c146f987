import type {
  DetectResult,
  GenerateChunk,
  GenerateRequest,
  GenerateResult,
  GenerationOptions,
  SegmentObject,
  SegmentResult,
  TextResult,
} from '@pali/core';
import type { HubProgressEvent } from '@pali/hub';
import type { ImageInput } from '@pali/image';
import type { Component, DtypeChoice, ModelDtype } from '@pali/model-folder';
import type { DetectedObject, Skipped } from '@pali/tokenizer';

export type TaskName = 'caption' | 'describe' | 'ocr' | 'ask' | 'detect' | 'segment';

/** One task on one image, streamed token by token (the demo's request). */
export interface TaskRequest extends GenerationOptions {
  task: TaskName;
  image: WebImage;
  /** caption, describe, ask (default 'en'). */
  lang?: string;
  /** ask. */
  question?: string;
  /** detect, segment: one label or several (also "cat ; dog"). */
  labels?: string | readonly string[];
}

export interface TaskResult {
  task: TaskName;
  prompt: string;
  /** The generated text (trimmed for caption, describe, ocr and ask, as the task methods return it). */
  text: string;
  tokens: number[];
  /** The decoded image's size: boxes and masks are in its pixels. */
  width: number;
  height: number;
  /** detect (boxes) and segment (boxes and masks). */
  objects?: (DetectedObject | SegmentObject)[];
  skipped?: Skipped[];
}

/** What the web adapter decodes as an image: a URL, bytes, a Blob/File, ImageData, or RGB pixels. */
export type WebImage = ImageInput;

/** Files picked by the user: File objects, with the path inside the model folder when known. */
export interface LocalFile {
  /** e.g. "onnx/decoder_model_merged_q4.onnx"; default: the File's webkitRelativePath or name. */
  path?: string;
  file: Blob & { name?: string; webkitRelativePath?: string };
}

/**
 * Where a model comes from: a Hub repo id, a base URL of a model folder served over HTTP, or files
 * from a file/directory picker. A string is a Hub id unless it looks like a URL or path ("/", "./", "http").
 */
export type ModelSource =
  | string
  | { hub: string; revision?: string; endpoint?: string; token?: string }
  | { url: string }
  | { files: readonly (LocalFile | File)[] };

export type Backend = 'webgpu' | 'wasm';

export type LoadProgress =
  | ({ stage: 'download' } & HubProgressEvent)
  | { stage: 'session'; component: Component | 'prefill'; file: string }
  | { stage: 'backend'; backend: Backend; reason?: string };

/** Everything a load takes that can cross a worker boundary (no functions, no signals). */
export interface WebLoadSettings {
  /** Weight variant (default: fp32 where the folder has it, else q4; Hub downloads default to q4). */
  dtype?: DtypeChoice;
  /** 'auto' (default): WebGPU when the browser has an adapter, else wasm. */
  backend?: Backend | 'auto';
  /** wasm threads (default: min(4, cores) when cross-origin isolated, else 1). */
  threads?: number;
  /** Where ORT's .wasm/.mjs files are served from (ort.env.wasm.wasmPaths). */
  wasmPaths?: string;
  /** The Cache API cache model files are kept in (default 'pali-models'); null keeps nothing. */
  cacheName?: string | null;
  /** big_vision's vae-oid.npz (a URL or the file's bytes/Blob), which segment() needs. */
  vae?: string | Blob | Uint8Array;
}

export interface WebLoadOptions extends WebLoadSettings {
  onProgress?: (event: LoadProgress) => void;
  signal?: AbortSignal;
}

/** What a loaded engine tells about itself. */
export interface EngineInfo {
  /** The backend that runs the model (after any fallback). */
  backend: Backend;
  /** Why the backend differs from the one asked for, if it does. */
  fallbackReason?: string;
  runtime: string;
  /** wasm threads (1 without cross-origin isolation). */
  threads: number;
  source: string;
  dtypes: Record<Component, ModelDtype>;
  imageSize: number;
  hasMaskDecoder: boolean;
}

/**
 * One interface, two implementations: the in-thread PaliGemma (`loadPaliGemma`) and the Web Worker
 * proxy (`createWorkerEngine`). Streaming is an AsyncGenerator of chunks returning the results.
 */
export interface PaliEngine {
  readonly info: EngineInfo;
  generate(request: GenerateRequest<WebImage>): AsyncGenerator<GenerateChunk, GenerateResult[], undefined>;
  run(request: GenerateRequest<WebImage>): Promise<GenerateResult[]>;
  caption(image: WebImage, options?: GenerationOptions & { lang?: string }): Promise<TextResult>;
  describe(image: WebImage, options?: GenerationOptions & { lang?: string }): Promise<TextResult>;
  ocr(image: WebImage, options?: GenerationOptions): Promise<TextResult>;
  ask(
    image: WebImage,
    question: string,
    options?: GenerationOptions & { lang?: string },
  ): Promise<TextResult>;
  detect(
    image: WebImage,
    labels: string | readonly string[],
    options?: GenerationOptions,
  ): Promise<DetectResult>;
  segment(
    image: WebImage,
    labels: string | readonly string[],
    options?: GenerationOptions,
  ): Promise<SegmentResult>;
  /** Any task, streamed: chunks as they are generated, the parsed result at the end. */
  streamTask(request: TaskRequest): AsyncGenerator<GenerateChunk, TaskResult, undefined>;
  dispose(): Promise<void>;
}
