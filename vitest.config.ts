import { defineConfig } from 'vitest/config';

// Two projects: `unit` drives the sans-I/O core, the hub and the wire
// contract in memory (a few seconds); `integration` starts real servers,
// processes and a browser on 127.0.0.1. `npx vitest run --project unit`
// runs the fast half alone.
export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
    ],
  },
});
