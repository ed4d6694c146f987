import { Command, CommanderError } from 'commander';
import { registerBatch } from './commands/batch.js';
import { registerBench } from './commands/bench.js';
import { registerConvert } from './commands/convert.js';
import { registerDetect } from './commands/detect.js';
import { registerEnv } from './commands/env.js';
import { registerEval } from './commands/eval.js';
import { registerGenerate } from './commands/generate.js';
import { registerPreprocess } from './commands/preprocess.js';
import { registerQuantReport } from './commands/quant-report.js';
import { registerSegment } from './commands/segment.js';
import { registerServe } from './commands/serve.js';
import { registerTasks } from './commands/tasks.js';
import { registerTokenize } from './commands/tokenize.js';
import { registerWorker } from './commands/worker.js';
import type { CliIO } from './io.js';
import { cliVersion } from './version.js';

/** Each subcommand registers itself here; later features add theirs to this list. */
const COMMANDS: ReadonlyArray<(program: Command, io: CliIO) => void> = [
  registerTasks,
  registerDetect,
  registerSegment,
  registerGenerate,
  registerConvert,
  registerQuantReport,
  registerPreprocess,
  registerTokenize,
  registerEval,
  registerBench,
  registerServe,
  registerBatch,
  registerWorker,
  registerEnv,
];

export function buildProgram(io: CliIO): Command {
  const program = new Command('pali')
    .description('PaliGemma 2 on ONNX Runtime: caption, answer, read text, detect and segment')
    .version(cliVersion(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(text),
    });
  for (const register of COMMANDS) register(program, io);
  return program;
}

export { CommanderError };
