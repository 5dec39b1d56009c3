import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { expect, it } from 'vitest';
import { cannotPack, packedFiles, stagePackage } from './support/packed-package.js';

const skip = cannotPack();
if (skip !== undefined) console.warn(`skipped: the package's files are not checked: ${skip}`);

it.skipIf(skip !== undefined)('ships the sources every source map and declaration map points at', () => {
  // Built from a copy of the package's files, as a fresh clone builds it: a stale `dist/` in the checkout does not count.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'molt-files-')));
  try {
    const stage = stagePackage(dir);
    const shipped = new Set(packedFiles(stage));
    const maps = [...shipped].filter((path) => path.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(stage, map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      sources.forEach((source, index) => {
        if (typeof sourcesContent?.[index] === 'string') return;
        const target = posix.normalize(posix.join(posix.dirname(map), source));
        if (!shipped.has(target)) missing.push(`${map} -> ${target}`);
      });
    }
    expect(missing).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
