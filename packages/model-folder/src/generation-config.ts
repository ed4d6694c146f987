import { JsonFields } from './json-fields.js';

export interface GenerationConfig {
  /** Generation stops on any of these (generation_config.json may list several). */
  eosTokenIds: number[];
  bosTokenId: number;
  padTokenId: number;
  /** Defaults for sampling that the model folder suggests, if any. */
  maxNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
}

/**
 * Parses generation_config.json. When the file is absent, pass `undefined`: eos/bos/pad then fall
 * back to config.json's text_config and finally Gemma's ids (eos 1, bos 2, pad 0).
 */
export function parseGenerationConfig(json: unknown, config?: Record<string, unknown>): GenerationConfig {
  const g = JsonFields.of(json ?? {}, 'generation_config.json');
  const c = JsonFields.of(config ?? {}, 'config.json');
  const text = c.object('text_config') ?? JsonFields.of({}, 'config.json.text_config');
  const eos = g.intList('eos_token_id', text.intList('eos_token_id', c.intList('eos_token_id', [1])));
  const result: GenerationConfig = {
    eosTokenIds: [...new Set(eos)],
    bosTokenId: g.int('bos_token_id', text.int('bos_token_id', c.int('bos_token_id', 2))),
    padTokenId: g.int('pad_token_id', text.int('pad_token_id', c.int('pad_token_id', 0))),
  };
  const maxNew = g.optionalNumber('max_new_tokens');
  if (maxNew !== undefined) result.maxNewTokens = maxNew;
  if (g.has('do_sample')) result.doSample = g.raw('do_sample') === true;
  const temperature = g.optionalNumber('temperature');
  if (temperature !== undefined) result.temperature = temperature;
  const topK = g.optionalNumber('top_k');
  if (topK !== undefined) result.topK = topK;
  const topP = g.optionalNumber('top_p');
  if (topP !== undefined) result.topP = topP;
  return result;
}
