import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Each file in its own process: tfjs backends are process-global state.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // expect.poll waits for what a loaded machine may take seconds to show (1 s by default).
    expect: { poll: { timeout: 30_000 } },
    // .ci/run asks for a JSON report too: vitest writes it only when the run ends, so a run
    // that stops early (a signal, a crash of the runner) cannot pass as a green one.
    reporters: process.env.TICKETLAB_TEST_REPORT
      ? ['default', ['json', { outputFile: process.env.TICKETLAB_TEST_REPORT }]]
      : ['default'],
  },
});
