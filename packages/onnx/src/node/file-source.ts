import { type FileHandle, open } from 'node:fs/promises';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { type ByteSource, checkRange } from '../byte-source.js';

/** A ByteSource over a file, read with positioned reads (nothing is read until asked). */
export class FileByteSource implements ByteSource {
  private constructor(
    private fh: FileHandle | undefined,
    readonly size: number,
    readonly name: string,
  ) {}

  static async open(path: string): Promise<FileByteSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new PaliError(
        code === 'ENOENT' ? ERROR_CODES.NOT_FOUND : ERROR_CODES.RUNTIME_ERROR,
        `Cannot open ${path} (${code ?? (e as Error).message})`,
        { hint: code === 'ENOENT' ? 'Check the path' : 'Check the file permissions', cause: e },
      );
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${path} is not a regular file`, {
        hint: 'Pass a file path',
      });
    }
    return new FileByteSource(fh, st.size, path);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    if (!this.fh) throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${this.name} is closed`);
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.fh.read(out, got, length - got, offset + got);
      if (bytesRead === 0)
        throw new PaliError(
          ERROR_CODES.CORRUPT_FILE,
          `${this.name} ended early: it shrank while being read`,
          {
            hint: 'Do not modify the file while it is read',
          },
        );
      got += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}
