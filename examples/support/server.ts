import { inject, it } from 'vitest';

/**
 * A test that sweeps or writes in bulks of 100 documents or more. The project's FerretDB build
 * (1.24, SQLite) never answers an `update` command of 100 statements or more, so on it such a
 * test is skipped, and the reason is printed.
 */
export function itWithLargeBulkWrites(name: string, fn: () => Promise<void>, timeout?: number): void {
  const { kind } = inject('serverFeatures');
  const unsupported = kind === 'ferretdb';
  if (unsupported) {
    process.stderr.write(`[skipped] "${name}": ${kind} does not answer an update command of 100 or more statements (the sweeper's batches)\n`);
  }
  it.skipIf(unsupported)(name, fn, timeout);
}
