export { EXIT } from './exit-codes.js';
export type { CliIO } from './io.js';
export { processIO } from './io.js';
export { buildProgram } from './program.js';
export { runCli } from './run.js';
