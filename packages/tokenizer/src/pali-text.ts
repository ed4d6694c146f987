/**
 * Everything text-side a PaliGemma model folder needs, built from its parsed files: the tokenizer,
 * the prompt builder (image tokens and context from the configs), task prompts (defaults, then the
 * folder's config.json templates, then the user's) and streaming detokenizers.
 */
import { GemmaTokenizer } from './gemma-tokenizer.js';
import { modelTextInfo } from './model-info.js';
import {
  type BatchOptions,
  type EncodedBatch,
  type EncodedPrompt,
  PromptBuilder,
  type PromptInput,
  type PromptOptions,
} from './prompt.js';
import { StreamingDetokenizer, type StreamOptions } from './stream.js';
import { TaskPrompts, type TaskRequest, type TaskTemplates, templatesFromConfig } from './task-prompts.js';
import type { TokenizerFiles } from './tokenizer-files.js';

/** The parsed JSON files of a model folder that the text side reads. */
export interface ModelTextFiles extends TokenizerFiles {
  /** config.json */
  config: unknown;
  /** preprocessor_config.json (optional where config.json gives the image size and patch size) */
  preprocessorConfig?: unknown;
}

export interface PaliGemmaTextOptions {
  /** The user's task prompt templates; they win over the model folder's. */
  templates?: TaskTemplates;
}

export class PaliGemmaText {
  readonly tokenizer: GemmaTokenizer;
  readonly prompts: PromptBuilder;
  readonly tasks: TaskPrompts;

  constructor(tokenizer: GemmaTokenizer, prompts: PromptBuilder, tasks: TaskPrompts) {
    this.tokenizer = tokenizer;
    this.prompts = prompts;
    this.tasks = tasks;
  }

  static fromFiles(files: ModelTextFiles, options: PaliGemmaTextOptions = {}): PaliGemmaText {
    const tokenizer = GemmaTokenizer.fromFiles(files);
    const prompts = new PromptBuilder(tokenizer, modelTextInfo(files.config, files.preprocessorConfig));
    const taskOptions = options.templates
      ? { model: templatesFromConfig(files.config), user: options.templates }
      : { model: templatesFromConfig(files.config) };
    return new PaliGemmaText(tokenizer, prompts, new TaskPrompts(taskOptions));
  }

  /** The prompt text of a task, e.g. "caption en". */
  taskPrompt(request: TaskRequest): string {
    return this.tasks.render(request);
  }

  encodePrompt(input: string | PromptInput, options?: PromptOptions): EncodedPrompt {
    return this.prompts.encode(input, options);
  }

  encodeBatch(inputs: ReadonlyArray<string | PromptInput>, options?: BatchOptions): EncodedBatch {
    return this.prompts.encodeBatch(inputs, options);
  }

  /** A fresh streaming detokenizer for one generated sequence. */
  stream(options?: StreamOptions): StreamingDetokenizer {
    return new StreamingDetokenizer(this.tokenizer, options);
  }

  /** Ids that end a generation: config.json's eos ids (Gemma 2: eos and <end_of_turn>), else the tokenizer's eos. */
  stopTokenIds(): number[] {
    return this.prompts.info.eosTokenIds ?? [this.tokenizer.eos.id];
  }
}
