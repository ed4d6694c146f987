import { GraphWeights, type PaliGemmaConfig, type WeightProvider } from '@pali/model-folder';
import { GraphBuilder, gather } from '@pali/onnx';
import { TEXT_PREFIX } from './decoder-graph.js';

export const EMBED_IO = { input: 'input_ids', output: 'inputs_embeds' } as const;

/** embed_tokens: input_ids int64 [B, S] → inputs_embeds [B, S, H], the raw table rows (REFERENCE.md §9). */
export function buildEmbedGraph(config: PaliGemmaConfig, weights: WeightProvider): GraphBuilder {
  const t = config.textConfig;
  const g = new GraphBuilder({ name: 'gemma2_embed_tokens', opset: 21 });
  const w = new GraphWeights(g, weights);
  const ids = g.input(EMBED_IO.input, 'int64', ['batch_size', 'sequence_length']);
  const table = w.tensor(`${TEXT_PREFIX}embed_tokens.weight`, [t.vocabSize, t.hiddenSize]);
  g.output(gather(table, ids, 0), EMBED_IO.output);
  return g;
}
