import type { HubProgressEvent } from './config.js';

/**
 * Keeps per-file byte counts and emits each change with the aggregate over all files of one call.
 * Totals are known up front (metadata is fetched before any body), so the overall total is exact
 * whenever every file's size is.
 */
export class ProgressTracker {
  readonly #loaded = new Map<string, number>();
  readonly #total = new Map<string, number | undefined>();
  readonly #done = new Set<string>();
  readonly #listener: ((event: HubProgressEvent) => void) | undefined;

  constructor(listener: ((event: HubProgressEvent) => void) | undefined) {
    this.#listener = listener;
  }

  /** Registers a file before any byte moves, so the overall total covers it from the first event. */
  add(file: string, total: number | undefined): void {
    this.#total.set(file, total);
    if (!this.#loaded.has(file)) this.#loaded.set(file, 0);
  }

  update(file: string, loaded: number, total?: number): void {
    if (total !== undefined) this.#total.set(file, total);
    this.#loaded.set(file, loaded);
    this.#emit(file);
  }

  /** Marks a file complete; a cached file is reported once with loaded = total. */
  done(file: string, size: number): void {
    this.#total.set(file, size);
    this.#loaded.set(file, size);
    this.#done.add(file);
    this.#emit(file);
  }

  #emit(file: string): void {
    if (!this.#listener) return;
    let loaded = 0;
    let total: number | undefined = 0;
    for (const [f, t] of this.#total) {
      loaded += this.#loaded.get(f) ?? 0;
      total = t === undefined || total === undefined ? undefined : total + t;
    }
    this.#listener({
      file,
      loaded: this.#loaded.get(file) ?? 0,
      total: this.#total.get(file),
      overall: { loaded, total, files: this.#total.size, filesDone: this.#done.size },
    });
  }
}
