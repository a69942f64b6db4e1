import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = path.resolve(import.meta.dirname, '../..');

// The dashboard talks to the farm through the public API only, via the same typed client
// the CLI and tests use; the aliases point at the libraries' sources so Vite bundles them.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  resolve: {
    alias: {
      '@chorus/client': path.join(root, 'libs/client/src/index.ts'),
      '@chorus/contracts': path.join(root, 'libs/contracts/src/index.ts'),
    },
  },
  build: {
    outDir: path.join(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    // Maps are written for debugging a production stack trace, but not linked from the bundle,
    // and the API does not serve them (apps/api/src/dashboard).
    sourcemap: 'hidden',
  },
  server: {
    // `npx vite --config apps/dashboard/vite.config.mts` against a farm on :3000 (npm run farm).
    proxy: {
      '/v1': process.env.CHORUS_API_URL ?? 'http://127.0.0.1:3000',
    },
  },
});
