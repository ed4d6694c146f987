import type { RgbImage } from '@pali/image';
import type { InferenceSession, Tensor } from 'onnxruntime-common';

/** The ONNX Runtime an adapter injects: onnxruntime-node or onnxruntime-web. */
export interface SessionFileOptions {
  externalData?: string;
  /**
   * false: run the weights as stored instead of repacking them at load (ORT's
   * session.disable_prepacking). For graphs whose kernels do not need it (the int8 prefill graph's
   * DynamicQuantizeMatMul loses ~17 % at M=256 without it, but loads in 0.05 s instead of 5.7 s and
   * reads its weights from the mapped file instead of a heap copy). Runtimes may ignore it.
   */
  prepack?: boolean;
}

export interface Runtime {
  /** The runtime's Tensor class. */
  readonly Tensor: typeof Tensor;
  /** Opens a session for a model file of the folder (with its external data, if any). */
  createSession(file: string, options: SessionFileOptions): Promise<InferenceSession>;
  /** A short name for messages and benchmarks, e.g. "onnxruntime-node 1.30.0 (cpu)". */
  readonly name: string;
  /**
   * Sessions map their external data from its file and unmap it when released, so that opening
   * one reads nothing (onnxruntime-node on CPU). Transient prompt sessions (LoadOptions.promptSessions)
   * are the default only where this is true: a runtime that reads the data into memory would read it
   * again for every prompt.
   */
  readonly mapsExternalData?: boolean;
}

/** Byte ranges of one open file. */
export interface RangeReader {
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Read access to one model folder (a local directory, a Hub snapshot, a browser cache). */
export interface ModelFiles {
  /** Where the folder is, for messages. */
  readonly location: string;
  exists(path: string): Promise<boolean>;
  readText(path: string): Promise<string>;
  /** A whole (small) file; optional: it lets the embedding lookup skip its session. */
  readBytes?(path: string): Promise<Uint8Array>;
  /** Ranges of a (large) file; optional, as readBytes. */
  openRange?(path: string): Promise<RangeReader>;
}

/** What an image can be given as: the adapter decodes it (path, URL, bytes, Blob, …) into RGB. */
export type ImageDecoder<I> = (input: I, signal?: AbortSignal) => Promise<RgbImage>;
