import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `import … from 'peerlab'` (algorithms, fixtures) means the SDK sources, never a dist/ left from an older build.
  resolve: { alias: { peerlab: fileURLToPath(new URL('./src/sdk/index.ts', import.meta.url)) } },
  test: {
    projects: [
      {
        extends: true,
        // Hooks get the tests' time: some run a whole simulated experiment once for the file's tests, and beside
        // the Docker files on CI's two cores one took over vitest's default 10 s (stop 37).
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        // A real etcd process, no Docker: one file at a time (they restart and pause etcd processes of their own).
        extends: true,
        test: {
          name: 'etcd',
          include: ['test/etcd/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // Real Docker and etcd: one file at a time, so runs do not compete for the engine. Vitest runs a project
        // whose files go one at a time after every other project's, never beside them (its pool puts them in a
        // group of their own, last): so `npm test` runs this project in a vitest process of its own, beside the
        // unit and etcd projects' (package.json), and CI's wall time is the Docker files' alone.
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
