import { DEFAULT_DATABASE_URL } from '@chorus/contracts';
import { migrate, redact } from './migrate';

// `npm run db:migrate`: creates the database named in DATABASE_URL if missing, applies pending migrations.
async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const result = await migrate(databaseUrl, { log: (message) => console.log(`db:migrate: ${message}`) });
  console.log(`db:migrate: ${redact(databaseUrl)} is up to date (${result.applied.length} applied now)`);
}

main().catch((error: unknown) => {
  console.error(`db:migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
