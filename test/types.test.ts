import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './fixtures/run-molt.js';

/**
 * The type tests (`expectTypeOf`, `// @ts-expect-error` chains that must not compile) only mean
 * something when the compiler checks them: `npm test` runs it over the whole project.
 */
it('the project type-checks, type tests included (tsc --noEmit)', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json'), '--noEmit'], { encoding: 'utf8', cwd: ROOT });
  expect(result.stdout + result.stderr).toBe('');
  expect(result.status).toBe(0);
}, 180_000);
