import { defineConfig } from 'vitest/config';

// Three projects: `unit` drives the sans-I/O core, the hub and the wire
// contract in memory (a few seconds); `integration` starts real servers,
// processes and a browser on 127.0.0.1; `adversarial` replays attacks on
// the CLI's servers at their defaults and bounds their memory. `npx vitest run --project unit`
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
      // Each attack runs a server in its own process and measures its memory.
      { extends: true, test: { name: 'adversarial', include: ['test/adversarial/**/*.test.ts'], testTimeout: 120_000 } },
    ],
  },
});
