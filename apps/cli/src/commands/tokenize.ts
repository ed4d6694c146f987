import { resolve } from 'node:path';
import { loadTokenizerFromDir } from '@pali/tokenizer/node';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';

interface TokenizeFlags {
  model: string;
  json?: boolean;
  specialTokens: boolean;
}

/** `pali tokenize --model DIR TEXT`: the ids and token strings of a text, as HF tokenizers gives them. */
export function registerTokenize(program: Command, io: CliIO): void {
  program
    .command('tokenize')
    .description("print the token ids and pieces of TEXT with a model folder's tokenizer")
    .argument('<text>', 'the text to tokenize')
    .requiredOption('--model <dir>', 'model folder with tokenizer.json (and tokenizer_config.json)')
    .option('--no-special-tokens', 'do not add the special tokens (the leading <bos>)')
    .option('--json', 'print {"ids": [...], "tokens": [...]}')
    .action(async (text: string, flags: TokenizeFlags) => {
      const tokenizer = await loadTokenizerFromDir(resolve(io.cwd, flags.model));
      const { ids, tokens } = tokenizer.tokenize(text, { addSpecialTokens: flags.specialTokens });
      if (flags.json) {
        io.stdout(`${JSON.stringify({ ids, tokens })}\n`);
        return;
      }
      const width = Math.max(1, ...ids.map((id) => String(id).length));
      const lines = ids.map((id, i) => `${String(id).padStart(width)}  ${JSON.stringify(tokens[i])}`);
      io.stdout(`${ids.length} tokens\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`);
    });
}
