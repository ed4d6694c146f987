// The same decoder through onnxruntime-web's wasm backend (in Node, one thread): what browsers run.
import { serializeModel } from '@pali/onnx';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { cases, goldenBinary, goldenLogits, relativeError, VAE_PATH } from '../test/golden.js';
import { buildMaskDecoderGraph } from './decoder-graph.js';
import { readVqvaeWeights } from './node.js';
import { placeMask } from './place-mask.js';
import { MaskDecoder } from './runner.js';

describe('mask decoder on onnxruntime-web (wasm)', () => {
  it('gives the golden logits and binary masks', async () => {
    ortWeb.env.wasm.numThreads = 1;
    const model = await serializeModel(buildMaskDecoderGraph(await readVqvaeWeights(VAE_PATH)));
    const session = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const logits = await new MaskDecoder(session, ortWeb.Tensor).decode(cases.codes);
    for (let i = 0; i < logits.length; i++) {
      const err = relativeError(logits[i]!, goldenLogits(i));
      expect(err, `codes ${i}`).toBeLessThan(1e-5);
    }
    console.log(
      `[vqvae parity wasm] worst max abs err / max abs = ${Math.max(...logits.map((l, i) => relativeError(l, goldenLogits(i)))).toExponential(2)}`,
    );
    for (const p of cases.placements) {
      expect(placeMask(logits[p.codes_index]!, p.locs, p.width, p.height).binary, p.note).toEqual(
        goldenBinary(p),
      );
    }
    await session.release();
  });
});
