import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { GenerationRepository } from './generation.repository';
import { createPrismaClient, type PrismaClient } from './prisma-client';
import { TenantRepository } from './tenant.repository';
import { PRISMA } from './tokens';
import { WorkerRepository } from './worker.repository';

export interface DatabaseModuleOptions {
  databaseUrl: string;
  maxConnections?: number;
}

/** Provides the Prisma client (token PRISMA) and the repositories; disconnects on shutdown. */
@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: PRISMA, useFactory: () => createPrismaClient(options.databaseUrl, { maxConnections: options.maxConnections }) },
        TenantRepository,
        GenerationRepository,
        WorkerRepository,
      ],
      exports: [PRISMA, TenantRepository, GenerationRepository, WorkerRepository],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
