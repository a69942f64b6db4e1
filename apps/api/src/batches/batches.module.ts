import { Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import express from 'express';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { CSV_TYPES, JSONL_TYPES } from './batch-upload';
import { BatchesController } from './batches.controller';
import { BatchesService } from './batches.service';
import { verifyUtf8 } from '../validation/utf8';

@Module({
  controllers: [BatchesController],
  providers: [BatchesService],
})
export class BatchesModule implements NestModule {
  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /** CSV and JSONL bodies arrive as text (JSON bodies are parsed for the whole app, see app.ts). */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(express.text({ type: [...CSV_TYPES, ...JSONL_TYPES], limit: this.config.BATCH_BODY_LIMIT, verify: verifyUtf8 }))
      .forRoutes({ path: 'v1/batches', method: RequestMethod.POST });
  }
}
