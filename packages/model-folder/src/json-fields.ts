import { ERROR_CODES, PaliError } from '@pali/errors';

export type Json = Record<string, unknown>;

/** Reads typed fields of a parsed JSON file, with errors that name the file and the field. */
export class JsonFields {
  constructor(
    private readonly json: Json,
    private readonly where: string,
  ) {}

  static of(value: unknown, where: string): JsonFields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${where} is not a JSON object`);
    }
    return new JsonFields(value as Json, where);
  }

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  raw(key: string): unknown {
    return this.json[key];
  }

  object(key: string): JsonFields | undefined {
    const v = this.json[key];
    if (v === undefined || v === null) return undefined;
    return JsonFields.of(v, `${this.where}.${key}`);
  }

  number(key: string, fallback?: number): number {
    const v = this.json[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw this.missing(key, 'a number');
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.wrong(key, 'a number', v);
    return v;
  }

  int(key: string, fallback?: number): number {
    const v = this.number(key, fallback);
    if (!Number.isInteger(v)) throw this.wrong(key, 'an integer', v);
    return v;
  }

  optionalNumber(key: string): number | undefined {
    return this.has(key) ? this.number(key) : undefined;
  }

  string(key: string, fallback?: string): string {
    const v = this.json[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw this.missing(key, 'a string');
    }
    if (typeof v !== 'string') throw this.wrong(key, 'a string', v);
    return v;
  }

  /** An integer or a list of integers (as eos_token_id may be), as a list. */
  intList(key: string, fallback: number[] = []): number[] {
    const v = this.json[key];
    if (v === undefined || v === null) return fallback;
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => Number.isInteger(x))) throw this.wrong(key, 'an integer or a list of integers', v);
    return list as number[];
  }

  numberList(key: string, fallback: number[]): number[] {
    const v = this.json[key];
    if (v === undefined || v === null) return fallback;
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => typeof x === 'number')) throw this.wrong(key, 'a number or a list of numbers', v);
    return list as number[];
  }

  private missing(key: string, what: string): PaliError {
    return new PaliError(ERROR_CODES.CORRUPT_FILE, `${this.where} has no "${key}" (expected ${what})`, {
      hint: 'Check that the model folder comes from a PaliGemma checkpoint',
      details: { field: `${this.where}.${key}` },
    });
  }

  private wrong(key: string, what: string, value: unknown): PaliError {
    return new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      `${this.where}.${key} should be ${what}, found ${JSON.stringify(value)?.slice(0, 80)}`,
      { details: { field: `${this.where}.${key}` } },
    );
  }
}
