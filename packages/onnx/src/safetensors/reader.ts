import { ERROR_CODES, PaliError } from '@pali/errors';
import type { ByteSource } from '../byte-source.js';
import type { DType, TypedArray } from '../dtype.js';
import { bf16ArrayToF32, f16ArrayToF32 } from '../half.js';
import { parseHeader, parseHeaderLength, type SafetensorsTensorInfo } from './header.js';

/** A tensor read from a checkpoint: f16/bf16 stay as their bits in a Uint16Array, bool as Uint8Array. */
export interface LoadedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** What both a single safetensors file and a sharded checkpoint offer. */
export interface TensorReader {
  names(): string[];
  has(name: string): boolean;
  info(name: string): SafetensorsTensorInfo;
  /** The tensor's raw little-endian bytes, read from its offset (only those bytes). */
  readBytes(name: string): Promise<Uint8Array>;
  readTensor(name: string): Promise<LoadedTensor>;
  /** F32, F16 or BF16 as float32. */
  readFloat32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

/** A typed array over the bytes (copied when they are not aligned for the element size). */
export function typedArrayOf(dtype: DType, bytes: Uint8Array): TypedArray {
  const ctor = {
    float32: Float32Array,
    float64: Float64Array,
    float16: Uint16Array,
    bfloat16: Uint16Array,
    int8: Int8Array,
    uint8: Uint8Array,
    bool: Uint8Array,
    int16: Int16Array,
    uint16: Uint16Array,
    int32: Int32Array,
    uint32: Uint32Array,
    int64: BigInt64Array,
    uint64: BigUint64Array,
  }[dtype as string];
  if (!ctor) throw new PaliError(ERROR_CODES.UNSUPPORTED_DTYPE, `No typed array for ${dtype}`);
  const b = bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
  return new ctor(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / ctor.BYTES_PER_ELEMENT);
}

/** Converts F32/F16/BF16 tensor data to float32. */
export function toFloat32(t: LoadedTensor): Float32Array {
  switch (t.dtype) {
    case 'float32':
      return t.data as Float32Array;
    case 'float16':
      return f16ArrayToF32(t.data as Uint16Array);
    case 'bfloat16':
      return bf16ArrayToF32(t.data as Uint16Array);
    default:
      throw new PaliError(
        ERROR_CODES.UNSUPPORTED_DTYPE,
        `Tensor "${t.name}" is ${t.dtype}, not a float type`,
        {
          hint: 'Read it with readTensor instead',
        },
      );
  }
}

export function notFound(file: string, name: string): PaliError {
  return new PaliError(ERROR_CODES.NOT_FOUND, `No tensor "${name}" in ${file}`, {
    hint: 'Check the tensor name against the checkpoint (names() lists them)',
    details: { file, tensor: name },
  });
}

/** One .safetensors file: the header is parsed on open; tensors are read one at a time at their offsets. */
export class SafetensorsFile implements TensorReader {
  private constructor(
    readonly source: ByteSource,
    readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  static async open(source: ByteSource): Promise<SafetensorsFile> {
    const prefix = await source.read(0, Math.min(8, source.size));
    const n = parseHeaderLength(source.name, prefix, source.size);
    const header = parseHeader(source.name, await source.read(8, n), source.size);
    return new SafetensorsFile(source, header.tensors, header.metadata);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw notFound(this.source.name, name);
    return t;
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    return this.source.read(t.offset, t.byteLength);
  }

  async readTensor(name: string): Promise<LoadedTensor> {
    const t = this.info(name);
    return { name, dtype: t.dtype, shape: t.shape, data: typedArrayOf(t.dtype, await this.readBytes(name)) };
  }

  async readFloat32(name: string): Promise<Float32Array> {
    return toFloat32(await this.readTensor(name));
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}
