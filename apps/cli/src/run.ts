import { isPaliError } from '@pali/errors';
import { type Command, CommanderError } from 'commander';
import { EXIT } from './exit-codes.js';
import type { CliIO } from './io.js';
import { buildProgram } from './program.js';

/**
 * Runs `pali` with the given arguments (without node and the script path) and returns the exit
 * status. Errors end as one clear line on stderr: `pali: error CODE: message`.
 */
export async function runCli(
  args: readonly string[],
  io: CliIO,
  program: Command = buildProgram(io),
): Promise<number> {
  if (args.length === 0) {
    program.outputHelp();
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0; usage errors were printed already.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (isPaliError(error)) {
      io.stderr(`pali: error ${error.code}: ${error.message}\n`);
      return error.code === 'ABORTED'
        ? EXIT.INTERRUPTED
        : error.code === 'INVALID_ARGUMENT'
          ? EXIT.USAGE
          : EXIT.FAILURE;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr(`pali: internal error (please report it with the output of \`pali env\`):\n${message}\n`);
    return EXIT.INTERNAL;
  }
}
