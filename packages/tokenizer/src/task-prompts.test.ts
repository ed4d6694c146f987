import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_TEMPLATES, TaskPrompts, templatesFromConfig } from './task-prompts.js';

describe('TaskPrompts', () => {
  const prompts = new TaskPrompts();

  it("renders the prompts PaliGemma's pt and mix checkpoints were trained on (REFERENCE §7)", () => {
    expect(prompts.render({ task: 'caption', lang: 'en' })).toBe('caption en');
    expect(prompts.render({ task: 'caption' })).toBe('caption en');
    expect(prompts.render({ task: 'describe', lang: 'de' })).toBe('describe de');
    expect(prompts.render({ task: 'ocr' })).toBe('ocr');
    expect(prompts.render({ task: 'answer', lang: 'fr', question: ' what is this? ' })).toBe(
      'answer fr what is this?',
    );
    expect(prompts.render({ task: 'question', lang: 'es', answer: 'a cat' })).toBe('question es a cat');
    expect(prompts.render({ task: 'detect', objects: ['cat', 'dog'] })).toBe('detect cat ; dog');
    expect(prompts.render({ task: 'detect', objects: 'car' })).toBe('detect car');
    expect(prompts.render({ task: 'segment', objects: 'cat' })).toBe('segment cat');
    expect(prompts.render({ task: 'caption', lang: 'zh-Hans' })).toBe('caption zh-Hans');
  });

  it('lets the model folder replace the defaults and the user replace both', () => {
    const model = templatesFromConfig({
      pali_task_templates: { caption: 'cap {{ lang }}', ocr: 'read text', nonsense: 'x', describe: 3 },
    });
    expect(model).toEqual({ caption: 'cap {{ lang }}', ocr: 'read text' });
    const withModel = new TaskPrompts({ model });
    expect(withModel.render({ task: 'caption', lang: 'en' })).toBe('cap en');
    expect(withModel.render({ task: 'ocr' })).toBe('read text');
    expect(withModel.render({ task: 'describe' })).toBe('describe en');
    const withUser = new TaskPrompts({ model, user: { caption: '{{ lang | upper }}: caption' } });
    expect(withUser.render({ task: 'caption', lang: 'en' })).toBe('EN: caption');
    expect(withUser.render({ task: 'ocr' })).toBe('read text');
    expect(templatesFromConfig({})).toEqual({});
    expect(templatesFromConfig(null)).toEqual({});
  });

  it('refuses arguments that would change the prompt format, with a typed error', () => {
    const bad = [
      () => prompts.render({ task: 'caption', lang: 'en us' }),
      () => prompts.render({ task: 'caption', lang: '' }),
      () => prompts.render({ task: 'answer', question: '  ' }),
      () => prompts.render({ task: 'question', answer: '' }),
      () => prompts.render({ task: 'detect', objects: [] }),
      () => prompts.render({ task: 'detect', objects: ['cat ; dog'] }),
      () => prompts.render({ task: 'segment', objects: 'cat\n' + 'dog' }),
      () => prompts.render({ task: 'bake' } as never),
    ];
    for (const call of bad) expect(call).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('reports a template that does not parse when it is given', () => {
    expect(() => new TaskPrompts({ user: { caption: '{{ lang ' } })).toThrowError(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/caption prompt template/),
      }),
    );
  });

  it('exports one default per task', () => {
    expect(Object.keys(DEFAULT_TASK_TEMPLATES).sort()).toEqual(
      ['answer', 'caption', 'describe', 'detect', 'ocr', 'question', 'segment'].sort(),
    );
  });
});
