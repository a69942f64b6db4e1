import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

export { PrismaClient };

export interface PrismaClientOptions {
  /** Connections in the pool (pg's default is 10). */
  maxConnections?: number;
}

/** A Prisma client over node-postgres (`@prisma/adapter-pg`); call `$disconnect()` when done. */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.maxConnections });
  return new PrismaClient({ adapter });
}
