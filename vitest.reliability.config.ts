import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:reliability`: the reliability suite (soak, kills, bad inputs, properties, faults)
 * against the same server resolution as `npm test`. Its files end in `.reliability.ts` so that the
 * main suite never picks them up. Sizes: see test/reliability/size.ts (`MOLT_RELIABILITY_OPS`…).
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      name: 'reliability',
      include: ['test/reliability/**/*.reliability.ts'],
      testTimeout: 600_000,
      hookTimeout: 120_000,
      // One file at a time: the soak and the kills each load the 2-core machine on their own.
      fileParallelism: false,
    },
  }),
);
