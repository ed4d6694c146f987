// Normalization and activation contrib ops that ORT fuses for transformer blocks.
import { attr } from '../graph/attributes.js';
import type { Value } from '../graph/graph-builder.js';
import { broadcastShapes, graphError, normAxis } from '../graph/shape.js';
import { begin, expectDType, FLOAT16_32, FLOATS, MS_DOMAIN, type OpOptions, sameDType } from './common.js';

export interface EpsOptions extends OpOptions {
  epsilon?: number;
}

function checkHidden(name: string, x: Value, gamma: Value, label = 'gamma'): void {
  const h = x.shape?.[x.shape.length - 1];
  const gh = gamma.shape?.[gamma.shape.length - 1];
  if (gamma.shape && gamma.shape.length !== 1) throw graphError(name, `${label} must be 1-D`);
  if (typeof h === 'number' && typeof gh === 'number' && h !== gh)
    throw graphError(name, `${label} has ${gh} elements but the hidden size is ${h}`);
}

/**
 * SimplifiedLayerNormalization (ORT, ONNX domain): RMSNorm, x / sqrt(mean(x²) + eps) · scale, over the
 * dims from axis on. Gemma's (1 + w) scale must be folded into `scale` by the caller.
 */
export function simplifiedLayerNorm(x: Value, scale: Value, o: EpsOptions & { axis?: number } = {}): Value {
  const { g, name } = begin('SimplifiedLayerNormalization', [x, scale], o);
  sameDType(name, [
    ['X', x],
    ['scale', scale],
  ]);
  expectDType(name, 'X', x, FLOATS);
  if (x.shape) normAxis(name, o.axis ?? -1, x.shape.length);
  if ((o.axis ?? -1) === -1) checkHidden(name, x, scale, 'scale');
  return g.addNode({
    opType: 'SimplifiedLayerNormalization',
    inputs: [x, scale],
    attrs: { axis: attr.optInt(o.axis), epsilon: attr.optFloat(o.epsilon) },
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}

function skipNorm(
  opType: string,
  x: Value,
  skip: Value,
  gamma: Value,
  beta: Value | undefined,
  bias: Value | undefined,
  o: EpsOptions,
): { output: Value; sum: Value } {
  const { g, name } = begin(opType, [x, skip, gamma, beta, bias], o);
  sameDType(name, [
    ['input', x],
    ['skip', skip],
    ['gamma', gamma],
    ['beta', beta],
    ['bias', bias],
  ]);
  expectDType(name, 'input', x, FLOAT16_32);
  if (x.shape && x.shape.length !== 2 && x.shape.length !== 3)
    throw graphError(name, 'input must be 2-D or 3-D');
  broadcastShapes(name, [x.shape, skip.shape]);
  checkHidden(name, x, gamma);
  if (beta) checkHidden(name, x, beta, 'beta');
  if (bias) checkHidden(name, x, bias, 'bias');
  const out = { dtype: x.dtype, shape: x.shape };
  const inputs = opType === 'SkipLayerNormalization' ? [x, skip, gamma, beta, bias] : [x, skip, gamma, bias];
  const [output, sum] = g.addNode({
    opType,
    domain: MS_DOMAIN,
    inputs,
    attrs: { epsilon: attr.optFloat(o.epsilon) },
    outputs: [out, null, null, out],
    name,
  });
  return { output: output!, sum: sum! };
}

/**
 * SkipSimplifiedLayerNormalization: sum = input + skip (+ bias); output = RMSNorm(sum) · gamma. Returns
 * both, so the residual stream continues from `sum`.
 */
export function skipSimplifiedLayerNorm(
  x: Value,
  skip: Value,
  gamma: Value,
  o: EpsOptions & { bias?: Value } = {},
): { output: Value; sum: Value } {
  return skipNorm('SkipSimplifiedLayerNormalization', x, skip, gamma, undefined, o.bias, o);
}

/** SkipLayerNormalization: sum = input + skip (+ bias); output = LayerNorm(sum) · gamma + beta. */
export function skipLayerNorm(
  x: Value,
  skip: Value,
  gamma: Value,
  beta?: Value,
  o: EpsOptions & { bias?: Value } = {},
): { output: Value; sum: Value } {
  return skipNorm('SkipLayerNormalization', x, skip, gamma, beta, o.bias, o);
}

/** com.microsoft FastGelu: tanh-approximated GELU of x (+ bias). */
export function fastGelu(x: Value, bias?: Value, opts?: OpOptions): Value {
  const { g, name } = begin('FastGelu', [x, bias], opts);
  sameDType(name, [
    ['X', x],
    ['bias', bias],
  ]);
  expectDType(name, 'X', x, FLOAT16_32);
  if (bias) checkHidden(name, x, bias, 'bias');
  return g.addNode({
    opType: 'FastGelu',
    domain: MS_DOMAIN,
    inputs: [x, bias],
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}

/** com.microsoft Gelu: exact (erf) GELU; runs on ORT builds whose ONNX opset is below 20 too. */
export function msGelu(x: Value, opts?: OpOptions): Value {
  const { g, name } = begin('Gelu', [x], opts);
  expectDType(name, 'X', x, FLOAT16_32);
  return g.addNode({
    opType: 'Gelu',
    domain: MS_DOMAIN,
    inputs: [x],
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}
