import { ERROR_CODES, PaliError } from '@pali/errors';
import { byteLength, bytesOf, type DType, elementCount, type TypedArray } from '../dtype.js';
import type { Attrs } from './attributes.js';
import { checkShape, type Dim, graphError, type Shape, shapeToString } from './shape.js';

/** A tensor in the graph: a graph input, an initializer or a node output. */
export class Value {
  constructor(
    readonly graph: GraphBuilder,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}

  get rank(): number | null {
    return this.shape === null ? null : this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${shapeToString(this.shape)}`;
  }
}

/** Bytes of an initializer, given whole or as chunks in order. */
export type TensorBytes = Uint8Array | TypedArray;
/**
 * Produces an initializer's bytes when the writer reaches it, so a caller can stream a checkpoint one
 * tensor at a time; chunks must add up to exactly the tensor's byte length.
 */
export type LazyTensorSource = () =>
  | TensorBytes
  | Promise<TensorBytes>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

export interface InitializerRecord {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly byteLength: number;
  /** Set for initializers given as data. */
  readonly data?: Uint8Array;
  /** Set for lazy initializers: the builder holds only metadata. */
  readonly source?: LazyTensorSource;
}

export interface NodeRecord {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Attrs;
}

export interface NodeSpec {
  opType: string;
  /** '' (ONNX) or 'com.microsoft'. */
  domain?: string;
  /** Inputs in order; null/undefined for an omitted optional input. */
  inputs: readonly (Value | null | undefined)[];
  attrs?: Attrs;
  /** dtype and inferred shape of each output; null for an optional output left out. */
  outputs: readonly ({ dtype: DType; shape: Shape } | null)[];
  /** Node name; also the output name of a one-output node. */
  name?: string;
  /** Explicit output names. */
  outputNames?: readonly (string | undefined)[];
  /** Lowest ONNX opset with this op's current signature (for domain ''). */
  sinceOpset?: number;
}

export interface GraphBuilderOptions {
  name?: string;
  /** ONNX (domain '') opset; 21 by default. Ops from newer opsets (e.g. RMSNormalization, 23) need more. */
  opset?: number;
}

export interface GraphOutput {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

/**
 * Builds one ONNX graph (no subgraphs). Every mistake that ORT would report at load (an input from
 * another graph, a duplicate name, a dtype clash, a bad attribute) fails here with the node's name.
 */
export class GraphBuilder {
  readonly name: string;
  readonly opset: number;
  private readonly values = new Map<string, Value>();
  private readonly nodeNames = new Set<string>();
  private readonly counters = new Map<string, number>();
  readonly inputs: Value[] = [];
  readonly outputs: GraphOutput[] = [];
  readonly nodes: NodeRecord[] = [];
  readonly initializers: InitializerRecord[] = [];
  readonly domains = new Set<string>();

  constructor(options: GraphBuilderOptions = {}) {
    this.name = options.name ?? 'graph';
    this.opset = options.opset ?? 21;
    if (!Number.isInteger(this.opset) || this.opset < 18)
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Opset ${this.opset} is not supported`, {
        hint: 'Use opset 18 or later (axes are inputs there, as the op helpers assume)',
      });
  }

  /** A name not used yet, from a prefix. */
  uniqueName(prefix: string): string {
    let n = this.counters.get(prefix) ?? 0;
    let name: string;
    do name = `${prefix}_${n++}`;
    while (this.values.has(name) || this.nodeNames.has(name));
    this.counters.set(prefix, n);
    return name;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  hasNode(name: string): boolean {
    return this.nodeNames.has(name);
  }

  get(name: string): Value {
    const v = this.values.get(name);
    if (!v)
      throw new PaliError(ERROR_CODES.GRAPH_ERROR, `No value named "${name}" in graph "${this.name}"`, {
        hint: 'Declare it as an input or initializer first',
      });
    return v;
  }

  private define(name: string, dtype: DType, shape: Shape, what: string): Value {
    if (!name) throw new PaliError(ERROR_CODES.GRAPH_ERROR, `${what} has an empty name`);
    if (this.values.has(name))
      throw new PaliError(ERROR_CODES.GRAPH_ERROR, `${what}: the name "${name}" is already used`, {
        hint: 'Give every input, initializer and node output a unique name',
        details: { name },
      });
    if (shape) checkShape(shape, `${what} "${name}"`);
    const v = new Value(this, name, dtype, shape === null ? null : [...shape]);
    this.values.set(name, v);
    return v;
  }

  /** A graph input; string dims are symbolic (e.g. 'batch'). */
  input(name: string, dtype: DType, shape: readonly Dim[]): Value {
    const v = this.define(name, dtype, shape, 'Input');
    this.inputs.push(v);
    return v;
  }

  /** An initializer from data (copied only by reference; do not mutate it before writing). */
  initializer(name: string, dtype: DType, dims: readonly number[], data: TensorBytes): Value {
    const bytes = bytesOf(data);
    const expected = byteLength(dtype, elementCount(dims));
    if (bytes.byteLength !== expected)
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `Initializer "${name}": ${dtype}[${dims.join(', ')}] needs ${expected} bytes, got ${bytes.byteLength}`,
        { hint: 'Pass data whose length matches dtype and dims', details: { name } },
      );
    const v = this.define(name, dtype, dims, 'Initializer');
    this.initializers.push({ name, dtype, dims: [...dims], byteLength: expected, data: bytes });
    return v;
  }

  /** An initializer whose bytes are produced only when the writer reaches it. */
  lazyInitializer(name: string, dtype: DType, dims: readonly number[], source: LazyTensorSource): Value {
    const v = this.define(name, dtype, dims, 'Initializer');
    const len = byteLength(dtype, elementCount(dims));
    this.initializers.push({ name, dtype, dims: [...dims], byteLength: len, source });
    return v;
  }

  /** A small constant initializer with a generated name. */
  constant(dtype: DType, dims: readonly number[], data: TensorBytes, prefix = 'const'): Value {
    return this.initializer(this.uniqueName(prefix), dtype, dims, data);
  }

  /** Marks a value as a graph output, under its own name or (through an Identity) another. */
  output(value: Value, name?: string): Value {
    this.own(value, 'Output');
    let v = value;
    if (name !== undefined && name !== value.name) {
      v = this.addNode({
        opType: 'Identity',
        inputs: [value],
        outputs: [{ dtype: value.dtype, shape: value.shape }],
        outputNames: [name],
      })[0]!;
    }
    if (this.outputs.some((o) => o.name === v.name))
      throw new PaliError(ERROR_CODES.GRAPH_ERROR, `Output "${v.name}" is declared twice`);
    this.outputs.push({ name: v.name, dtype: v.dtype, shape: v.shape });
    return v;
  }

  private own(v: Value, where: string): void {
    if (v.graph !== this || this.values.get(v.name) !== v)
      throw new PaliError(
        ERROR_CODES.GRAPH_ERROR,
        `${where}: value "${v.name}" is not part of graph "${this.name}"`,
        {
          hint: 'Use values created by this GraphBuilder only',
        },
      );
  }

  /**
   * Adds a node; op helpers call this after checking types and inferring shapes. Returns the outputs
   * that were asked for (left-out optional outputs are skipped), in order.
   */
  addNode(spec: NodeSpec): Value[] {
    const domain = spec.domain ?? '';
    const name = spec.name ?? this.uniqueName(spec.opType);
    if (this.nodeNames.has(name))
      throw new PaliError(
        ERROR_CODES.GRAPH_ERROR,
        `Node "${name}": the name is already used by another node`,
        {
          hint: 'Give every node a unique name',
        },
      );
    if (domain === '' && spec.sinceOpset !== undefined && this.opset < spec.sinceOpset)
      throw graphError(
        name,
        `${spec.opType} needs ONNX opset ${spec.sinceOpset}, the graph has ${this.opset}`,
        `Create the GraphBuilder with { opset: ${spec.sinceOpset} } or later`,
      );
    let last = spec.inputs.length;
    while (last > 0 && spec.inputs[last - 1] == null) last--;
    const inputs: string[] = [];
    for (let i = 0; i < last; i++) {
      const v = spec.inputs[i];
      if (v == null) {
        inputs.push('');
        continue;
      }
      if (!(v instanceof Value) || v.graph !== this || this.values.get(v.name) !== v)
        throw graphError(
          name,
          `input ${i} ("${(v as { name?: string }).name}") is not a value of this graph`,
        );
      inputs.push(v.name);
    }
    const outNames: string[] = [];
    let nOut = spec.outputs.length;
    while (nOut > 0 && spec.outputs[nOut - 1] === null) nOut--;
    for (let i = 0; i < nOut; i++) {
      if (spec.outputs[i] === null) {
        outNames.push('');
        continue;
      }
      const explicit = spec.outputNames?.[i];
      const outName =
        explicit ?? (nOut === 1 && !this.values.has(name) ? name : this.uniqueName(`${name}_out${i}`));
      if (this.values.has(outName) || outNames.includes(outName))
        throw graphError(name, `output name "${outName}" is already used`, 'Choose another output name');
      outNames.push(outName);
    }
    this.nodeNames.add(name);
    if (domain !== '') this.domains.add(domain);
    const outputs: Value[] = [];
    for (let i = 0; i < nOut; i++) {
      const o = spec.outputs[i];
      if (o) outputs.push(this.define(outNames[i]!, o.dtype, o.shape, `Node "${name}" output`));
    }
    this.nodes.push({
      name,
      opType: spec.opType,
      domain,
      inputs,
      outputs: outNames,
      attrs: spec.attrs ?? {},
    });
    return outputs;
  }
}
