import path from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;
const lib = (name: string) => path.resolve(root, `libs/${name}/src/index.ts`);

export default defineConfig({
  // swc keeps decorator metadata, which Nest's dependency injection needs; esbuild drops it.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: {
      '@chorus/contracts': lib('contracts'),
      '@chorus/inference': lib('inference'),
      '@chorus/storage': lib('storage'),
      '@chorus/db': lib('db'),
      '@chorus/queue': lib('queue'),
      '@chorus/client': lib('client'),
      '@chorus/webhooks': lib('webhooks'),
      '@chorus/testing': lib('testing'),
      '@chorus/health': lib('health'),
    },
  },
  test: {
    // Two groups, one after the other: everything else, then the 2,000-generation load test alone, so that
    // neither slows the other down on 2 cores.
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'test/**/*.test.ts', 'models/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'dist/**', 'test/faults/load.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'load', include: ['test/faults/load.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
