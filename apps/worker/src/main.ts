import 'reflect-metadata';
import { ConfigError } from '@chorus/contracts';
import { createWorkerApp } from './app';
import { loadWorkerConfig } from './worker-config';

// `npm run start:worker`: one worker process, its model warm, taking generation jobs until SIGTERM.
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const app = await createWorkerApp(config);
  // Nest runs the shutdown hooks (drain, hand back, close) on these signals, then we exit.
  // useProcessExit: exit 0 once shut down cleanly (Nest would otherwise re-raise the signal: exit 143).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`chorus worker: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
