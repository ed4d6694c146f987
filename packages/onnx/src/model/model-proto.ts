import { ERROR_CODES, PaliError } from '@pali/errors';
import { bytesOf, onnxDataType } from '../dtype.js';
import type { AttrValue } from '../graph/attributes.js';
import type { GraphBuilder, InitializerRecord } from '../graph/graph-builder.js';
import type { Dim, Shape } from '../graph/shape.js';
import type {
  AttributeProtoObject,
  ModelProtoObject,
  TensorProtoObject,
  ValueInfoProtoObject,
} from './onnx-proto.js';
import { ATTRIBUTE_TYPE } from './onnx-proto.js';

export interface ModelOptions {
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** metadata_props: free key/value strings (e.g. how the model was converted). */
  metadata?: Record<string, string>;
  /** com.microsoft opset version when contrib ops are used (1). */
  msOpset?: number;
  /** Defaults to 10 for ONNX opset ≤ 21 and 11 above. */
  irVersion?: number;
}

/** protobuf caps a message at 2 GiB; the .onnx part must stay below it. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

const utf8 = new TextEncoder();

function attributeProto(name: string, a: AttrValue): AttributeProtoObject {
  switch (a.kind) {
    case 'int':
      return { name, type: ATTRIBUTE_TYPE.INT, i: a.value };
    case 'float':
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: a.value };
    case 'string':
      return { name, type: ATTRIBUTE_TYPE.STRING, s: utf8.encode(a.value) };
    case 'ints':
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: [...a.value] };
    case 'strings':
      return { name, type: ATTRIBUTE_TYPE.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
    case 'tensor': {
      const data =
        a.dtype === 'float32'
          ? bytesOf(Float32Array.from(a.values))
          : a.dtype === 'int32'
            ? bytesOf(Int32Array.from(a.values))
            : bytesOf(BigInt64Array.from(a.values.map((v) => BigInt(v))));
      return {
        name,
        type: ATTRIBUTE_TYPE.TENSOR,
        t: { name: '', dims: [...a.dims], dataType: onnxDataType(a.dtype), rawData: data },
      };
    }
  }
}

function dimProto(d: Dim): object {
  if (typeof d === 'number') return { dimValue: d };
  if (typeof d === 'string') return { dimParam: d };
  return {};
}

function valueInfo(
  name: string,
  dtype: Parameters<typeof onnxDataType>[0],
  shape: Shape,
): ValueInfoProtoObject {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxDataType(dtype),
        ...(shape === null ? {} : { shape: { dim: shape.map(dimProto) } }),
      },
    },
  };
}

/** The TensorProto header of an initializer, without its data. */
export function tensorHeader(rec: InitializerRecord): TensorProtoObject {
  return { name: rec.name, dims: [...rec.dims], dataType: onnxDataType(rec.dtype) };
}

/**
 * The ModelProto of a graph, with initializer TensorProtos given by the caller (inline bytes or
 * external-data references). Checks that the graph has outputs and that every node input exists.
 */
export function buildModelProto(
  g: GraphBuilder,
  initializers: TensorProtoObject[],
  options: ModelOptions = {},
): ModelProtoObject {
  if (g.outputs.length === 0)
    throw new PaliError(ERROR_CODES.GRAPH_ERROR, `Graph "${g.name}" has no outputs`, {
      hint: 'Mark at least one value with graph.output(value)',
    });
  const opsetImport = [{ domain: '', version: g.opset }];
  for (const d of [...g.domains].sort()) opsetImport.push({ domain: d, version: options.msOpset ?? 1 });
  return {
    irVersion: options.irVersion ?? (g.opset <= 21 ? 10 : 11),
    producerName: options.producerName ?? '@pali/onnx',
    producerVersion: options.producerVersion ?? '0.1.0',
    ...(options.docString ? { docString: options.docString } : {}),
    opsetImport,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        domain: n.domain,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs)
          .filter((e): e is [string, AttrValue] => e[1] !== undefined)
          .map(([k, v]) => attributeProto(k, v)),
      })),
      initializer: initializers,
      input: g.inputs.map((v) => valueInfo(v.name, v.dtype, v.shape)),
      output: g.outputs.map((o) => valueInfo(o.name, o.dtype, o.shape)),
    },
  };
}
