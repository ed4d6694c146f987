import { isPaliError } from '@pali/errors';
import { describe, expect, it } from 'vitest';
import { decodeModelProto } from '../model/onnx-proto.js';
import { serializeModel } from '../model/serialize.js';
import { matMulNBits } from '../ops/contrib-quant.js';
import { add, relu } from '../ops/elementwise.js';
import { GraphBuilder } from './graph-builder.js';

describe('GraphBuilder build-time checks', () => {
  it('refuses duplicate names, naming the clash', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2]);
    expect(() => g.input('x', 'float32', [2])).toThrowError(/Input: the name "x" is already used/);
    expect(() => g.initializer('x', 'float32', [1], Float32Array.of(1))).toThrowError(
      /Initializer: the name "x" is already used/,
    );
    relu(x, { name: 'r' });
    expect(() => relu(x, { name: 'r' })).toThrowError(/Node "r": the name is already used by another node/);
    expect(() =>
      g.addNode({
        opType: 'Relu',
        inputs: [x],
        outputs: [{ dtype: 'float32', shape: [2] }],
        outputNames: ['x'],
      }),
    ).toThrowError(/output name "x" is already used/);
  });

  it('refuses inputs from another graph and unknown values', () => {
    const g = new GraphBuilder({ name: 'a' });
    const other = new GraphBuilder({ name: 'b' });
    const x = g.input('x', 'float32', [2]);
    const y = other.input('y', 'float32', [2]);
    expect(() => add(x, y, { name: 'mix' })).toThrowError(/Node "mix": input "y" belongs to another graph/);
    expect(() => g.output(y)).toThrowError(/value "y" is not part of graph "a"/);
    expect(() => g.get('nope')).toThrowError(/No value named "nope"/);
    const err = (() => {
      try {
        add(x, y);
      } catch (e) {
        return e;
      }
    })();
    expect(isPaliError(err, 'GRAPH_ERROR')).toBe(true);
  });

  it('checks initializer sizes, opsets, outputs and dims', async () => {
    expect(() => new GraphBuilder({ opset: 13 })).toThrowError(/Opset 13 is not supported/);
    const g = new GraphBuilder();
    expect(() => g.initializer('w', 'float32', [2, 2], Float32Array.of(1, 2, 3))).toThrowError(
      /needs 16 bytes, got 12/,
    );
    expect(() => g.input('bad', 'float32', [1.5])).toThrowError(/dimension 1.5/);
    const x = g.input('x', 'float32', [2]);
    await expect(serializeModel(g)).rejects.toThrowError(/has no outputs/);
    g.output(x);
    expect(() => g.output(x)).toThrowError(/declared twice/);
    g.output(x, 'x_copy');
    const m = decodeModelProto(await serializeModel(g));
    expect(m.graph.output.map((o) => o.name)).toEqual(['x', 'x_copy']);
    expect(m.graph.node.map((n) => n.opType)).toEqual(['Identity']);
  });

  it('writes symbolic dims, opset imports (com.microsoft when used), metadata and 4-bit sizes', async () => {
    const g = new GraphBuilder({ name: 'm', opset: 21 });
    const x = g.input('x', 'float32', ['batch', 'seq', 32]);
    const b = g.initializer('b', 'uint8', [4, 1, 16], new Uint8Array(64));
    const s = g.initializer('s', 'float32', [4], new Float32Array(4));
    g.output(matMulNBits(x, b, s, { K: 32, N: 4, bits: 4, blockSize: 32 }), 'y');
    g.initializer('i4', 'int4', [3], new Uint8Array(2));
    const m = decodeModelProto(
      await serializeModel(g, { metadata: { source: 'test' }, producerName: 'pali-test' }),
    );
    expect(m.irVersion).toBe(10);
    expect(m.producerName).toBe('pali-test');
    expect(m.opsetImport.map((o) => ({ domain: o.domain ?? '', version: o.version }))).toEqual([
      { domain: '', version: 21 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    expect(m.metadataProps).toEqual([{ key: 'source', value: 'test' }]);
    expect(m.graph.input[0]!.type.tensorType.shape!.dim).toEqual([
      { dimParam: 'batch' },
      { dimParam: 'seq' },
      { dimValue: 32 },
    ]);
    expect(m.graph.output[0]!.type.tensorType.shape!.dim).toEqual([
      { dimParam: 'batch' },
      { dimParam: 'seq' },
      { dimValue: 4 },
    ]);
    const node = m.graph.node[0]!;
    expect(node.domain).toBe('com.microsoft');
    expect(Object.fromEntries(node.attribute.map((a) => [a.name, a.i]))).toEqual({
      K: 32,
      N: 4,
      bits: 4,
      block_size: 32,
    });
    expect(m.graph.initializer.find((t) => t.name === 'i4')!.rawData!.byteLength).toBe(2);
  });
});
