import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

it('ships the sources every source map and declaration map points at', () => {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const [pack] = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as [{ files: { path: string }[] }];
  const shipped = new Set(pack.files.map((file) => file.path));
  const maps = [...shipped].filter((path) => path.endsWith('.map'));
  expect(maps.length).toBeGreaterThan(10);
  const missing: string[] = [];
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(readFileSync(join(root, map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    sources.forEach((source, index) => {
      if (typeof sourcesContent?.[index] === 'string') return;
      const target = posix.normalize(posix.join(posix.dirname(map), source));
      if (!shipped.has(target)) missing.push(`${map} -> ${target}`);
    });
  }
  expect(missing).toEqual([]);
}, 120_000);
