import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import type { GraphBuilder, InitializerRecord } from '../graph/graph-builder.js';
import { buildModelProto, type ModelOptions, PROTOBUF_LIMIT, tensorHeader } from '../model/model-proto.js';
import { DATA_LOCATION_EXTERNAL, encodeModelProto, type TensorProtoObject } from '../model/onnx-proto.js';
import { initializerBytes, initializerChunks } from '../model/tensor-source.js';

export interface WriteModelOptions extends ModelOptions {
  /** Tensors of at least this many bytes go to the external data file (1024). Infinity keeps all inline. */
  externalDataThreshold?: number;
  /**
   * Offset alignment in the data file for tensors below `largeTensorBytes` (64: a cache line, and
   * enough for any typed-array view).
   */
  alignment?: number;
  /**
   * Offset alignment for large tensors (65536: the Windows allocation granularity and a multiple of
   * every page size, so ORT can mmap them on any OS; the same rule as onnx's external_data_helper).
   */
  largeAlignment?: number;
  /** Size from which `largeAlignment` applies (1 MiB). */
  largeTensorBytes?: number;
  /** Name of the data file, beside the model (`<model file name>_data`, e.g. model.onnx_data). */
  dataFileName?: string;
  /** fsync both files before renaming (false). */
  fsync?: boolean;
  signal?: AbortSignal;
  /**
   * Initializers that already lie in another model's data file (same folder): written as references
   * to `location` at `offset` instead of being written again, so two models can share one tensor on disk.
   */
  externalRefs?: ReadonlyMap<string, ExternalTensorRef>;
  /** Called after each tensor with the data bytes written so far and the total. */
  onProgress?: (written: number, total: number) => void;
}

/** Where an initializer's bytes lie in an external data file. */
export interface ExternalTensorRef {
  location: string;
  offset: number;
  length: number;
}

export interface WriteModelResult {
  /** Every tensor written to the data file, by name (to share them with another model). */
  tensorLocations: Map<string, ExternalTensorRef>;
  modelPath: string;
  /** Absent when no tensor went external. */
  dataPath?: string;
  modelBytes: number;
  dataBytes: number;
  externalTensors: number;
  inlineTensors: number;
}

const ZEROS = new Uint8Array(65536);

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) {
    // One write() call takes at most 2 GiB - 1 bytes (an fp32 3B embedding table is 2.4 GB).
    const length = Math.min(bytes.byteLength - off, 1 << 30);
    const { bytesWritten } = await fh.write(bytes, off, length, position + off);
    off += bytesWritten;
  }
}

function checkAlignment(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || (v & (v - 1)) !== 0)
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${name} must be a power of two, got ${v}`);
}

/**
 * Writes a graph as `<path>` plus, for tensors at or above the threshold, `<path>_data`. The data file
 * is written first, sequentially, one tensor at a time (lazy sources are called only then), so memory
 * stays bounded by the largest chunk; then the protobuf. Both are written under temporary names and
 * renamed at the end, so a failure leaves no half-written model.
 */
export async function writeModel(
  g: GraphBuilder,
  path: string,
  options: WriteModelOptions = {},
): Promise<WriteModelResult> {
  const threshold = options.externalDataThreshold ?? 1024;
  const align = options.alignment ?? 64;
  const largeAlign = options.largeAlignment ?? 65536;
  const largeBytes = options.largeTensorBytes ?? 1 << 20;
  checkAlignment('alignment', align);
  checkAlignment('largeAlignment', largeAlign);
  const dataName = options.dataFileName ?? `${basename(path)}_data`;
  if (dataName.includes('/') || dataName.includes('\\') || dataName === '..')
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `dataFileName "${dataName}" must be a plain file name`,
      {
        hint: 'ORT resolves external data relative to the model folder',
      },
    );
  const dataPath = join(dirname(path), dataName);
  const tag = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmpModel = path + tag;
  const tmpData = dataPath + tag;
  const refs = options.externalRefs ?? new Map<string, ExternalTensorRef>();
  for (const [name, ref] of refs) {
    const rec = g.initializers.find((r) => r.name === name);
    if (!rec || rec.byteLength !== ref.length || ref.location.includes('/') || ref.location.includes('\\'))
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `externalRefs: ${name} does not match an initializer of ${ref.length} bytes`,
      );
  }
  const external = (r: InitializerRecord) =>
    !refs.has(r.name) && r.byteLength >= threshold && r.byteLength > 0;
  const totalExternal = g.initializers.filter(external).reduce((s, r) => s + r.byteLength, 0);
  const placed = new Map<string, ExternalTensorRef>();

  let dataFh: FileHandle | undefined;
  let modelFh: FileHandle | undefined;
  let dataBytes = 0;
  let written = 0;
  try {
    const tensors: TensorProtoObject[] = [];
    let inlineTotal = 0;
    for (const rec of g.initializers) {
      throwIfAborted(options.signal, 'model write');
      const header = tensorHeader(rec);
      const ref = refs.get(rec.name);
      if (ref) {
        tensors.push({
          ...header,
          dataLocation: DATA_LOCATION_EXTERNAL,
          externalData: [
            { key: 'location', value: ref.location },
            { key: 'offset', value: String(ref.offset) },
            { key: 'length', value: String(ref.length) },
          ],
        });
        continue;
      }
      if (!external(rec)) {
        const raw = await initializerBytes(rec);
        inlineTotal += raw.byteLength;
        if (inlineTotal > PROTOBUF_LIMIT)
          throw new PaliError(ERROR_CODES.TOO_LARGE, 'The inline tensors exceed protobuf’s 2 GiB limit', {
            hint: 'Lower externalDataThreshold so large tensors go to the data file',
          });
        tensors.push({ ...header, rawData: raw });
        continue;
      }
      dataFh ??= await open(tmpData, 'wx');
      const a = rec.byteLength >= largeBytes ? largeAlign : align;
      const offset = Math.ceil(dataBytes / a) * a;
      for (let p = dataBytes; p < offset; p += ZEROS.byteLength)
        await writeAll(dataFh, ZEROS.subarray(0, Math.min(ZEROS.byteLength, offset - p)), p);
      let pos = offset;
      for await (const chunk of initializerChunks(rec)) {
        await writeAll(dataFh, chunk, pos);
        pos += chunk.byteLength;
        throwIfAborted(options.signal, 'model write');
      }
      dataBytes = pos;
      placed.set(rec.name, { location: dataName, offset, length: rec.byteLength });
      written += rec.byteLength;
      options.onProgress?.(written, totalExternal);
      tensors.push({
        ...header,
        dataLocation: DATA_LOCATION_EXTERNAL,
        externalData: [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(rec.byteLength) },
        ],
      });
    }
    const bytes = encodeModelProto(buildModelProto(g, tensors, options));
    if (bytes.byteLength > PROTOBUF_LIMIT)
      throw new PaliError(
        ERROR_CODES.TOO_LARGE,
        `The model protobuf would take ${bytes.byteLength} bytes, over 2 GiB`,
        {
          hint: 'Lower externalDataThreshold so more tensors go to the data file',
        },
      );
    modelFh = await open(tmpModel, 'wx');
    await writeAll(modelFh, bytes, 0);
    if (options.fsync) {
      await dataFh?.sync();
      await modelFh.sync();
    }
    await dataFh?.close();
    dataFh = undefined;
    await modelFh.close();
    modelFh = undefined;
    if (dataBytes > 0) await rename(tmpData, dataPath);
    await rename(tmpModel, path);
    return {
      tensorLocations: placed,
      modelPath: path,
      ...(dataBytes > 0 ? { dataPath } : {}),
      modelBytes: bytes.byteLength,
      dataBytes,
      externalTensors: tensors.filter((t) => t.dataLocation === DATA_LOCATION_EXTERNAL).length,
      inlineTensors: tensors.filter((t) => t.dataLocation !== DATA_LOCATION_EXTERNAL).length,
    };
  } catch (e) {
    await dataFh?.close().catch(() => {});
    await modelFh?.close().catch(() => {});
    await rm(tmpData, { force: true });
    await rm(tmpModel, { force: true });
    if (e instanceof PaliError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT')
      throw new PaliError(ERROR_CODES.NOT_FOUND, `Cannot write ${path}: its folder does not exist`, {
        hint: 'Create the output folder first',
        cause: e,
      });
    throw new PaliError(ERROR_CODES.RUNTIME_ERROR, `Writing ${path} failed: ${err.message}`, {
      hint: err.code === 'ENOSPC' ? 'Free disk space or write elsewhere' : 'Check the path and permissions',
      cause: e,
    });
  }
}
