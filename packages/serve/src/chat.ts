import type { FinishReason, GenerationOptions } from '@pali/core';
import { badRequest } from './http-errors.js';

/** What a chat completion request asks for, once checked. */
export interface ChatRequest {
  prompt: string;
  imageUrl: unknown;
  stream: boolean;
  includeUsage: boolean;
  options: GenerationOptions;
}

interface Limits {
  maxTokensLimit: number;
  defaultMaxTokens: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads an OpenAI chat completion request. PaliGemma is not a chat model: the last user message's text
 * is the raw prompt ("caption en", "answer en what is this?") and its image_url part is the image;
 * earlier messages and system prompts are ignored.
 */
export function parseChatRequest(body: unknown, limits: Limits): ChatRequest {
  if (!isObject(body)) throw badRequest('The body must be a JSON object');
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw badRequest('messages must be a non-empty array', 'messages');
  }
  const lastUser = [...messages].reverse().find((m) => isObject(m) && m.role === 'user') as Json | undefined;
  if (!lastUser) throw badRequest('messages needs a message with role "user"', 'messages');
  let prompt = '';
  let imageUrl: unknown;
  if (typeof lastUser.content === 'string') prompt = lastUser.content;
  else if (Array.isArray(lastUser.content)) {
    const texts: string[] = [];
    for (const [i, part] of lastUser.content.entries()) {
      if (!isObject(part)) throw badRequest('Each content part must be an object', `messages.content.${i}`);
      if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
      else if (part.type === 'image_url') {
        if (imageUrl !== undefined) {
          throw badRequest(
            'PaliGemma takes one image per request',
            `messages.content.${i}`,
            'too_many_images',
          );
        }
        const iu = part.image_url;
        imageUrl = isObject(iu) ? iu.url : iu;
      } else {
        throw badRequest(
          `Content parts of type ${JSON.stringify(part.type)} are not supported (text and image_url are)`,
          `messages.content.${i}.type`,
        );
      }
    }
    prompt = texts.join(' ');
  } else throw badRequest('The user message needs content', 'messages.content');
  if (imageUrl === undefined) {
    throw badRequest('The last user message needs an image_url part', 'messages', 'missing_image');
  }
  if (body.n !== undefined && body.n !== 1) throw badRequest('Only n = 1 is supported', 'n');

  const options: GenerationOptions = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) {
    if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) {
      throw badRequest('max_tokens must be a positive integer', 'max_tokens');
    }
    if ((maxTokens as number) > limits.maxTokensLimit) {
      throw badRequest(
        `max_tokens is ${maxTokens}, over this server's limit of ${limits.maxTokensLimit}`,
        'max_tokens',
        'max_tokens_too_large',
      );
    }
    options.maxNewTokens = maxTokens as number;
  } else options.maxNewTokens = limits.defaultMaxTokens;
  const temperature = optionalNumber(body.temperature, 'temperature', 0, 2);
  // OpenAI's temperature 0 means greedy decoding.
  if (temperature !== undefined && temperature > 0) options.temperature = temperature;
  const topP = optionalNumber(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined && topP < 1) options.topP = topP;
  if (body.seed !== undefined && body.seed !== null) {
    if (!Number.isSafeInteger(body.seed)) throw badRequest('seed must be an integer', 'seed');
    options.seed = body.seed as number;
  }
  if (body.stop !== undefined && body.stop !== null) {
    const stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
    if (
      !Array.isArray(stop) ||
      stop.length > 4 ||
      !stop.every((s) => typeof s === 'string' && s.length > 0)
    ) {
      throw badRequest('stop must be a string or up to 4 non-empty strings', 'stop');
    }
    options.stop = stop as string[];
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    throw badRequest('stream must be a boolean', 'stream');
  }
  const streamOptions = body.stream_options;
  return {
    prompt,
    imageUrl,
    stream: body.stream === true,
    includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
    options,
  };
}

function optionalNumber(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw badRequest(`${name} must be a number from ${min} to ${max}`, name);
  }
  return value;
}

/** OpenAI's finish reasons: an end-of-sequence token and a stop string both read 'stop'. */
export function openAiFinish(reason: FinishReason | undefined): 'stop' | 'length' {
  return reason === 'length' ? 'length' : 'stop';
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

export function completion(
  id: string,
  created: number,
  model: string,
  text: string,
  finish: 'stop' | 'length',
  u: Usage,
) {
  return {
    id,
    object: 'chat.completion' as const,
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: text, refusal: null },
        logprobs: null,
        finish_reason: finish,
      },
    ],
    usage: u,
  };
}

export function chunk(
  id: string,
  created: number,
  model: string,
  delta: { role?: 'assistant'; content?: string },
  finish: 'stop' | 'length' | null,
) {
  return {
    id,
    object: 'chat.completion.chunk' as const,
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

/** The last chunk when stream_options.include_usage is set: no choices, the usage. */
export function usageChunk(id: string, created: number, model: string, u: Usage) {
  return { id, object: 'chat.completion.chunk' as const, created, model, choices: [], usage: u };
}
