import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** PaliGemma 2 3B shapes (REFERENCE.md §2): Gemma 2 2B decoder, SigLIP So400m/14 encoder. */
export const PALIGEMMA2_3B = {
  text: { hidden: 2304, intermediate: 9216, layers: 26, heads: 8, kvHeads: 4, headDim: 256, vocab: 257216 },
  vision: { hidden: 1152, intermediate: 4304, layers: 27, heads: 16, patch: 14 },
} as const;

interface TensorSpec {
  name: string;
  shape: number[];
  /** Rows at and above this index are zero (embedding rows the bench's tokenizer cannot decode). */
  zeroRowsFrom?: number;
}

const SHARED_SHARD = 'model-00001-of-00002.safetensors';
const SIZE_SHARD = 'model-00002-of-00002.safetensors';
const POSITION = 'vision_tower.vision_model.embeddings.position_embedding.weight';

/** Every tensor but the position embedding, which is the only one that depends on the image size. */
export function sharedTensors(tokenizerVocab: number): TensorSpec[] {
  const t = PALIGEMMA2_3B.text;
  const v = PALIGEMMA2_3B.vision;
  const specs: TensorSpec[] = [];
  const vp = 'vision_tower.vision_model';
  specs.push({ name: `${vp}.embeddings.patch_embedding.weight`, shape: [v.hidden, 3, v.patch, v.patch] });
  specs.push({ name: `${vp}.embeddings.patch_embedding.bias`, shape: [v.hidden] });
  for (let i = 0; i < v.layers; i++) {
    const p = `${vp}.encoder.layers.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2'])
      for (const w of ['weight', 'bias']) specs.push({ name: `${p}.${n}.${w}`, shape: [v.hidden] });
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      specs.push({ name: `${p}.self_attn.${n}.weight`, shape: [v.hidden, v.hidden] });
      specs.push({ name: `${p}.self_attn.${n}.bias`, shape: [v.hidden] });
    }
    specs.push({ name: `${p}.mlp.fc1.weight`, shape: [v.intermediate, v.hidden] });
    specs.push({ name: `${p}.mlp.fc1.bias`, shape: [v.intermediate] });
    specs.push({ name: `${p}.mlp.fc2.weight`, shape: [v.hidden, v.intermediate] });
    specs.push({ name: `${p}.mlp.fc2.bias`, shape: [v.hidden] });
  }
  specs.push({ name: `${vp}.post_layernorm.weight`, shape: [v.hidden] });
  specs.push({ name: `${vp}.post_layernorm.bias`, shape: [v.hidden] });
  specs.push({ name: 'multi_modal_projector.linear.weight', shape: [t.hidden, v.hidden] });
  specs.push({ name: 'multi_modal_projector.linear.bias', shape: [t.hidden] });
  const lp = 'language_model.model';
  specs.push({ name: `${lp}.embed_tokens.weight`, shape: [t.vocab, t.hidden], zeroRowsFrom: tokenizerVocab });
  for (let i = 0; i < t.layers; i++) {
    const p = `${lp}.layers.${i}`;
    for (const n of [
      'input_layernorm',
      'post_attention_layernorm',
      'pre_feedforward_layernorm',
      'post_feedforward_layernorm',
    ])
      specs.push({ name: `${p}.${n}.weight`, shape: [t.hidden] });
    specs.push({ name: `${p}.self_attn.q_proj.weight`, shape: [t.heads * t.headDim, t.hidden] });
    specs.push({ name: `${p}.self_attn.k_proj.weight`, shape: [t.kvHeads * t.headDim, t.hidden] });
    specs.push({ name: `${p}.self_attn.v_proj.weight`, shape: [t.kvHeads * t.headDim, t.hidden] });
    specs.push({ name: `${p}.self_attn.o_proj.weight`, shape: [t.hidden, t.heads * t.headDim] });
    specs.push({ name: `${p}.mlp.gate_proj.weight`, shape: [t.intermediate, t.hidden] });
    specs.push({ name: `${p}.mlp.up_proj.weight`, shape: [t.intermediate, t.hidden] });
    specs.push({ name: `${p}.mlp.down_proj.weight`, shape: [t.hidden, t.intermediate] });
  }
  specs.push({ name: `${lp}.norm.weight`, shape: [t.hidden] });
  return specs;
}

/** 256 bf16 values evenly spread over [-0.05, 0.05]: one random byte picks one. */
const LEVELS = (() => {
  const f = new Float32Array(256);
  for (let i = 0; i < 256; i++) f[i] = ((i - 127.5) / 127.5) * 0.05;
  const bits = new Uint32Array(f.buffer);
  return Uint16Array.from(bits, (b) => b >>> 16);
})();

/** Writes one safetensors file, tensor by tensor, in 16 MiB pieces (xorshift32 values, fixed seed). */
async function writeSafetensors(file: string, specs: readonly TensorSpec[], seed: number): Promise<void> {
  const header: Record<string, unknown> = {
    __metadata__: { format: 'pt', note: 'random weights for pali bench' },
  };
  let offset = 0;
  for (const s of specs) {
    const bytes = s.shape.reduce((a, b) => a * b, 1) * 2;
    header[s.name] = { dtype: 'BF16', shape: s.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length), 0);
  head.write(json, 8, 'latin1');
  const partial = `${file}.partial`;
  const fh = await open(partial, 'w');
  try {
    await fh.write(head);
    const chunk = new Uint16Array(8 << 20);
    let state = seed >>> 0 || 1;
    for (const s of specs) {
      const [rows = 1, ...rest] = s.shape;
      const rowLength = rest.reduce((a, b) => a * b, 1);
      const total = rows * rowLength;
      const zeroFrom = s.zeroRowsFrom !== undefined ? s.zeroRowsFrom * rowLength : total;
      for (let done = 0; done < total; ) {
        const n = Math.min(chunk.length, total - done);
        for (let i = 0; i < n; i += 4) {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          chunk[i] = LEVELS[state & 255]!;
          chunk[i + 1] = LEVELS[(state >>> 8) & 255]!;
          chunk[i + 2] = LEVELS[(state >>> 16) & 255]!;
          chunk[i + 3] = LEVELS[state >>> 24]!;
        }
        if (done + n > zeroFrom) chunk.fill(0, Math.max(0, zeroFrom - done), n);
        await fh.write(new Uint8Array(chunk.buffer, 0, n * 2));
        done += n;
      }
    }
  } finally {
    await fh.close();
  }
  renameSync(partial, file);
}

function tokenizerVocabSize(tokenizerDir: string): number {
  const tok = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number> | [string, number][] };
    added_tokens?: { id: number }[];
  };
  const vocab = tok.model.vocab;
  const ids = Array.isArray(vocab) ? vocab.map((_, i) => i) : Object.values(vocab);
  for (const a of tok.added_tokens ?? []) ids.push(a.id);
  return Math.max(...ids) + 1;
}

/**
 * A full-size random-weight PaliGemma 2 3B checkpoint at `size` px in the Hub layout (bf16
 * safetensors, two shards, index), made once under `root`. The tokenizer and the special token ids
 * come from `tokenizerDir` (the small fixture tokenizer): embedding rows it cannot decode are zero,
 * so greedy decoding stays within it while every matrix keeps its real size.
 */
export async function ensureRandomCheckpoint(
  root: string,
  size: 224 | 448 | 896,
  tokenizerDir: string,
  onStep: (what: string) => void = () => {},
): Promise<string> {
  const dir = join(root, `checkpoint-${size}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const vocab = tokenizerVocabSize(tokenizerDir);
  const sharedDir = join(root, 'shared');
  mkdirSync(sharedDir, { recursive: true });
  const shared = join(sharedDir, SHARED_SHARD);
  const specs = sharedTensors(vocab);
  if (!existsSync(shared)) {
    onStep('writing the shared 3B weights (bf16, ~5.8 GB)');
    await writeSafetensors(shared, specs, 0x5eed);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    linkSync(shared, join(dir, SHARED_SHARD));
  } catch {
    symlinkSync(shared, join(dir, SHARED_SHARD));
  }
  const v = PALIGEMMA2_3B.vision;
  const positions = (size / v.patch) ** 2;
  onStep(`writing the ${size} px position embedding`);
  await writeSafetensors(join(dir, SIZE_SHARD), [{ name: POSITION, shape: [positions, v.hidden] }], size);
  const weightMap: Record<string, string> = { [POSITION]: SIZE_SHARD };
  for (const s of specs) weightMap[s.name] = SHARED_SHARD;
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );

  // Configs: the fixture's special token ids, the real 3B shapes.
  const base = JSON.parse(readFileSync(join(tokenizerDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const t = PALIGEMMA2_3B.text;
  const config = {
    ...base,
    hidden_size: t.hidden,
    projection_dim: t.hidden,
    text_config: {
      ...(base.text_config as object),
      hidden_size: t.hidden,
      intermediate_size: t.intermediate,
      num_hidden_layers: t.layers,
      num_attention_heads: t.heads,
      num_key_value_heads: t.kvHeads,
      head_dim: t.headDim,
      query_pre_attn_scalar: t.headDim,
      vocab_size: t.vocab,
      num_image_tokens: positions,
    },
    vision_config: {
      ...(base.vision_config as object),
      hidden_size: v.hidden,
      intermediate_size: v.intermediate,
      num_hidden_layers: v.layers,
      num_attention_heads: v.heads,
      image_size: size,
      patch_size: v.patch,
      num_image_tokens: positions,
      num_positions: positions,
      projection_dim: t.hidden,
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const pre = JSON.parse(readFileSync(join(tokenizerDir, 'preprocessor_config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  writeFileSync(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify({ ...pre, size: { height: size, width: size }, image_seq_length: positions }, null, 2),
  );
  const tokenizerConfig = JSON.parse(
    readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8'),
  ) as Record<string, unknown>;
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ ...tokenizerConfig, image_seq_length: positions }),
  );
  for (const f of [
    'generation_config.json',
    'tokenizer.json',
    'tokenizer.model',
    'special_tokens_map.json',
  ]) {
    if (existsSync(join(tokenizerDir, f))) copyFileSync(join(tokenizerDir, f), join(dir, f));
  }
  writeFileSync(join(dir, '.complete'), '');
  return dir;
}
