import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: {
    alias: {
      'mongo-molt/cli': fileURLToPath(new URL('./src/cli/index.ts', import.meta.url)),
      'mongo-molt': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'schemas/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 30_000,
    // Type tests (`*.test-d.ts`, with `@ts-expect-error` for code that must not compile) run in `npm test` too.
    typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    hookTimeout: 120_000,
  },
});
