/**
 * PaliGemma's task prompts (REFERENCE.md §7), rendered from Jinja templates so that a user, or a
 * model folder fine-tuned on other wording, can replace any of them.
 */
import { Template } from '@huggingface/jinja';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { asRecord } from './tokenizer-files.js';

export const TASK_NAMES = ['caption', 'describe', 'ocr', 'answer', 'question', 'detect', 'segment'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export type TaskRequest =
  | { task: 'caption' | 'describe' | 'ocr'; lang?: string }
  | { task: 'answer'; question: string; lang?: string }
  | { task: 'question'; answer: string; lang?: string }
  | { task: 'detect' | 'segment'; objects: string | readonly string[] };

export type TaskTemplates = Partial<Record<TaskName, string>>;

/** The prompts the pt and mix checkpoints were trained on. Variables: lang, question, answer, objects. */
export const DEFAULT_TASK_TEMPLATES: Readonly<Record<TaskName, string>> = {
  caption: 'caption {{ lang }}',
  describe: 'describe {{ lang }}',
  ocr: 'ocr',
  answer: 'answer {{ lang }} {{ question }}',
  question: 'question {{ lang }} {{ answer }}',
  detect: "detect {{ objects | join(' ; ') }}",
  segment: "segment {{ objects | join(' ; ') }}",
};

/** The key in a model folder's config.json under which it may ship its own templates. */
export const CONFIG_TEMPLATES_KEY = 'pali_task_templates';

const LANG = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$/;

function invalid(message: string, hint: string): PaliError {
  return new PaliError(ERROR_CODES.INVALID_ARGUMENT, message, { hint });
}

function isTaskName(name: string): name is TaskName {
  return (TASK_NAMES as readonly string[]).includes(name);
}

/** Templates a model folder ships: config.json `{"pali_task_templates": {"caption": "..."}}`. */
export function templatesFromConfig(config: unknown): TaskTemplates {
  const entry = asRecord(config)[CONFIG_TEMPLATES_KEY];
  const out: TaskTemplates = {};
  for (const [name, source] of Object.entries(asRecord(entry))) {
    if (isTaskName(name) && typeof source === 'string') out[name] = source;
  }
  return out;
}

export interface TaskPromptOptions {
  /** Templates from the model folder (see templatesFromConfig); they replace the defaults. */
  model?: TaskTemplates;
  /** The user's templates; they replace the model's and the defaults. */
  user?: TaskTemplates;
}

/** Renders task prompts; user templates win over the model folder's, which win over the defaults. */
export class TaskPrompts {
  readonly #templates = new Map<TaskName, Template>();

  constructor(options: TaskPromptOptions = {}) {
    for (const name of TASK_NAMES) {
      const source = options.user?.[name] ?? options.model?.[name] ?? DEFAULT_TASK_TEMPLATES[name];
      try {
        this.#templates.set(name, new Template(source));
      } catch (cause) {
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `The ${name} prompt template does not parse`, {
          cause,
          hint: `Fix the Jinja template "${source}" (${cause instanceof Error ? cause.message : String(cause)})`,
        });
      }
    }
  }

  /** The prompt text for a task, e.g. `{task: 'detect', objects: ['cat', 'dog']}` → "detect cat ; dog". */
  render(request: TaskRequest): string {
    const template = this.#templates.get(request.task);
    if (!template) {
      throw invalid(`Unknown task "${String(request.task)}"`, `Use one of ${TASK_NAMES.join(', ')}`);
    }
    const variables = taskVariables(request);
    try {
      return template.render(variables).trim();
    } catch (cause) {
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `The ${request.task} prompt template failed to render`,
        {
          cause,
          hint: `Check the template's variables (${Object.keys(variables).join(', ')})`,
        },
      );
    }
  }
}

function lang(value: string | undefined): string {
  const code = value ?? 'en';
  if (!LANG.test(code))
    throw invalid(`"${code}" is not a language code`, 'Use a code such as en, de, fr, es, zh');
  return code;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalid(`The ${what} is empty`, `Pass a non-empty ${what}`);
  }
  return value.trim();
}

/** One label of detect/segment: no ';' (it separates objects) and no newline (it ends the prompt). */
function label(value: unknown): string {
  const trimmed = text(value, 'object name');
  if (/[;\n\r]/.test(trimmed)) {
    throw invalid(
      `The object name "${trimmed}" contains ';' or a line break`,
      'Pass each object as its own name',
    );
  }
  return trimmed;
}

function taskVariables(request: TaskRequest): Record<string, unknown> {
  switch (request.task) {
    case 'caption':
    case 'describe':
    case 'ocr':
      return { lang: lang(request.lang) };
    case 'answer':
      return { lang: lang(request.lang), question: text(request.question, 'question') };
    case 'question':
      return { lang: lang(request.lang), answer: text(request.answer, 'answer') };
    case 'detect':
    case 'segment': {
      const objects = typeof request.objects === 'string' ? [request.objects] : [...request.objects];
      if (objects.length === 0) throw invalid(`Nothing to ${request.task}`, 'Pass at least one object name');
      return { objects: objects.map(label) };
    }
    default:
      throw invalid(
        `Unknown task "${String((request as { task: unknown }).task)}"`,
        `Use one of ${TASK_NAMES.join(', ')}`,
      );
  }
}
