import { describe, expect, it } from 'vitest';
import { type ExtraCases, goldenManifest, int32Rows, MODELS, modelDir, readJson } from '../test/fixtures.js';
import { modelTextInfo } from './model-info.js';
import { loadPaliGemmaTextFromDir, readTokenizerFiles } from './node.js';
import { PaliGemmaText } from './pali-text.js';

const texts = Object.fromEntries(
  await Promise.all(MODELS.map(async (m) => [m, await loadPaliGemmaTextFromDir(modelDir(m))] as const)),
);

describe('PromptBuilder against HF PaliGemmaProcessor', () => {
  const cases = goldenManifest().cases;

  it.each(cases.map((c) => [`${c.model} ${c.case}`, c] as const))(
    '%s: ids, attention_mask, token_type_ids',
    (_, c) => {
      const text = texts[c.model]!;
      const prompts = c.prompts;
      const batch = text.encodeBatch(prompts, { padding: c.padding_side as 'left' });
      expect(batch.inputIds).toEqual(int32Rows(c.tensors.input_ids!));
      expect(batch.attentionMask).toEqual(int32Rows(c.tensors.attention_mask!));
      expect(batch.tokenTypeIds).toEqual(int32Rows(c.tensors.token_type_ids!));
      if (prompts.length === 1) {
        const one = text.encodePrompt(prompts[0]!);
        expect([one.inputIds, one.attentionMask, one.tokenTypeIds]).toEqual([
          batch.inputIds[0],
          batch.attentionMask[0],
          batch.tokenTypeIds[0],
        ]);
      }
    },
  );

  it('covers both models, the left-padded batch and every single-prompt case', () => {
    expect(new Set(cases.map((c) => c.model))).toEqual(new Set(MODELS));
    expect(cases.filter((c) => c.case === 'batch' && c.padding_side === 'left')).toHaveLength(2);
  });

  const extra = readJson<ExtraCases>('tokenizer-extra/cases.json').processor;
  it.each(
    extra.map(
      (c) =>
        [
          `${JSON.stringify(c.prompts)}${c.suffix ? ` + ${JSON.stringify(c.suffix)}` : ''} ×${c.images} ${c.padding_side}`,
          c,
        ] as const,
    ),
  )('tiny-3b %s', (_, c) => {
    const inputs = c.prompts.map((prompt, i) =>
      c.suffix ? { prompt, suffix: c.suffix[i]!, images: c.images } : { prompt, images: c.images },
    );
    const batch = texts['tiny-3b']!.encodeBatch(inputs, { padding: c.padding_side });
    expect(batch.inputIds).toEqual(c.input_ids);
    expect(batch.attentionMask).toEqual(c.attention_mask);
    expect(batch.tokenTypeIds).toEqual(c.token_type_ids);
  });
});

describe('PromptBuilder limits', () => {
  const text = texts['tiny-3b']!;

  it('reads image_seq_length and the context from the model folder', () => {
    expect(text.prompts.info).toEqual({
      imageSeqLength: 16,
      maxPositionEmbeddings: 8192,
      imageTokenId: 2176,
      eosTokenIds: [1, 6],
    });
    expect(text.prompts.promptText('caption en')).toBe(`${'<image>'.repeat(16)}<bos>caption en\n`);
  });

  it('raises PROMPT_TOO_LONG with a hint when the prompt (plus tokens to generate) exceeds the context', () => {
    const long = 'cat '.repeat(9000);
    expect(() => text.encodePrompt(long)).toThrowError(
      expect.objectContaining({
        code: 'PROMPT_TOO_LONG',
        message: expect.stringMatching(/Shorten the prompt/),
      }),
    );
    const fits = text.encodePrompt('caption en');
    const room = 8192 - fits.inputIds.length;
    expect(() => text.encodePrompt('caption en', { reserve: room })).not.toThrow();
    expect(() => text.encodePrompt('caption en', { reserve: room + 1 })).toThrowError(
      expect.objectContaining({
        code: 'PROMPT_TOO_LONG',
        details: expect.objectContaining({ context: 8192 }),
      }),
    );
  });

  it('refuses a prompt that already holds <image>, and bad counts', () => {
    for (const call of [
      () => text.encodePrompt('<image>caption en'),
      () => text.encodePrompt({ prompt: 'x', images: -1 }),
      () => text.encodePrompt('x', { reserve: 1.5 }),
      () => text.encodeBatch([]),
      () => text.encodePrompt(3 as unknown as string),
    ]) {
      expect(call).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('checks that config.json and the tokenizer agree on the image token', async () => {
    const files = await readTokenizerFiles(modelDir('tiny-3b'));
    expect(() =>
      PaliGemmaText.fromFiles({
        ...files,
        config: { image_token_index: 5, text_config: {}, vision_config: { image_size: 28, patch_size: 14 } },
      }),
    ).toThrowError(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });

  it('falls back to config.json for image_seq_length, then to (image_size / patch_size)²', () => {
    expect(modelTextInfo({ text_config: { num_image_tokens: 256, max_position_embeddings: 100 } })).toEqual({
      imageSeqLength: 256,
      maxPositionEmbeddings: 100,
    });
    expect(modelTextInfo({ vision_config: { image_size: 448, patch_size: 14 } }).imageSeqLength).toBe(1024);
    expect(() => modelTextInfo({})).toThrowError(expect.objectContaining({ code: 'CORRUPT_FILE' }));
  });

  it('renders task prompts from the model folder', () => {
    expect(text.taskPrompt({ task: 'detect', objects: ['cat', 'dog'] })).toBe('detect cat ; dog');
    expect(text.stopTokenIds()).toEqual([1, 6]);
  });
});
