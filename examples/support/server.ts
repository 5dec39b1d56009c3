import { inject, it } from 'vitest';

/**
 * A test that sweeps thousands of documents or writes in bulks of 100 or more. FerretDB 1.x scans
 * the collection for every compare-and-swap and never answers an `update` command of 100
 * statements or more: such a test does not finish there in its time, so on it the test is
 * skipped, and the reason is printed. FerretDB 2 runs it.
 */
export function itWithLargeBulkWrites(name: string, fn: () => Promise<void>, timeout?: number): void {
  const { kind, largeBulkWrites, atomicUpdates } = inject('serverFeatures');
  const unsupported = !largeBulkWrites || !atomicUpdates;
  if (unsupported) {
    process.stderr.write(`[skipped] "${name}": on ${kind} every compare-and-swap scans the collection and update commands of 100+ statements never return, so this sweep does not finish in time\n`);
  }
  it.skipIf(unsupported)(name, fn, timeout);
}
