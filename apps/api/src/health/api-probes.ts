import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { PRISMA, type PrismaClient } from '@chorus/db';
import { DependencyProbes } from '@chorus/health';
import { queueConnectionFromConfig } from '@chorus/queue';
import { ObjectStore } from '@chorus/storage';
import { API_CONFIG, type ApiConfig } from '../config/api-config';

/** The API's readiness checks: Postgres, Redis and S3 (the shared probes), on a connection named for the API. */
@Injectable()
export class ApiProbes extends DependencyProbes {
  constructor(indicators: HealthIndicatorService, @Inject(PRISMA) prisma: PrismaClient, objects: ObjectStore, @Inject(API_CONFIG) config: ApiConfig) {
    super(indicators, prisma, objects, queueConnectionFromConfig(config), 'chorus-api-health');
  }
}
