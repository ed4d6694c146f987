import { ERROR_CODES, PaliError } from '@pali/errors';
import { describe, expect, it } from 'vitest';
import { EXIT } from './exit-codes.js';
import { buildProgram } from './program.js';
import { runCli } from './run.js';
import { bufferIO } from './test-io.js';

describe('pali command frame', () => {
  it('--help lists the commands and exits 0', async () => {
    const io = bufferIO();
    expect(await runCli(['--help'], io)).toBe(EXIT.OK);
    expect(io.out()).toMatch(/Usage: pali/);
    expect(io.out()).toMatch(/\benv\b/);
  });

  it('--version prints the package version', async () => {
    const io = bufferIO();
    expect(await runCli(['--version'], io)).toBe(EXIT.OK);
    expect(io.out().trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command is a usage error with a suggestion', async () => {
    const io = bufferIO();
    expect(await runCli(['evn'], io)).toBe(EXIT.USAGE);
    expect(io.err()).toMatch(/unknown command 'evn'/);
    expect(io.err()).toMatch(/Did you mean env\?/);
  });

  it('no arguments prints help and exits with the usage status', async () => {
    const io = bufferIO();
    expect(await runCli([], io)).toBe(EXIT.USAGE);
    expect(io.out()).toMatch(/Usage: pali/);
  });

  it('env --json prints one JSON object', async () => {
    const io = bufferIO();
    expect(await runCli(['env', '--json'], io)).toBe(EXIT.OK);
    const report = JSON.parse(io.out()) as Record<string, unknown>;
    expect(report.node).toBe(process.versions.node);
    expect(typeof report.cores).toBe('number');
  });

  it('a PaliError ends as one line with its code and status 1', async () => {
    const io = bufferIO();
    const program = buildProgram(io);
    program.command('boom').action(() => {
      throw new PaliError(ERROR_CODES.NOT_FOUND, 'No model at /x', { hint: 'Pass --model' });
    });
    expect(await runCli(['boom'], io, program)).toBe(EXIT.FAILURE);
    expect(io.err()).toBe('pali: error NOT_FOUND: No model at /x. Pass --model\n');
  });

  it('any other error is reported as internal with status 3', async () => {
    const io = bufferIO();
    const program = buildProgram(io);
    program.command('bug').action(() => {
      throw new TypeError('x is undefined');
    });
    expect(await runCli(['bug'], io, program)).toBe(EXIT.INTERNAL);
    expect(io.err()).toMatch(/internal error.*\n.*TypeError: x is undefined/s);
  });
});
