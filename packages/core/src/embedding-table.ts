// The embed_tokens lookup without an ONNX Runtime session: the rows a step needs are read straight
// from the table's external data and dequantized here, so that a generated token costs one session
// run (the decoder) instead of two. Only the graphs our converter writes are recognised (a Gather on
// a float32 table, or a GatherBlockQuantized on a symmetric int4/int8 table with float32 scales);
// anything else keeps the session. Bit-exact with onnxruntime's kernels (tested on every token).
import { decodeModelProto, type ModelProtoObject, type TensorProtoObject } from '@pali/onnx';
import type { ModelFiles, RangeReader } from './runtime.js';

/** onnx TensorProto data types used here. */
const FLOAT = 1;
const UINT8 = 2;

interface ExternalTensor {
  /** The bytes, when the tensor is stored inside the .onnx file (small tables). */
  inline?: Uint8Array;
  location: string;
  offset: number;
  length: number;
  dims: number[];
  dataType: number;
}

type Layout =
  | { kind: 'float32'; table: ExternalTensor; H: number }
  | {
      kind: 'blockwise';
      data: ExternalTensor;
      scales: ExternalTensor;
      bits: 4 | 8;
      blockSize: number;
      kBlocks: number;
      H: number;
    };

export class EmbeddingTable {
  private constructor(
    private readonly layout: Layout,
    private readonly readers: Map<string, RangeReader>,
    readonly vocabSize: number,
  ) {}

  /**
   * Opens the table of `onnx/embed_tokens*.onnx` when its graph is one we can read and the folder
   * can serve byte ranges; undefined otherwise (the caller keeps using the session).
   */
  static async open(files: ModelFiles, file: string, H: number): Promise<EmbeddingTable | undefined> {
    if (!files.readBytes || !files.openRange) return undefined;
    let model: ModelProtoObject;
    try {
      model = decodeModelProto(await files.readBytes(file));
    } catch {
      return undefined;
    }
    const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
    const layout = recognise(model, dir, H);
    if (!layout) return undefined;
    const readers = new Map<string, RangeReader>();
    try {
      const tensors = layout.kind === 'float32' ? [layout.table] : [layout.data, layout.scales];
      for (const t of tensors) {
        if (!t.inline && !readers.has(t.location)) readers.set(t.location, await files.openRange(t.location));
      }
    } catch {
      for (const r of readers.values()) await r.close();
      return undefined;
    }
    const V = layout.kind === 'float32' ? layout.table.dims[0]! : layout.data.dims[0]!;
    return new EmbeddingTable(layout, readers, V);
  }

  /** Rows [ids.length, H] of the table, as embed_tokens returns them. */
  async lookup(ids: ArrayLike<number>): Promise<Float32Array> {
    const L = this.layout;
    const out = new Float32Array(ids.length * L.H);
    await Promise.all(
      Array.from(ids, async (id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
          throw new RangeError(`token id ${id} is outside the vocabulary of ${this.vocabSize}`);
        }
        if (L.kind === 'float32') {
          const bytes = await this.read(L.table, id * L.H * 4, L.H * 4);
          out.set(new Float32Array(bytes.buffer, bytes.byteOffset, L.H), i * L.H);
          return;
        }
        const blob = (L.blockSize * L.bits) / 8;
        const [q, s] = await Promise.all([
          this.read(L.data, id * L.kBlocks * blob, L.kBlocks * blob),
          this.read(L.scales, id * L.kBlocks * 4, L.kBlocks * 4),
        ]);
        const scales = new Float32Array(s.buffer, s.byteOffset, L.kBlocks);
        dequantizeRow(q, scales, L.bits, L.blockSize, out.subarray(i * L.H, (i + 1) * L.H));
      }),
    );
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.readers.values()].map((r) => r.close()));
    this.readers.clear();
  }

  private async read(t: ExternalTensor, at: number, length: number): Promise<Uint8Array> {
    const bytes = t.inline
      ? t.inline.subarray(at, at + length)
      : await this.readers.get(t.location)!.read(t.offset + at, length);
    // Float32Array views need 4-byte alignment.
    return bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  }
}

/**
 * (q - zero point) × scale per block, as GatherBlockQuantized computes it for unsigned data without
 * zero points (2^(bits-1)): the product of a small integer and a float32, rounded once to float32.
 */
function dequantizeRow(
  q: Uint8Array,
  scales: Float32Array,
  bits: 4 | 8,
  blockSize: number,
  out: Float32Array,
): void {
  const H = out.length;
  if (bits === 8) {
    for (let k = 0; k < H; k++) out[k] = Math.fround((q[k]! - 128) * scales[(k / blockSize) | 0]!);
    return;
  }
  const blob = blockSize / 2;
  for (let k = 0; k < H; k++) {
    const b = (k / blockSize) | 0;
    const j = k - b * blockSize;
    const byte = q[b * blob + (j >> 1)]!;
    const v = j & 1 ? byte >> 4 : byte & 15;
    out[k] = Math.fround((v - 8) * scales[b]!);
  }
}

function externalTensor(t: TensorProtoObject | undefined, dir: string): ExternalTensor | undefined {
  if (t?.rawData && !t.externalData?.length) {
    const inline = t.rawData;
    return {
      inline,
      location: '',
      offset: 0,
      length: inline.length,
      dims: t.dims.map(Number),
      dataType: t.dataType,
    };
  }
  if (!t?.externalData) return undefined;
  const kv = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
  if (!kv.location || kv.length === undefined) return undefined;
  return {
    location: `${dir}${kv.location}`,
    offset: Number(kv.offset ?? 0),
    length: Number(kv.length),
    dims: t.dims.map(Number),
    dataType: t.dataType,
  };
}

function recognise(model: ModelProtoObject, dir: string, H: number): Layout | undefined {
  const g = model.graph;
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  const attr = (n: (typeof g.node)[number], name: string) => n.attribute.find((a) => a.name === name);
  // Back from the single output through Identity/Reshape to the gather (a Slice or Cast on the way
  // means a layout we leave to the session).
  let node = producer.get(g.output[0]?.name ?? '');
  while (node && (node.opType === 'Reshape' || node.opType === 'Identity'))
    node = producer.get(node.input[0]!);
  if (!node || g.output.length !== 1) return undefined;
  if (node.opType === 'Gather' && !node.domain) {
    const table = externalTensor(inits.get(node.input[0]!), dir);
    if (!table || table.dataType !== FLOAT || table.dims.length !== 2 || table.dims[1] !== H)
      return undefined;
    if (Number(attr(node, 'axis')?.i ?? 0) !== 0) return undefined;
    return { kind: 'float32', table, H };
  }
  if (node.opType !== 'GatherBlockQuantized' || node.input.length !== 3) return undefined;
  const data = externalTensor(inits.get(node.input[0]!), dir);
  let scalesName = node.input[2]!;
  const reshape = producer.get(scalesName);
  if (reshape?.opType === 'Reshape') scalesName = reshape.input[0]!;
  else if (reshape) return undefined;
  const scales = externalTensor(inits.get(scalesName), dir);
  const bits = Number(attr(node, 'bits')?.i ?? 4);
  const blockSize = Number(attr(node, 'block_size')?.i ?? 128);
  if (!data || !scales || data.dataType !== UINT8 || scales.dataType !== FLOAT) return undefined;
  if ((bits !== 4 && bits !== 8) || Number(attr(node, 'gather_axis')?.i ?? 0) !== 0) return undefined;
  const [V, kBlocks, blob] = data.dims;
  // The converter's layout: MatMulNBits' B as [V, kBlocks, blob], quantized along its last axis, and
  // no padding (kBlocks × blockSize = H, else the graph slices and we leave it to the session).
  if (data.dims.length !== 3 || Number(attr(node, 'quantize_axis')?.i ?? 1) !== 2) return undefined;
  if (blob !== (blockSize * bits) / 8 || kBlocks! * blockSize !== H) return undefined;
  if (scales.dims.reduce((a, b) => a * b, 1) !== V! * kBlocks!) return undefined;
  return { kind: 'blockwise', data, scales, bits, blockSize, kBlocks: kBlocks!, H };
}
