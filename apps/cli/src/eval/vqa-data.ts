import { existsSync, readFileSync } from 'node:fs';
import { ERROR_CODES, PaliError } from '@pali/errors';

/** One line of a VQA data file: an image (relative to the file), a question and the human answers. */
export interface VqaItem {
  id?: string | number;
  image: string;
  question: string;
  answers: string[];
}

/** One line of a predictions file: the answer, matched to the data by id or else by line order. */
export interface VqaPrediction {
  id?: string | number;
  answer: string;
}

function readJsonl(file: string, what: string): unknown[] {
  if (!existsSync(file)) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `No such ${what} file: ${file}`, {
      hint: 'Check the path',
    });
  }
  const rows: unknown[] = [];
  for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${file} line ${i + 1} is not JSON`, {
        hint: 'Each line must be one JSON object',
      });
    }
  }
  return rows;
}

export function readVqaData(file: string): VqaItem[] {
  return readJsonl(file, 'data').map((row, i) => {
    const r = row as Partial<VqaItem>;
    if (
      typeof r !== 'object' ||
      r === null ||
      typeof r.image !== 'string' ||
      typeof r.question !== 'string' ||
      !Array.isArray(r.answers) ||
      !r.answers.every((a) => typeof a === 'string')
    ) {
      throw new PaliError(
        ERROR_CODES.CORRUPT_FILE,
        `${file} item ${i + 1} is not {image, question, answers}`,
        {
          hint: 'Each line needs "image" (path), "question" (text) and "answers" (a list of strings)',
        },
      );
    }
    return r as VqaItem;
  });
}

/** Reads predictions and lines them up with the data (by id when both have ids, else in order). */
export function readVqaPredictions(file: string, data: readonly VqaItem[]): string[] {
  const rows = readJsonl(file, 'predictions').map((row, i) => {
    const r = row as Partial<VqaPrediction> & { prediction?: unknown };
    const answer = typeof r.answer === 'string' ? r.answer : r.prediction;
    if (typeof answer !== 'string') {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${file} line ${i + 1} has no "answer"`, {
        hint: 'Each line needs "answer" (text), and "id" when the data has ids',
      });
    }
    return { id: r.id, answer };
  });
  if (data.every((d) => d.id !== undefined) && rows.every((r) => r.id !== undefined)) {
    const byId = new Map(rows.map((r) => [String(r.id), r.answer]));
    return data.map((d) => {
      const a = byId.get(String(d.id));
      if (a === undefined) {
        throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${file} has no answer for id ${d.id}`, {
          hint: 'Give one prediction per data item',
        });
      }
      return a;
    });
  }
  if (rows.length !== data.length) {
    throw new PaliError(
      ERROR_CODES.SHAPE_MISMATCH,
      `${file} has ${rows.length} answers for ${data.length} questions`,
      { hint: 'Give one prediction per line of the data file, in the same order (or ids on both)' },
    );
  }
  return rows.map((r) => r.answer);
}
