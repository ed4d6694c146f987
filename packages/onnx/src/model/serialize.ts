import { ERROR_CODES, PaliError } from '@pali/errors';
import type { GraphBuilder } from '../graph/graph-builder.js';
import { buildModelProto, type ModelOptions, PROTOBUF_LIMIT, tensorHeader } from './model-proto.js';
import { encodeModelProto } from './onnx-proto.js';
import { initializerBytes } from './tensor-source.js';

/**
 * The whole model as one .onnx buffer with every initializer inline (small models, tests, browsers).
 * Models over 2 GiB need external data: use writeModel from '@pali/onnx/node'.
 */
export async function serializeModel(g: GraphBuilder, options: ModelOptions = {}): Promise<Uint8Array> {
  const total = g.initializers.reduce((s, r) => s + r.byteLength, 0);
  if (total > PROTOBUF_LIMIT)
    throw new PaliError(
      ERROR_CODES.TOO_LARGE,
      `The initializers take ${total} bytes, over protobuf's 2 GiB limit`,
      {
        hint: "Write the model with external data (writeModel from '@pali/onnx/node')",
      },
    );
  const inits = [];
  for (const rec of g.initializers)
    inits.push({ ...tensorHeader(rec), rawData: await initializerBytes(rec) });
  return encodeModelProto(buildModelProto(g, inits, options));
}
