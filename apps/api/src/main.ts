import { ConfigError } from '@chorus/contracts';
import { createApiApp } from './app';
import { loadApiConfig } from './config/api-config';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const app = await createApiApp(config);
  await app.listen(config.PORT, config.HOST);
}

main().catch((error: unknown) => {
  // Before the logger exists (bad configuration) there is only stderr to tell.
  process.stderr.write(`chorus api: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
