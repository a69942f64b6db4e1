import { Module } from '@nestjs/common';
import { StatsController } from './stats.controller';
import { StatsService } from './stats.service';

/** `GET /v1/stats` for the dashboard's Farm view. */
@Module({
  controllers: [StatsController],
  providers: [StatsService],
})
export class StatsModule {}
