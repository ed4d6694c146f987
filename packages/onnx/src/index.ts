export type { ByteSource } from './byte-source.js';
export { blobSource, bytesSource } from './byte-source.js';
export type { DType, TypedArray } from './dtype.js';
export {
  byteLength,
  bytesOf,
  DTYPES,
  dtypeBits,
  dtypeFromOnnx,
  elementCount,
  isDType,
  isFloatDType,
  onnxDataType,
} from './dtype.js';
export type { Attrs, AttrValue } from './graph/attributes.js';
export { attr } from './graph/attributes.js';
export type {
  GraphBuilderOptions,
  GraphOutput,
  InitializerRecord,
  LazyTensorSource,
  NodeRecord,
  NodeSpec,
  TensorBytes,
} from './graph/graph-builder.js';
export { GraphBuilder, Value } from './graph/graph-builder.js';
export type { Dim, Shape } from './graph/shape.js';
export { broadcastShapes, shapeToString } from './graph/shape.js';
export {
  bf16ArrayToF32,
  bf16ToF32,
  f16ArrayToF32,
  f16ToF32,
  f32ArrayToBf16,
  f32ArrayToF16,
  f32ToBf16,
  f32ToF16,
} from './half.js';
export type { ModelOptions } from './model/model-proto.js';
export { buildModelProto, PROTOBUF_LIMIT } from './model/model-proto.js';
export type { ModelProtoObject, TensorProtoObject } from './model/onnx-proto.js';
export { decodeModelProto, encodeModelProto } from './model/onnx-proto.js';
export { serializeModel } from './model/serialize.js';
export { initializerBytes, initializerChunks } from './model/tensor-source.js';
export type { NpyArray } from './npy/npy.js';
export { npyToFloat32, parseNpy, parseNpz } from './npy/npy.js';
export type { AttentionOptions } from './ops/attention.js';
export { attention } from './ops/attention.js';
export type { Operand, OpOptions } from './ops/common.js';
export { int64s, MS_DOMAIN, scalar } from './ops/common.js';
export type {
  GroupQueryAttentionOptions,
  MultiHeadAttentionOptions,
  RotaryEmbeddingOptions,
} from './ops/contrib-attention.js';
export { groupQueryAttention, multiHeadAttention, rotaryEmbedding } from './ops/contrib-attention.js';
export type { EpsOptions } from './ops/contrib-norm.js';
export {
  fastGelu,
  msGelu,
  simplifiedLayerNorm,
  skipLayerNorm,
  skipSimplifiedLayerNorm,
} from './ops/contrib-norm.js';
export type {
  DynamicQuantizeMatMulOptions,
  GatherBlockQuantizedOptions,
  MatMulNBitsOptions,
} from './ops/contrib-quant.js';
export { dynamicQuantizeMatMul, gatherBlockQuantized, matMulNBits } from './ops/contrib-quant.js';
export {
  abs,
  add,
  and,
  cast,
  clip,
  cos,
  div,
  equal,
  erf,
  exp,
  greater,
  greaterOrEqual,
  less,
  lessOrEqual,
  log,
  max,
  min,
  mul,
  neg,
  not,
  or,
  pow,
  reciprocal,
  relu,
  sigmoid,
  sin,
  sqrt,
  sub,
  tanh,
  where,
} from './ops/elementwise.js';
export type {
  ConvOptions,
  ConvTransposeOptions,
  GemmOptions,
  NormOptions,
  ReduceOptions,
  ResizeOptions,
} from './ops/nn.js';
export {
  argMax,
  conv,
  convTranspose,
  gelu,
  gemm,
  layerNorm,
  matMul,
  reduceMax,
  reduceMean,
  reduceSum,
  resize,
  rmsNorm,
  softmax,
} from './ops/nn.js';
export {
  concat,
  cumSum,
  expand,
  gather,
  identity,
  range,
  reshape,
  shapeOf,
  slice,
  split,
  squeeze,
  transpose,
  unsqueeze,
} from './ops/tensor.js';
export type { SafetensorsHeader, SafetensorsTensorInfo } from './safetensors/header.js';
export {
  MAX_HEADER_BYTES,
  parseHeader,
  parseHeaderLength,
  SAFETENSORS_DTYPES,
} from './safetensors/header.js';
export type { LoadedTensor, TensorReader } from './safetensors/reader.js';
export { SafetensorsFile, toFloat32, typedArrayOf } from './safetensors/reader.js';
export { parseSafetensorsIndex, SAFETENSORS_INDEX, ShardedSafetensors } from './safetensors/sharded.js';
export type { SafetensorsInput } from './safetensors/writer.js';
export { encodeSafetensors } from './safetensors/writer.js';
