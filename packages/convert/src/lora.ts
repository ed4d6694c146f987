import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { canonicalTensorName, type WeightProvider } from '@pali/model-folder';
import { openSafetensors } from '@pali/onnx/node';

/** One adapted Linear: W += scale · B·A, with A [r, in] and B [out, r]. */
interface LoraPair {
  a: Float32Array;
  b: Float32Array;
  rank: number;
  scale: number;
}

export interface LoraAdapter {
  /** Canonical weight names the adapter changes. */
  targets: string[];
  /** The same provider with the low-rank updates merged into the adapted weights. */
  merge(base: WeightProvider): WeightProvider;
}

/**
 * The module paths PEFT records (`base_model.model.<path>.lora_A.weight`) in any transformers naming:
 * 5.x drops `vision_model.` inside the vision tower and nests the decoder under `model.language_model`.
 */
function canonicalModule(path: string): string | undefined {
  let p = path.replace(/^base_model\.model\./, '');
  p = p.replace(/^model\.vision_tower\.(?!vision_model\.)/, 'model.vision_tower.vision_model.');
  p = p.replace(/^vision_tower\.(?!vision_model\.)/, 'vision_tower.vision_model.');
  return canonicalTensorName(`${p}.weight`);
}

/**
 * Reads a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) so that
 * `W += (lora_alpha / r) · B·A` (alpha / √r with use_rslora) is merged into each targeted Linear of
 * either tower before export, as PEFT's merge_and_unload() does.
 */
export async function readLoraAdapter(dir: string): Promise<LoraAdapter> {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `No readable adapter_config.json in ${dir}`, {
      hint: 'Point --lora at a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)',
      cause,
    });
  }
  if (config.peft_type !== 'LORA') {
    throw new PaliError(ERROR_CODES.UNSUPPORTED, `${dir} is a ${String(config.peft_type)} adapter`, {
      hint: 'Only LoRA adapters can be merged',
    });
  }
  for (const key of ['rank_pattern', 'alpha_pattern'] as const) {
    const pattern = config[key];
    if (pattern && typeof pattern === 'object' && Object.keys(pattern).length > 0) {
      throw new PaliError(ERROR_CODES.UNSUPPORTED, `${dir}: per-module ${key} is not supported yet`, {
        hint: 'Merge the adapter with PEFT (merge_and_unload) and convert the merged checkpoint',
      });
    }
  }
  if (config.fan_in_fan_out === true || config.use_dora === true) {
    throw new PaliError(ERROR_CODES.UNSUPPORTED, `${dir}: fan_in_fan_out / DoRA adapters are not supported`);
  }
  const r = Number(config.r);
  const alpha = Number(config.lora_alpha);
  if (!(r > 0) || !(alpha > 0)) {
    throw new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      `${dir}/adapter_config.json: r ${config.r}, lora_alpha ${config.lora_alpha}`,
    );
  }
  const scale = config.use_rslora === true ? alpha / Math.sqrt(r) : alpha / r;

  const reader = await openSafetensors(join(dir, 'adapter_model.safetensors'));
  const pairs = new Map<string, LoraPair>();
  const shapes = new Map<string, [number, number]>();
  try {
    const modules = new Set(
      reader
        .names()
        .filter((n) => n.endsWith('.lora_A.weight'))
        .map((n) => n.slice(0, -'.lora_A.weight'.length)),
    );
    for (const module of modules) {
      const target = canonicalModule(module);
      if (!target) continue;
      const aName = `${module}.lora_A.weight`;
      const bName = `${module}.lora_B.weight`;
      if (!reader.has(bName)) {
        throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${dir}: ${aName} has no ${bName}`);
      }
      const [ra, inF] = reader.info(aName).shape as [number, number];
      const [outF, rb] = reader.info(bName).shape as [number, number];
      if (ra !== r || rb !== r) {
        throw new PaliError(
          ERROR_CODES.SHAPE_MISMATCH,
          `${dir}: ${module} has rank ${ra}/${rb}, adapter_config.json says ${r}`,
        );
      }
      pairs.set(target, {
        a: await reader.readFloat32(aName),
        b: await reader.readFloat32(bName),
        rank: r,
        scale,
      });
      shapes.set(target, [outF, inF]);
    }
  } finally {
    await reader.close();
  }
  if (pairs.size === 0) {
    throw new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      `${dir}/adapter_model.safetensors has no lora_A/lora_B weights`,
    );
  }
  return {
    targets: [...pairs.keys()],
    merge(base: WeightProvider): WeightProvider {
      for (const [name, [outF, inF]] of shapes) {
        const actual = base.shape(name);
        if (actual[0] !== outF || actual[1] !== inF) {
          throw new PaliError(
            ERROR_CODES.SHAPE_MISMATCH,
            `The LoRA update of ${name} is [${outF}, ${inF}], the checkpoint's weight is [${actual.join(', ')}]`,
            { hint: 'The adapter was trained on another base model' },
          );
        }
      }
      return {
        shape: (name) => base.shape(name),
        names: () => base.names(),
        async read(name) {
          const w = await base.read(name);
          const pair = pairs.get(name);
          if (!pair) return w;
          const [outF, inF] = shapes.get(name)!;
          const out = Float32Array.from(w);
          for (let o = 0; o < outF; o++) {
            for (let i = 0; i < inF; i++) {
              let sum = 0;
              for (let k = 0; k < pair.rank; k++) sum += pair.b[o * pair.rank + k]! * pair.a[k * inF + i]!;
              out[o * inF + i] = out[o * inF + i]! + Math.fround(sum * pair.scale);
            }
          }
          return out;
        },
      };
    },
  };
}
