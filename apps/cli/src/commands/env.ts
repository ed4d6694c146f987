import { availableParallelism, cpus, freemem, totalmem } from 'node:os';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { cliVersion } from '../version.js';

export interface EnvReport {
  pali: string;
  node: string;
  platform: string;
  arch: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
}

export function envReport(): EnvReport {
  const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;
  return {
    pali: cliVersion(),
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: gib(totalmem()),
    freeMemoryGiB: gib(freemem()),
  };
}

/** `pali env`: what a bug report needs to know about this machine. */
export function registerEnv(program: Command, io: CliIO): void {
  program
    .command('env')
    .description('print versions and the machine this runs on (for bug reports)')
    .option('--json', 'print one JSON object')
    .action((options: { json?: boolean }) => {
      const report = envReport();
      if (options.json) {
        io.stdout(`${JSON.stringify(report)}\n`);
        return;
      }
      const width = Math.max(...Object.keys(report).map((k) => k.length));
      for (const [key, value] of Object.entries(report)) io.stdout(`${key.padEnd(width)}  ${value}\n`);
    });
}
