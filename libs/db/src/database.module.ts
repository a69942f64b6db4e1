import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { BatchRepository } from './batch.repository';
import { FarmStatsRepository } from './farm-stats.repository';
import { GenerationRepository } from './generation.repository';
import { IdempotencyKeyRepository } from './idempotency-key.repository';
import { createPrismaClient, type PrismaClient } from './prisma-client';
import { TenantRepository } from './tenant.repository';
import { PRISMA } from './tokens';
import { WebhookDeliveryRepository } from './webhook-delivery.repository';
import { WorkerRepository } from './worker.repository';

/** Every repository, registered once here: an app's modules inject them, none provides one. */
const REPOSITORIES = [
  TenantRepository,
  GenerationRepository,
  WorkerRepository,
  BatchRepository,
  WebhookDeliveryRepository,
  IdempotencyKeyRepository,
  FarmStatsRepository,
];

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
        ...REPOSITORIES,
      ],
      exports: [PRISMA, ...REPOSITORIES],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
