import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:reliability`: the reliability suite (soak, kills, bad inputs, properties) against
 * the same server resolution as `npm test` (the same global setup). Its files end in
 * `.reliability.ts` so that the main suite never picks them up, and only they run here. Sizes:
 * see test/reliability/size.ts (`MOLT_RELIABILITY_OPS`, `MOLT_RELIABILITY_KILLS`…).
 */
export default defineConfig({
  resolve: base.resolve ?? {},
  test: {
    name: 'reliability',
    include: ['test/reliability/**/*.reliability.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    // One file at a time: the soak and the kills each load the 2-core machine on their own.
    fileParallelism: false,
  },
});
