import type { CliIO } from './io.js';

/** A one-line progress display on stderr when it is a terminal; silent otherwise (pipes, --json). */
export class ProgressLine {
  private last = 0;
  private shown = false;

  constructor(private readonly io: CliIO) {}

  update(label: string, done: number, total: number | undefined): void {
    if (!this.io.isTTY) return;
    const now = Date.now();
    if (now - this.last < 100 && (total === undefined || done < total)) return;
    this.last = now;
    const pct = total ? Math.min(100, Math.floor((done / total) * 100)) : undefined;
    const bar =
      pct === undefined
        ? ''
        : `[${'#'.repeat(Math.floor(pct / 5)).padEnd(20, '.')}] ${String(pct).padStart(3)}% `;
    this.io.stderr(`\r\x1b[2K${bar}${label} ${formatBytes(done)}${total ? ` / ${formatBytes(total)}` : ''}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.io.stderr('\r\x1b[2K');
    this.shown = false;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
