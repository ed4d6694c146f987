import type { PaliGemmaConfig, WeightProvider } from '@pali/model-folder';
import { GraphBuilder } from '@pali/onnx';
import type { ModelDType } from '@pali/quantize';
import { tiedHead } from './decoder-graph.js';

export const EMBED_IO = { input: 'input_ids', output: 'inputs_embeds' } as const;

/** embed_tokens: input_ids int64 [B, S] → inputs_embeds [B, S, H], the raw table rows (REFERENCE.md §9). */
export function buildEmbedGraph(
  config: PaliGemmaConfig,
  weights: WeightProvider,
  options: { dtype?: ModelDType; blockSize?: number } = {},
): GraphBuilder {
  const t = config.textConfig;
  const g = new GraphBuilder({ name: 'gemma2_embed_tokens', opset: 21 });
  const ids = g.input(EMBED_IO.input, 'int64', ['batch_size', 'sequence_length']);
  // The same table layout as the decoder's tied head (GatherBlockQuantized for quantized dtypes).
  const table = tiedHead(g, weights, t.vocabSize, t.hiddenSize, options.dtype ?? 'fp32', options.blockSize);
  g.output(table.gather(ids), EMBED_IO.output);
  return g;
}
