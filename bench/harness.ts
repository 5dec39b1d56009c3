/** Small helpers shared by the benchmarks: timing, medians, ratio tables. Not timed tests. */
import { performance } from 'node:perf_hooks';

/** Runs `fn` once and returns the elapsed milliseconds. */
export async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Times a candidate against its baseline in alternating rounds (so drift and GC hit both alike)
 * after warm-up rounds, and returns both medians and their ratio.
 */
export async function compare(
  baseline: () => Promise<unknown>,
  candidate: () => Promise<unknown>,
  options: { rounds: number; warmup: number },
): Promise<{ baselineMs: number; candidateMs: number; ratio: number }> {
  for (let round = 0; round < options.warmup; round++) {
    await baseline();
    await candidate();
  }
  const base: number[] = [];
  const cand: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    if (round % 2 === 0) {
      base.push(await time(baseline));
      cand.push(await time(candidate));
    } else {
      cand.push(await time(candidate));
      base.push(await time(baseline));
    }
  }
  const baselineMs = median(base);
  const candidateMs = median(cand);
  return { baselineMs, candidateMs, ratio: candidateMs / baselineMs };
}

/** Prints rows as a Markdown table (so they can be pasted into BENCHMARKS.md as they are). */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  console.log(line(headers));
  console.log(line(headers.map(() => '---')));
  for (const row of rows) console.log(line(row));
}

export const fmt = (value: number, digits = 2): string => value.toFixed(digits);
