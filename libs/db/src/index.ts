export { createPrismaClient, PrismaClient, type PrismaClientOptions } from './prisma-client';
export { Prisma } from './generated/client';
export { PRISMA } from './tokens';
export { DatabaseModule, type DatabaseModuleOptions } from './database.module';
export * from './tenant.repository';
export * from './generation.repository';
export * from './worker.repository';
export { migrate, ensureDatabase, readMigrations, MigrationError, MIGRATIONS_DIR, type Migration, type MigrateResult } from './migrate';
