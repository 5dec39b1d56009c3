/** What the progress bar shows. */
export interface ProgressFrame {
  readonly label: string;
  /** Documents handled so far (scanned). */
  readonly done: number;
  /** Documents in all (done + remaining); unknown when 0. */
  readonly total: number;
  readonly ratePerSecond: number;
  readonly etaMs: number | undefined;
  readonly failed: number;
}

const numbers = new Intl.NumberFormat('en-US');

/** A duration for humans: `45s`, `3m 20s`, `2h 05m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

export function formatCount(value: number): string {
  return numbers.format(Math.round(value));
}

/**
 * One line of progress, at most `width` characters:
 * `users [██████████░░░░░░░░░░]  50%  5,000/10,000  1,950/s  ETA 3s  failed 2`.
 */
export function renderProgress(frame: ProgressFrame, width = 80): string {
  const ratio = frame.total > 0 ? Math.min(1, frame.done / frame.total) : 0;
  const percent = `${String(Math.floor(ratio * 100)).padStart(3)}%`;
  const counts = `${formatCount(frame.done)}/${frame.total > 0 ? formatCount(frame.total) : '?'}`;
  const rate = `${formatCount(frame.ratePerSecond)}/s`;
  const eta = `ETA ${frame.etaMs === undefined ? '?' : formatDuration(frame.etaMs)}`;
  const failed = frame.failed > 0 ? `  failed ${formatCount(frame.failed)}` : '';
  const tail = `  ${percent}  ${counts}  ${rate}  ${eta}${failed}`;
  const barWidth = Math.max(10, Math.min(30, width - frame.label.length - tail.length - 3));
  const filled = Math.round(ratio * barWidth);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}]`;
  const line = `${frame.label} ${bar}${tail}`;
  return line.length > width ? line.slice(0, Math.max(0, width - 1)) + '…' : line;
}

/** Redraws the progress line in place on a terminal, at most every `intervalMs`. */
export class ProgressDisplay {
  readonly #write: (text: string) => void;
  readonly #width: number;
  readonly #intervalMs: number;
  #last = 0;
  #shown = false;

  constructor(write: (text: string) => void, width = 80, intervalMs = 100) {
    this.#write = write;
    this.#width = width;
    this.#intervalMs = intervalMs;
  }

  update(frame: ProgressFrame, force = false): void {
    const now = Date.now();
    if (!force && now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#shown = true;
    this.#write(`\r${renderProgress(frame, this.#width)}\x1b[K`);
  }

  /** Leaves the last frame on its line. */
  done(): void {
    if (this.#shown) this.#write('\n');
    this.#shown = false;
  }
}
