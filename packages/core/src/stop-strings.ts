import type { StreamingDetokenizer } from '@pali/tokenizer';

/**
 * Streams a row's text while watching for stop strings: text that could be the start of a stop
 * string is held back until it is clear, and the text ends before the stop string (as OpenAI-style
 * APIs return it).
 */
export class StopStringFilter {
  private emitted = 0;
  private full = '';
  private cut = -1;

  constructor(
    private readonly stream: StreamingDetokenizer,
    private readonly stops: readonly string[],
  ) {}

  get stopped(): boolean {
    return this.cut >= 0;
  }

  /** The text so far (cut before a stop string). */
  get text(): string {
    return this.cut >= 0 ? this.full.slice(0, this.cut) : this.full;
  }

  /** Adds a token; returns the text that is now safe to show. */
  push(token: number, last: boolean): string {
    if (this.cut >= 0) return '';
    this.full += this.stream.push(token);
    if (last) this.full += this.stream.flush();
    return this.release(last);
  }

  /** Ends the row: returns what was held back. */
  finish(): string {
    if (this.cut < 0) this.full += this.stream.flush();
    return this.release(true);
  }

  private release(final: boolean): string {
    if (this.cut < 0) {
      for (const stop of this.stops) {
        if (!stop) continue;
        const at = this.full.indexOf(stop);
        if (at >= 0 && (this.cut < 0 || at < this.cut)) this.cut = at;
      }
    }
    const end = this.cut >= 0 ? this.cut : final ? this.full.length : this.full.length - this.heldBack();
    if (end <= this.emitted) return '';
    const out = this.full.slice(this.emitted, end);
    this.emitted = end;
    return out;
  }

  /** Length of the longest tail of the text that begins some stop string. */
  private heldBack(): number {
    let hold = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.full.length); n > hold; n--) {
        if (this.full.endsWith(stop.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    return hold;
  }
}
